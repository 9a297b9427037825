// A plain page using @xterm/addon-attach exactly as published, against the
// raw mode (no subprotocol) of /api/sessions/{id}/ws, from an allowed origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { WEB_DIR, launchBrowser, startServer, waitFor, waitForText } from './helpers.mjs';

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>addon-attach</title>
<link rel="stylesheet" href="/node_modules/@xterm/xterm/css/xterm.css">
<script src="/node_modules/@xterm/xterm/lib/xterm.js"></script>
<script src="/node_modules/@xterm/addon-attach/lib/addon-attach.js"></script>
</head>
<body>
<div id="t"></div>
<script>
  const params = new URLSearchParams(location.search);
  const term = new Terminal({ cols: 100, rows: 30 });
  term.open(document.getElementById('t'));
  const ws = new WebSocket(params.get('ws'));
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('open', () => term.loadAddon(new AttachAddon.AttachAddon(ws)));
  ws.addEventListener('close', (e) => { window.closeCode = e.code; });
  window.term = term;
  window.ws = ws;
  window.text = () => {
    const b = term.buffer.active;
    const out = [];
    for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
    return out.join('\\n');
  };
  window.__ptyhub = { text: window.text };
</script>
</body>
</html>`;

/** Serves the page at / and files under /node_modules/ from web/node_modules. */
function startStaticServer() {
  const root = join(WEB_DIR, 'node_modules');
  const types = { '.js': 'text/javascript', '.css': 'text/css', '.mjs': 'text/javascript' };
  const srv = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return;
    }
    if (url.pathname.startsWith('/node_modules/')) {
      const rel = normalize(decodeURIComponent(url.pathname.slice('/node_modules/'.length)));
      if (!rel.startsWith('..') && !rel.includes('\0')) {
        try {
          const data = await readFile(join(root, rel));
          res.writeHead(200, { 'Content-Type': types[rel.slice(rel.lastIndexOf('.'))] ?? 'application/octet-stream' });
          res.end(data);
          return;
        } catch {
          /* 404 below */
        }
      }
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

test('a plain page with @xterm/addon-attach as published works against raw mode', async () => {
  const statics = await startStaticServer();
  const origin = `http://127.0.0.1:${statics.address().port}`;
  let server;
  let browser;
  try {
    server = await startServer({ config: `allowed_origins = ["${origin}"]\n` });
    const s = await server.createSession({ name: 'attach-addon' });
    browser = await launchBrowser();
    const page = await browser.newPage();
    const ws = `ws://127.0.0.1:${server.port}/api/sessions/${s.id}/ws?token=${server.token}&cols=100&rows=30`;
    await page.goto(`${origin}/?ws=${encodeURIComponent(ws)}`);
    await waitFor(() => page.evaluate(() => window.ws.readyState === WebSocket.OPEN), { message: 'the raw WebSocket to open' });
    assert.equal(await page.evaluate(() => window.ws.protocol), '', 'the server picked a subprotocol the page did not ask for');
    await waitFor(async () => /[$#]\s*$/m.test(await page.evaluate(() => window.text())), { message: 'a prompt' });
    await page.locator('#t .xterm').click();
    await page.keyboard.type('echo attach-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForText(page, /^attach-42$/m);
    // Raw mode has no event frames: nothing but terminal output in the buffer.
    assert.ok(!(await page.evaluate(() => window.text())).includes('"type"'), 'JSON events leaked into the raw stream');
    // The exit is a normal close.
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await waitFor(() => page.evaluate(() => window.closeCode), { timeout: 15_000, message: 'the close after exit' });
    assert.equal(await page.evaluate(() => window.closeCode), 1000);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    await new Promise((r) => statics.close(r));
  }
});

test('a page from an origin that is not allowed cannot attach', async () => {
  const statics = await startStaticServer();
  const origin = `http://127.0.0.1:${statics.address().port}`;
  let server;
  let browser;
  try {
    server = await startServer(); // no allowed_origins
    const s = await server.createSession({ name: 'cswsh' });
    browser = await launchBrowser();
    const page = await browser.newPage();
    const ws = `ws://127.0.0.1:${server.port}/api/sessions/${s.id}/ws?token=${server.token}`;
    await page.goto(`${origin}/?ws=${encodeURIComponent(ws)}`);
    await waitFor(() => page.evaluate(() => window.closeCode !== undefined), { message: 'the refused socket to close' });
    assert.equal(await page.evaluate(() => window.ws.readyState), 3);
    assert.notEqual(await page.evaluate(() => window.closeCode), 1000);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    await new Promise((r) => statics.close(r));
  }
});
