// ptyhub under /pty/ behind Debian's nginx (docs/deployment.md): nginx started
// by the test on a free loopback port with its own temporary config (never
// the system service; stopped by its pid), `ptyhub serve` with
// `base_path = "/pty"`, and Chromium loading the web UI through the proxy:
// every request stays under /pty/ and answers, the events stream and the
// WebSocket work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertClean,
  launchBrowser,
  startServer,
  typeInTerminal,
  waitFor,
  waitForDashboard,
  waitForPrompt,
  waitForTerminal,
  waitForText,
  watchContext,
} from './helpers.mjs';

const NGINX = process.env.NGINX_PATH || '/usr/sbin/nginx';

/** A port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The location block of docs/deployment.md, around a throwaway nginx. */
function nginxConfig(dir, port, upstreamPort) {
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 128; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location /pty/ {
      # No URI after the address: the /pty prefix is forwarded unchanged.
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`;
}

async function startNginx(upstreamPort) {
  const dir = mkdtempSync(join(tmpdir(), 'ptyhub-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, upstreamPort));
  const checked = spawnSync(NGINX, ['-t', '-q', '-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { encoding: 'utf8' });
  assert.equal(checked.status, 0, `nginx -t: ${checked.stderr}`);
  const proc = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => proc.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      const r = await fetch(`${base}/pty/healthz`).catch(() => null);
      return r?.status === 200;
    },
    { timeout: 10_000, message: 'nginx to forward /pty/healthz' },
  );
  return {
    base,
    log: () => {
      try {
        return readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGQUIT'); // by its pid: this nginx only
        const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('the web UI and its WebSocket under /pty/ behind nginx', { timeout: 120_000 }, async () => {
  const server = await startServer({ config: 'base_path = "/pty"\n' });
  let nginx;
  let browser;
  try {
    nginx = await startNginx(server.port);
    // The server answers only under the prefix, directly and through nginx.
    assert.equal((await fetch(`${server.base}/healthz`)).status, 404);
    assert.equal((await fetch(`${nginx.base}/pty/healthz`)).status, 200);

    const proxied = { base: `${nginx.base}/pty`, token: server.token };
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    // Every request must stay under http://127.0.0.1:PORT/pty/.
    watchContext(context, proxied);
    const failed = [];
    const loaded = [];
    context.on('response', (r) => {
      loaded.push(r.url());
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    const page = await context.newPage();
    await page.goto(`${proxied.base}/?token=${server.token}`);
    await waitForDashboard(page);
    assert.equal(new URL(page.url()).pathname, '/pty/', 'the token left the address bar, the page stayed under /pty');
    for (const asset of ['/pty/assets/app.js', '/pty/assets/app.css']) {
      assert.ok(
        loaded.some((u) => new URL(u).pathname === asset),
        `${asset} loaded through nginx: ${loaded.join(' ')}`,
      );
    }
    const cookies = await context.cookies();
    const login = cookies.find((c) => c.name === 'ptyhub_login');
    assert.equal(login?.path, '/pty', 'the cookie lives under the prefix');

    // A session started from the page's own API calls' origin, then its
    // terminal through the proxy's WebSocket.
    const created = await page.evaluate(async () => {
      const r = await fetch('/pty/api/sessions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ provider: 'shell' }),
      });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    await page.goto(`${proxied.base}/s/${id}`);
    await waitForTerminal(page);
    await waitForPrompt(page);
    await typeInTerminal(page, 'echo proxied-$((6*7))\n');
    await waitForText(page, 'proxied-42');
    const ws = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
    assert.ok(ws.every((u) => new URL(u).pathname.startsWith('/pty/')), ws.join(' '));
    assert.deepEqual(failed, [], 'no request through the proxy failed');
    assertClean(context);
    await context.close();
  } catch (err) {
    if (nginx) err.message += `\n--- nginx error.log ---\n${nginx.log()}`;
    err.message += `\n--- ptyhub stderr ---\n${server.stderr}`;
    throw err;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (nginx) await nginx.stop();
    await server.stop();
  }
});
