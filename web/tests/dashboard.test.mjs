// The dashboard against the real ptyhub binary in headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test('the token URL sets an HttpOnly login cookie (never the token) and leaves the address bar; Log out revokes it', async () => {
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

    const cookies = await context.cookies(server.base);
    const cookie = cookies.find((c) => c.name === 'ptyhub_login');
    assert.ok(cookie, 'no ptyhub_login cookie was set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(cookie.expires > Date.now() / 1000, 'the login expires');
    // The browser never stores the API token: the cookie holds a login secret of its own.
    assert.ok(cookies.every((c) => !c.value.includes(server.token)), 'the token is stored in a cookie');
    assert.equal(await page.evaluate(() => document.cookie.includes('ptyhub_login')), false, 'the cookie is readable from script');
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

    // Log out: the secret is revoked (a copy of the cookie no longer works)
    // and the page shows the login page.
    const secret = cookie.value;
    // The dashboard is at / already: wait for the navigation the logout
    // starts (waiting for the URL would return at once, and the next goto
    // would race the page's own).
    const navigated = page.waitForResponse((r) => r.request().isNavigationRequest() && r.url() === `${server.base}/`);
    await page.click('#logout');
    assert.equal((await navigated).status(), 401, 'the page after logout is the login page');
    await page.waitForLoadState('load');
    await waitFor(async () => (await context.cookies(server.base)).every((c) => c.name !== 'ptyhub_login'), { message: 'the cookie is removed' });
    const replay = await fetch(`${server.base}/api/sessions`, { headers: { Cookie: `ptyhub_login=${secret}` } });
    assert.equal(replay.status, 401, 'the login secret still works after logout');
    // A new page of the same browser is signed out too (a new page: the old
    // one may still be finishing the logout's navigation).
    const after = await context.newPage();
    const again = await after.goto(`${server.base}/`);
    assert.equal(again.status(), 401);
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
    assert.match(banner, /^Terminated: killed on request/);
    const st = await term.evaluate(() => window.__ptyhub.state());
    assert.equal(st.exited, true);

    await waitFor(async () => (await row.getAttribute('data-status')) === 'terminated', { timeout: 15_000, message: 'the row to show the end' });
    assert.equal(await row.locator('.badge').textContent(), 'terminated');
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

test('empty and error states say what to do', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const { context, page } = await signedInPage(browser, server);
    // No session yet: the empty state points at the form and the CLI.
    await waitFor(() => page.locator('#empty').isVisible(), { message: 'the empty state' });
    const empty = await page.locator('#empty').textContent();
    assert.match(empty, /No sessions yet/);
    assert.match(empty, /ptyhub new/);
    assert.equal(await page.locator('#sessions').isVisible(), false, 'an empty table is shown');

    // A start the server refuses: the form says why and the page stays.
    await waitFor(() => page.locator('#new-provider').isEnabled(), { message: 'the provider list' });
    await page.fill('#new-cwd', '/nonexistent/ptyhub-test-dir');
    await page.click('#new-start');
    await waitFor(() => page.locator('#new-error').isVisible(), { message: 'the form error' });
    assert.match(await page.locator('#new-error').textContent(), /^Could not start the session: .+/);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(await page.locator('#empty').isVisible(), true);
    assert.deepEqual(await server.sessions(), []);

    // The server goes away: the page says so and what to check.
    await server.stop();
    await waitFor(() => page.locator('#notice').isVisible(), { timeout: 15_000, message: 'the connection notice' });
    assert.match(await page.locator('#notice').textContent(), /Cannot reach the ptyhub server.*ptyhub serve/);
    assert.notEqual(await page.locator('#live').getAttribute('data-state'), 'live');
    assertClean(context);
  });
});

test('open, rename, and a working directory from the dashboard', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ptyhub-web-cwd-'));
  try {
    await withServerAndBrowser({}, async ({ server, browser }) => {
      const { context, page } = await signedInPage(browser, server);
      const other = await context.newPage(); // a second dashboard, to see changes arrive live
      await other.goto(`${server.base}/`);
      await waitForDashboard(other);

      await waitFor(() => page.locator('#new-provider').isEnabled(), { message: 'the provider list' });
      await page.fill('#new-name', 'first-name');
      await page.fill('#new-cwd', cwd);
      await Promise.all([page.waitForURL(/\/s\/[^/?]+$/), page.click('#new-start')]);
      const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
      await waitForTerminal(page);
      await waitForPrompt(page);
      await typeInTerminal(page, 'echo "cwd=$PWD"\n');
      await waitForText(page, new RegExp(`^cwd=${cwd}$`, 'm'));

      await page.goto(`${server.base}/`);
      await waitForDashboard(page);
      const row = page.locator(`tr[data-id="${id}"]`);
      await waitFor(() => row.count(), { message: 'the session row' });
      assert.equal(await row.locator('.name').textContent(), 'first-name');

      // Rename in place: Enter saves.
      await row.locator('.act-rename').click();
      const input = row.locator('.rename-input');
      assert.equal(await input.inputValue(), 'first-name');
      await input.fill('second-name');
      await input.press('Enter');
      await waitFor(async () => (await row.locator('.name').textContent()) === 'second-name', { message: 'the new name in the row' });
      assert.equal((await server.session(id)).name, 'second-name');
      const otherRow = other.locator(`tr[data-id="${id}"]`);
      await waitFor(async () => (await otherRow.locator('.name').textContent()) === 'second-name', { message: 'the rename on the other dashboard' });
      // Escape cancels.
      await row.locator('.act-rename').click();
      await row.locator('.rename-input').fill('not-this');
      await row.locator('.rename-input').press('Escape');
      assert.equal(await row.locator('.name').textContent(), 'second-name');
      assert.equal((await server.session(id)).name, 'second-name');

      // Open: the terminal in a new tab.
      const [tab] = await Promise.all([context.waitForEvent('page'), row.locator('.act-open').click()]);
      await waitForTerminal(tab);
      assert.equal(new URL(tab.url()).pathname, `/s/${id}`);
      assert.equal(await tab.locator('#session-name').textContent(), 'second-name');
      await waitForText(tab, new RegExp(`^cwd=${cwd}$`, 'm'));
      assertClean(context);
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('resources: sampled values in CPU and memory, "—" for what is not sampled', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const real = await server.createSession({ name: 'real' });
    // Two made-up sessions in the listing (the server never sends events
    // for them): one sampled, one not sampled yet.
    const base = { ...real, pid: 1, clients: 0, title: '', exit: null, status: 'active' };
    const sampled = { ...base, id: '00000000-0000-4000-8000-000000000001', name: 'sampled', resources: { rss_bytes: 52_428_800, cpu_seconds: 3.25, cpu_percent: 12.5, threads: 3, processes: 2 } };
    const unsampled = { ...base, id: '00000000-0000-4000-8000-000000000002', name: 'unsampled', resources: { rss_bytes: 0, cpu_seconds: 0, cpu_percent: 0, threads: 0, processes: 0 } };
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    watchContext(context, server);
    await context.route(`${server.base}/api/sessions`, async (route) => {
      if (route.request().method() !== 'GET') return route.fallback();
      const resp = await route.fetch();
      const body = await resp.json();
      body.sessions.push(sampled, unsampled);
      await route.fulfill({ response: resp, json: body });
    });
    const page = await context.newPage();
    await page.goto(server.tokenUrl);
    await waitForDashboard(page);
    const cells = async (id) => {
      const row = page.locator(`tr[data-id="${id}"]`);
      await waitFor(() => row.count(), { message: `the row of ${id}` });
      return [await row.locator('td.c-cpu').textContent(), await row.locator('td.c-mem').textContent()];
    };
    assert.deepEqual(await cells(sampled.id), ['13%', '50 MiB']);
    assert.deepEqual(await cells(unsampled.id), ['—', '—']);
    // The real session shows what the server reports: numbers once sampled
    // (a young session is sampled every 50 ms; the row follows the events).
    await waitFor(
      async () => {
        const srv = (await page.evaluate(() => window.__ptyhub.sessions())).find((s) => s.id === real.id);
        return srv?.resources?.processes > 0;
      },
      { message: 'the real session sampled' },
    );
    const [cpu, mem] = await waitFor(
      async () => {
        const c = await cells(real.id);
        return /%$/.test(c[0]) && / (B|KiB|MiB|GiB)$/.test(c[1]) ? c : null;
      },
      { message: 'numbers in the real session\'s row' },
    );
    assert.match(cpu, /^\d+(\.\d)?%$/);
    assert.match(mem, /^\d+(\.\d)? (B|KiB|MiB|GiB)$/);
    assertClean(context);
    await context.close();
  });
});
