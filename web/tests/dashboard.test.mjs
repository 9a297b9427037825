// The dashboard against the real ptyhub binary in headless Chromium.
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

test('the token URL sets the HttpOnly cookie and leaves the address bar', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const context = await browser.newContext();
    watchContext(context, server);
    const page = await context.newPage();
    await page.goto(server.tokenUrl);
    await waitForDashboard(page);

    const url = new URL(page.url());
    assert.equal(url.origin, server.base);
    assert.equal(url.pathname, '/');
    assert.ok(!page.url().includes(server.token), `the token is still in the address bar: ${page.url()}`);
    assert.ok(!url.searchParams.has('token'));

    const cookie = (await context.cookies(server.base)).find((c) => c.name === 'ptyhub_token');
    assert.ok(cookie, 'no ptyhub_token cookie was set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie.includes('ptyhub_token')), false, 'the cookie is readable from script');
    assert.ok(!(await page.evaluate(() => location.href)).includes('token='));

    // The cookie alone signs the page in: a reload works without the token.
    await page.reload();
    await waitForDashboard(page);

    // Without the cookie, / is a 401 login page that shows no data.
    const anon = await browser.newContext();
    const p2 = await anon.newPage();
    const resp = await p2.goto(`${server.base}/`);
    assert.equal(resp.status(), 401);
    await anon.close();
    assertClean(context);
  });
});

test('start a shell from the dashboard and read its output from the xterm.js buffer', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const { context, page } = await signedInPage(browser, server);
    await waitFor(() => page.locator('#new-provider').isEnabled(), { message: 'the provider list' });
    const providers = await page.$$eval('#new-provider option', (os) => os.map((o) => ({ value: o.value, disabled: o.disabled })));
    assert.ok(providers.some((p) => p.value === 'shell' && !p.disabled), `no available shell provider in ${JSON.stringify(providers)}`);
    await page.selectOption('#new-provider', 'shell');
    await page.fill('#new-name', 'from-dashboard');
    await Promise.all([page.waitForURL(/\/s\/[^/?]+$/), page.click('#new-start')]);
    await waitForTerminal(page);
    assert.equal(await page.locator('#session-name').textContent(), 'from-dashboard');
    assert.equal(await page.locator('#keyrow').isVisible(), false, 'the on-screen keys show on a desktop-sized window');
    await waitForPrompt(page);
    await typeInTerminal(page, 'echo hi-$((6*7))\n');
    await waitForText(page, /^hi-42$/m);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
    const s = await server.session(id);
    assert.equal(s.name, 'from-dashboard');
    assert.equal(s.provider, 'shell');
    assertClean(context);
  });
});

test('kill from the dashboard: the terminal shows the exit, the row updates without a reload', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'to-kill' });
    const { context, page: dash } = await signedInPage(browser, server);
    const term = await openTerminal(context, server, s.id);
    await waitForPrompt(term);

    const row = dash.locator(`tr[data-id="${s.id}"]`);
    await waitFor(() => row.count(), { message: 'the session row' });
    await dash.evaluate(() => {
      window.__noReload = true;
    });
    // The row updates live: the terminal page is one more client.
    await waitFor(async () => (await row.locator('.c-clients').textContent()) === '1', { message: 'clients = 1 in the row' });

    const kill = row.locator('.act-kill');
    await kill.click();
    assert.match(await kill.textContent(), /confirm/i, 'the first click should ask for confirmation');
    await kill.click();

    await waitFor(() => term.locator('#exit-banner').isVisible(), { timeout: 15_000, message: 'the exit banner' });
    const banner = await term.locator('#exit-text').textContent();
    assert.match(banner, /terminated|exited|killed|signal|code/i);
    const st = await term.evaluate(() => window.__ptyhub.state());
    assert.equal(st.exited, true);

    await waitFor(async () => ['terminated', 'exited'].includes(await row.getAttribute('data-status')), { timeout: 15_000, message: 'the row to show the end' });
    await waitFor(async () => ((await row.locator('.c-exit').textContent()) ?? '').trim() !== '', { message: 'the exit column' });
    assert.equal(await dash.evaluate(() => window.__noReload), true, 'the dashboard reloaded');
    assert.equal(await row.locator('.act-kill').isVisible(), false);
    assertClean(context);
  });
});

test('names and titles are shown as text, never as HTML', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const { context, page: dash } = await signedInPage(browser, server);
    const dialogs = [];
    context.on('page', (p) => p.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); }));
    dash.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });

    await waitFor(() => dash.locator('#new-provider').isEnabled(), { message: 'the provider list' });
    await dash.selectOption('#new-provider', 'shell');
    await dash.fill('#new-name', evil);
    // Starting a session opens its terminal in this page.
    await Promise.all([dash.waitForURL(/\/s\/[^/?]+$/), dash.click('#new-start')]);
    const id = decodeURIComponent(new URL(dash.url()).pathname.split('/').pop());
    const term = dash;
    await waitForTerminal(term);
    assert.equal(await term.locator('#session-name').textContent(), evil);

    await waitForPrompt(term);
    // sleep keeps a prompt that sets its own title from overwriting it.
    await typeInTerminal(term, `printf '\\033]0;%s\\007' '${evil}'; sleep 60\n`);
    await waitFor(async () => (await term.title()) === evil, { message: 'the window title from the program' });
    assert.equal(await term.locator('#session-title').textContent(), evil);

    const dash2 = await context.newPage();
    dash2.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await dash2.goto(`${server.base}/`);
    await waitForDashboard(dash2);
    const row = dash2.locator(`tr[data-id="${id}"]`);
    await waitFor(() => row.count(), { message: 'the session row' });
    assert.equal(await row.locator('.name').textContent(), evil);
    await waitFor(async () => (await row.locator('.title').textContent()) === evil, { message: 'the title in the row' });

    for (const p of [term, dash2]) assert.equal(await p.locator('img').count(), 0, `an <img> element appeared on ${p.url()}`);
    assert.deepEqual(dialogs, [], 'a dialog fired');
    assertClean(context);
  });
});

test('the row follows the session live: size and title changes arrive without a reload', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'live-row', cols: 80, rows: 24 });
    const { context, page: dash } = await signedInPage(browser, server);
    const row = dash.locator(`tr[data-id="${s.id}"]`);
    await waitFor(() => row.count(), { message: 'the session row' });
    await dash.evaluate(() => {
      window.__noReload = true;
    });
    assert.equal(await row.locator('.c-size').textContent(), '80×24');

    await server.api('POST', `/api/sessions/${s.id}/resize`, { cols: 100, rows: 30 });
    await waitFor(async () => (await row.locator('.c-size').textContent()) === '100×30', { message: 'the new size in the row' });

    await server.api('POST', `/api/sessions/${s.id}/input`, { data: "printf '\\033]0;%s\\007' 'live title'; sleep 60\r" });
    await waitFor(async () => (await row.locator('.title').textContent()) === 'live title', { message: 'the title in the row' });
    assert.equal(await row.locator('.title').isVisible(), true);
    assert.equal(await dash.evaluate(() => window.__noReload), true, 'the dashboard reloaded');
    assertClean(context);
  });
});
