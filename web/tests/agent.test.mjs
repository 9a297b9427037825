// Agent state on the dashboard against the real ptyhub binary in headless
// Chromium: the state badge, waiting sessions first, the waiting count in
// the page title, the "waiting only" filter, and a notification's HTML
// shown as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, signedInPage, waitFor, waitForDashboard, withServerAndBrowser } from './helpers.mjs';

test('a session that rings for the user shows waiting, first, and counts in the title', async () => {
  await withServerAndBrowser({ config: 'agent_quiet = "1s"\n' }, async ({ server, browser }) => {
    const { context, page } = await signedInPage(browser, server);
    await waitForDashboard(page);
    const quiet = await server.createSession({ name: 'quiet' });
    const asking = await server.createSession({ name: 'asking' });
    const badge = (id) => page.locator(`tr[data-id="${id}"] .agent-badge`);
    // A shell prints its prompt, then is quiet: ready.
    await waitFor(async () => (await badge(quiet.id).textContent()) === 'ready', { timeout: 15_000, message: 'the quiet shell is ready' });
    assert.equal(await page.title(), 'ptyhub');
    // An OSC 777 notification whose body is HTML.
    await server.api('POST', `/api/sessions/${asking.id}/input`, { data: "printf '\\033]777;notify;Deploy;<img src=x onerror=alert(1)>\\033\\\\'\r" });
    await waitFor(async () => (await badge(asking.id).textContent()) === 'waiting', { timeout: 15_000, message: 'the asking shell is waiting' });
    await waitFor(async () => (await page.title()) === '(1 waiting) ptyhub', { message: 'the title counts it' });
    const first = await page.locator('#sessions-body tr').first().getAttribute('data-id');
    assert.equal(first, asking.id, 'waiting sessions come first');
    const detail = await badge(asking.id).getAttribute('title');
    assert.equal(detail, 'notification: Deploy: <img src=x onerror=alert(1)>', 'the detail is text');
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'no HTML was made of it');
    // The filter leaves only waiting sessions.
    await page.locator('#filter-waiting').check();
    assert.equal(await page.locator(`tr[data-id="${quiet.id}"]`).isVisible(), false);
    assert.equal(await page.locator(`tr[data-id="${asking.id}"]`).isVisible(), true);
    assertClean(context);
  });
});
