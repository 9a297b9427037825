// The differential harness: every stream of the corpus is fed to one
// @xterm/headless terminal raw, and the server screen's snapshot of it
// (crates/ptyhub-core/examples/screen-snapshot.rs) to another; the two
// must end in the same state (state.mjs), and the server's `/screen` lines
// and cursor must be xterm's. Exits 1 on any difference.
//
//   node web/screen-diff/run.mjs [--bin PATH] [--random N] [--only SUBSTR] [--verbose]
//
// Scenarios listed in `exceptions` may differ (each says why); any other
// difference fails. An excepted scenario that became identical is reported.
//
// The corpus: the hand-written cases (cases.mjs), the recordings of real
// programs (tests/screen-diff/recordings/*.bin, made by
// tests/screen-diff/record.sh) and N seeded random streams (random.mjs).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildCorpus } from './corpus.mjs';
import { exceptions } from './exceptions.mjs';
import { diff, feed, lines, state, terminal } from './state.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const bin = opt('--bin', process.env.SCREEN_SNAPSHOT_BIN ?? join(root, 'target/debug/examples/screen-snapshot'));
const randoms = Number(opt('--random', '200'));
const only = opt('--only', '');
const verbose = args.includes('--verbose');


const corpus = buildCorpus(randoms);
const chosen = corpus.filter((c) => c.name.includes(only));

const dir = mkdtempSync(join(tmpdir(), 'screen-diff-'));
try {
  const files = chosen.map((c) => {
    const f = join(dir, `${c.name}.${c.cols}x${c.rows}.bin`);
    writeFileSync(f, c.bytes);
    return f;
  });
  const out = join(dir, 'out');
  execFileSync('mkdir', ['-p', out]);
  // Many files per run, in batches (argument length).
  for (let i = 0; i < files.length; i += 200) execFileSync(bin, [out, ...files.slice(i, i + 200)], { stdio: 'inherit' });

  const totals = {};
  let failed = 0;
  for (const c of chosen) {
    const snap = readFileSync(join(out, `${c.name}.snap`));
    const text = readFileSync(join(out, `${c.name}.txt`), 'utf8').split('\n');
    const raw = terminal(c.cols, c.rows);
    const rebuilt = terminal(c.cols, c.rows);
    await feed(raw, c.bytes);
    await feed(rebuilt, snap);
    const d = diff(state(raw), state(rebuilt));
    // `/screen`: the lines, cursor and title the server reports.
    const want = lines(raw);
    const got = text.slice(2, 2 + c.rows);
    want.forEach((l, i) => {
      if (l !== got[i]) { d.other++; d.notes.push(`/screen line ${i}: ${JSON.stringify(got[i])} vs xterm ${JSON.stringify(l)}`); }
    });
    const buf = raw._core.buffer;
    const cursor = `cursor ${buf.y} ${buf.x}`;
    if (text[0] !== cursor) { d.other++; d.notes.push(`/screen ${text[0]} vs xterm ${cursor}`); }
    if (text[1] !== `title ${raw._core._inputHandler._windowTitle}`) { d.other++; d.notes.push(`/screen ${text[1]} vs xterm title`); }
    const same = d.cells === 0 && d.other === 0;
    const t = (totals[c.kind] ??= { total: 0, same: 0, cells: 0, other: 0, excepted: 0 });
    t.total++;
    t.cells += d.cells;
    t.other += d.other;
    if (same) {
      t.same++;
      if (exceptions.has(c.name)) console.log(`now identical, drop its exception: ${c.name}`);
    }
    else if (exceptions.has(c.name)) t.excepted++;
    else failed++;
    if (!same && (verbose || !exceptions.has(c.name))) {
      console.log(`DIFF ${c.name} (${c.cols}x${c.rows}): ${d.cells} cells, ${d.other} other${exceptions.has(c.name) ? ` [excepted: ${exceptions.get(c.name)}]` : ''}`);
      for (const n of d.notes.slice(0, verbose ? 40 : 6)) console.log(`    ${n}`);
    }
    raw.dispose();
    rebuilt.dispose();
  }
  console.log('\n| corpus | scenarios identical / total | differing cells | differing modes/state | excepted |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [kind, t] of Object.entries(totals)) console.log(`| ${kind} | ${t.same} / ${t.total} | ${t.cells} | ${t.other} | ${t.excepted} |`);
  if (failed) {
    console.log(`\n${failed} scenario(s) differ`);
    process.exitCode = 1;
  } else {
    console.log('\nall scenarios identical (or excepted with a reason)');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
