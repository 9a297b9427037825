// What the page does for security, seen from the browser: headers and CSP,
// no inline script, no request leaving the server's origin, the token
// traded for the cookie (also through the login page and on /s/{id}).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertClean,
  openTerminal,
  signedInPage,
  typeInTerminal,
  waitFor,
  waitForDashboard,
  waitForPrompt,
  waitForTerminal,
  waitForText,
  watchContext,
  withServerAndBrowser,
} from './helpers.mjs';

/** The CSP's directives as a map of name → source list. */
function directives(csp) {
  const out = new Map();
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

function assertSecurityHeaders(headers, what) {
  const csp = headers['content-security-policy'];
  assert.ok(csp, `${what}: no Content-Security-Policy`);
  const d = directives(csp);
  const script = d.get('script-src') ?? d.get('default-src');
  assert.ok(script, `${what}: the CSP does not restrict scripts: ${csp}`);
  for (const bad of ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'http:', 'https:']) {
    assert.ok(!script.includes(bad), `${what}: script-src allows ${bad}: ${csp}`);
  }
  assert.deepEqual(d.get('object-src'), ["'none'"], `${what}: ${csp}`);
  assert.deepEqual(d.get('frame-ancestors'), ["'none'"], `${what}: ${csp}`);
  for (const name of ['connect-src', 'img-src', 'font-src', 'style-src', 'default-src']) {
    for (const src of d.get(name) ?? []) {
      assert.ok(["'self'", "'none'", 'data:', "'unsafe-inline'"].includes(src), `${what}: ${name} allows ${src}: ${csp}`);
    }
  }
  assert.equal(headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${what}: X-Content-Type-Options`);
}

test('the pages carry a CSP without inline script, and the browser enforces it', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'headers' });
    const context = await browser.newContext();
    const problems = watchContext(context, server);
    const page = await context.newPage();
    const dash = await page.goto(server.tokenUrl);
    await waitForDashboard(page);
    assertSecurityHeaders(await dash.allHeaders(), 'the dashboard');
    const html = await dash.text();
    // Every script is a file from the server: none inline, no handler attributes.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length > 0, 'no script in the page');
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, /\bsrc="\/[^"]+"/, `a script without a same-origin src: <script${attrs}>`);
      assert.equal(body.trim(), '', 'an inline script');
    }
    assert.ok(!/\son[a-z]+\s*=/i.test(html), 'an inline event handler in the page');

    const termResp = await page.goto(`${server.base}/s/${s.id}`);
    await waitForTerminal(page);
    assertSecurityHeaders(await termResp.allHeaders(), 'the terminal');
    for (const asset of ['/assets/app.js', '/assets/app.css']) {
      const r = await page.request.get(`${server.base}${asset}`);
      assert.equal(r.status(), 200, asset);
      assert.equal(r.headers()['x-content-type-options'], 'nosniff', asset);
    }
    assertClean(context);

    // An inline script a bug might let in does not run, and the browser
    // reports the violation.
    const ran = await page.evaluate(async () => {
      const seen = new Promise((r) => document.addEventListener('securitypolicyviolation', (e) => r(e.violatedDirective), { once: true }));
      const el = document.createElement('script');
      el.textContent = 'window.__inlineRan = true';
      document.head.appendChild(el);
      return { ran: window.__inlineRan === true, violated: await seen };
    });
    assert.equal(ran.ran, false, 'an inline script ran');
    assert.match(ran.violated, /^script-src/);
    assert.ok(problems.some((p) => /CSP/.test(p)), 'the test watcher did not see the CSP violation');
    await context.close();
  });
});

test('every request the pages make goes to the server itself', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'requests' });
    const { context, page } = await signedInPage(browser, server);
    const urls = [];
    context.on('request', (r) => urls.push(r.url()));
    const watch = (p) => p.on('websocket', (ws) => urls.push(ws.url()));
    context.pages().forEach(watch);
    context.on('page', watch);
    await page.reload();
    await waitForDashboard(page);
    const term = await openTerminal(context, server, s.id);
    await waitForPrompt(term);
    // Links, colours, wide characters and emoji must not fetch anything (fonts included).
    await typeInTerminal(term, "printf '\\033[1;31mred\\033[0m https://example.com/x 漢字 🙂\\n'; echo shown-$((6*7))\n");
    await waitForText(term, /^shown-42$/m);
    await term.evaluate(() => document.fonts.ready);
    assert.ok(urls.some((u) => u.endsWith('/assets/app.js')), `the watcher saw no page load: ${urls.join(', ')}`);
    assert.ok(urls.some((u) => u.startsWith(`ws://127.0.0.1:${server.port}/api/sessions/`)), 'the watcher saw no WebSocket');
    const origin = new URL(server.base);
    for (const u of urls) {
      const p = new URL(u);
      assert.equal(p.host, origin.host, `a request left the server: ${u}`);
      assert.ok(['http:', 'ws:'].includes(p.protocol), u);
    }
    // No font is loaded from anywhere: the page uses the system's.
    const fonts = await term.evaluate(() => [...document.fonts].filter((f) => f.status !== 'unloaded').map((f) => f.family));
    assert.deepEqual(fonts, []);
    assertClean(context);
  });
});

test('signing in through the login page: the token leaves the address bar and the history', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'secret-session-name' });
    const context = await browser.newContext();
    watchContext(context, server);
    const page = await context.newPage();
    const resp = await page.goto(`${server.base}/`);
    assert.equal(resp.status(), 401);
    // The login page shows no data and says how to sign in.
    const body = await page.locator('body').textContent();
    assert.match(body, /ptyhub serve/);
    assert.ok(!body.includes('secret-session-name') && !body.includes(s.id), 'the login page shows session data');
    assert.equal(await page.evaluate(() => document.scripts.length), 0, 'the login page runs script');

    await page.fill('input[name="token"]', server.token);
    await Promise.all([page.waitForURL(`${server.base}/`), page.press('input[name="token"]', 'Enter')]);
    await waitForDashboard(page);
    assert.ok(!page.url().includes(server.token));
    await waitFor(() => page.locator(`tr[data-id="${s.id}"]`).count(), { message: 'the session row' });
    // Back goes to the login page, never to a URL with the token.
    await page.goBack();
    assert.ok(!page.url().includes('token'), `the token URL is in the history: ${page.url()}`);

    // A token link to a terminal keeps its other parameters and drops the token.
    const term = await context.newPage();
    await term.goto(`${server.base}/s/${s.id}?token=${server.token}&readonly=1`);
    await waitForTerminal(term);
    const u = new URL(term.url());
    assert.equal(u.pathname, `/s/${s.id}`);
    assert.equal(u.search, '?readonly=1');
    assert.equal((await term.evaluate(() => window.__ptyhub.state())).readonly, true);

    // A wrong token gets the login page, not the data.
    const anon = await browser.newContext();
    const p2 = await anon.newPage();
    const bad = await p2.goto(`${server.base}/?token=wrong-${server.token}`);
    assert.equal(bad.status(), 401);
    assert.deepEqual(await anon.cookies(), []);
    await anon.close();
    assertClean(context);
  });
});
