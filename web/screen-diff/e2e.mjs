// The differential harness through a real server: each stream of the
// hand-written cases and the recordings (and N random ones) is written by a
// session's program (`cat` on a raw terminal: no output processing, so the
// server sees the bytes as they are), then compared in @xterm/headless:
// the raw stream (checked equal to what the server recorded, /output)
// against the snapshot a late joiner gets in the WebSocket `hello` (ptyhub.v1)
// and against `/screen?format=ansi`; and `/screen`'s lines, cursor and title
// against xterm's. Exits 1 on any difference.
//
//   PTYHUB_BIN=target/debug/ptyhub node --experimental-websocket web/screen-diff/e2e.mjs [--random N]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startServer, waitFor } from '../tests/helpers.mjs';
import { buildCorpus } from './corpus.mjs';
import { exceptions } from './exceptions.mjs';
import { diff, feed, lines, state, terminal } from './state.mjs';

const args = process.argv.slice(2);
const i = args.indexOf('--random');
const randoms = i >= 0 ? Number(args[i + 1]) : 20;
const corpus = buildCorpus(randoms);
const dir = mkdtempSync(join(tmpdir(), 'screen-diff-e2e-'));
const server = await startServer({ config: 'allow_arbitrary_commands = true\n' });

/** The snapshot of the WebSocket `hello`: its first `snapshot_bytes` bytes. */
async function helloSnapshot(id, cols, rows) {
  const url = `${server.base.replace('http', 'ws')}/api/sessions/${id}/ws?token=${server.token}&readonly=1&cols=${cols}&rows=${rows}`;
  const ws = new WebSocket(url, 'ptyhub.v1');
  ws.binaryType = 'arraybuffer';
  const chunks = [];
  let want = null;
  let got = 0;
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no snapshot from ${id} within 10 s`)), 10_000);
      ws.onerror = (e) => reject(new Error(`WebSocket error: ${e.message ?? e.type}`));
      ws.onmessage = (m) => {
        if (typeof m.data === 'string') {
          const ev = JSON.parse(m.data);
          if (ev.type === 'hello') want = ev.snapshot_bytes;
        } else {
          chunks.push(Buffer.from(m.data));
          got += m.data.byteLength;
        }
        if (want !== null && got >= want) {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).subarray(0, want));
        }
      };
    });
  } finally {
    ws.close();
  }
}

let failed = 0;
let excepted = 0;
let total = 0;
try {
  for (const c of corpus) {
    const file = join(dir, `${c.name}.bin`);
    writeFileSync(file, c.bytes);
    const session = await server.api('POST', '/api/sessions', {
      command: ['sh', '-c', `stty raw -echo -opost; cat '${file}'; exec sleep 600`],
      cols: c.cols,
      rows: c.rows,
    });
    const id = session.id;
    // Every byte written, and the screen caught up with it.
    let raw = null;
    await waitFor(
      async () => {
        const resp = await fetch(`${server.base}/api/sessions/${id}/output?since=0&format=raw`, {
          headers: { Authorization: `Bearer ${server.token}` },
        });
        raw = Buffer.from(await resp.arrayBuffer());
        return raw.length >= c.bytes.length;
      },
      { timeout: 15_000, message: `${c.name}: all output recorded` },
    );
    const notes = [];
    if (!raw.equals(c.bytes)) notes.push(`the recorded output differs from the stream (${raw.length} vs ${c.bytes.length} bytes)`);
    const expected = terminal(c.cols, c.rows);
    await feed(expected, c.bytes);
    const want = state(expected);
    // /screen waits for nothing: poll until it shows the stream's cursor.
    const cursorWanted = `${expected._core.buffer.y},${expected._core.buffer.x}`;
    let screen = null;
    await waitFor(
      async () => {
        screen = await server.api('GET', `/api/sessions/${id}/screen`);
        return `${screen.cursor.row},${screen.cursor.col}` === cursorWanted || null;
      },
      { timeout: 5_000, message: `${c.name}: /screen caught up` },
    ).catch(() => notes.push(`/screen cursor ${screen?.cursor?.row},${screen?.cursor?.col} vs xterm ${cursorWanted}`));
    const wantLines = lines(expected);
    (screen?.lines ?? []).forEach((l, r) => {
      if (l !== wantLines[r]) notes.push(`/screen line ${r}: ${JSON.stringify(l)} vs xterm ${JSON.stringify(wantLines[r])}`);
    });
    if ((screen?.title ?? '') !== expected._core._inputHandler._windowTitle) notes.push(`/screen title ${JSON.stringify(screen?.title)}`);
    const ansi = (await server.api('GET', `/api/sessions/${id}/screen?format=ansi`)).ansi;
    const hello = await helloSnapshot(id, c.cols, c.rows);
    for (const [what, bytes] of [['/screen?format=ansi', Buffer.from(ansi, 'utf8')], ['WebSocket hello snapshot', hello]]) {
      const t = terminal(c.cols, c.rows);
      await feed(t, bytes);
      const d = diff(want, state(t));
      if (d.cells + d.other > 0) notes.push(`${what}: ${d.cells} cells, ${d.other} other: ${d.notes.slice(0, 3).join('; ')}`);
      t.dispose();
    }
    expected.dispose();
    await server.api('DELETE', `/api/sessions/${id}`);
    total++;
    if (notes.length && exceptions.has(c.name)) {
      excepted++;
    } else if (notes.length) {
      failed++;
      console.log(`DIFF ${c.name} (${c.kind}, ${c.cols}x${c.rows}):`);
      for (const n of notes.slice(0, 6)) console.log(`    ${n}`);
    }
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `\nthrough a real server: ${total - failed - excepted} / ${total} scenarios identical (WebSocket snapshot, /screen?format=ansi, /screen), ${excepted} excepted (exceptions.mjs)`,
);
if (failed) process.exitCode = 1;
