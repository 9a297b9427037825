// Two ptyhub nodes on Debian's redis-server (started here on a free
// loopback port with its own throwaway settings, stopped by its pid), one
// dashboard in headless Chromium: a session that runs on the other node is
// listed with its node, its live preview comes through the node the page
// talks to, and its recording is listed (with its node) and replayable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertClean, launchBrowser, signedInPage, startServer, waitFor } from './helpers.mjs';

const REDIS = process.env.REDIS_SERVER_PATH || '/usr/bin/redis-server';

/** A free loopback port (bound, then released). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** redis-server on `port`, nothing saved; `stop()` kills it by its pid. */
function startRedis(port, dir) {
  const proc = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

function nodeConfig(name, port, redisUrl, recordings) {
  return `allow_arbitrary_commands = true\nrecord = true\nrecordings_dir = ${JSON.stringify(recordings)}\n[cluster]\nredis_url = "${redisUrl}"\nnode = "${name}"\nadvertise_url = "http://127.0.0.1:${port}"\n`;
}

const SCRIPT = "printf 'from \\033[32mnode a\\033[0m\\n'; read line; printf 'got %s\\n' \"$line\"; exec sleep 60";

test("the dashboard on one node shows another node's session, live preview and recording", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptyhub-web-cluster-'));
  const redis = startRedis(await freePort(), dir);
  const token = randomBytes(24).toString('hex');
  const nodes = [];
  let browser;
  try {
    for (const name of ['node-a', 'node-b']) {
      const port = await freePort();
      const recordings = join(dir, name);
      nodes.push(await startServer({ port, token, config: nodeConfig(name, port, redis.url, recordings) }));
    }
    const [a, b] = nodes;
    for (const node of nodes) {
      await waitFor(async () => (await node.api('GET', '/healthz')).status === 'ok', { timeout: 15_000, message: 'the node reaches redis' });
    }
    const s = await a.createSession({ provider: undefined, command: ['bash', '-c', SCRIPT], name: 'far' });
    assert.equal(s.node, 'node-a');

    browser = await launchBrowser();
    const { context, page } = await signedInPage(browser, b);
    const row = page.locator(`tr[data-id="${s.id}"]`);
    await waitFor(async () => (await row.locator('.node').textContent()) === '@node-a', { timeout: 15_000, message: "b's dashboard lists a's session with its node" });
    const preview = page.locator(`tr[data-preview-of="${s.id}"] .preview`);
    await waitFor(async () => ((await preview.textContent()) ?? '').includes('from node a'), { timeout: 20_000, message: "a's session's preview on b's dashboard" });
    assert.equal(await preview.locator('span', { hasText: 'node a' }).evaluate((el) => getComputedStyle(el).color), 'rgb(13, 188, 121)', 'in colour');
    await b.api('POST', `/api/sessions/${s.id}/input`, { data: 'hello\r' });
    await waitFor(async () => ((await preview.textContent()) ?? '').includes('got hello'), { timeout: 15_000, message: 'the preview follows the screen on the other node' });

    // The recordings card lists a's file with its node; the replay page
    // (served by b) plays it from a.
    const item = page.locator(`#recordings li[data-id="${s.id}"]`);
    await waitFor(async () => (await item.count()) === 1, { timeout: 10_000, message: 'the recording is listed' });
    assert.equal(await item.locator('.node').textContent(), '@node-a');
    const cast = await fetch(`${b.base}/api/recordings/${s.id}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(cast.status, 200);
    assert.ok((await cast.text()).includes('got hello'));
    assertClean(context);
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const node of nodes.reverse()) await node.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
