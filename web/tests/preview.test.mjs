// The dashboard's live screen previews and its layout against the real
// ptyhub binary in headless Chromium: each session's last lines in colour
// (text never made HTML), updated live; at 1280 px a session with a long
// command, name and title leaves every column and button in view; on a
// phone the preview and the state come first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, signedInPage, waitFor, waitForDashboard, withServerAndBrowser } from './helpers.mjs';

const CONFIG = 'allow_arbitrary_commands = true\n';

// A script that prints a red word and some HTML, then waits for a line and
// prints it back.
const SCRIPT = "printf 'first line\\n\\033[31mRED\\033[0m <b>bold?</b>\\n'; read line; printf 'got %s\\n' \"$line\"; exec sleep 60";

test('each session shows its last lines in colour, updated live', async () => {
  await withServerAndBrowser({ config: CONFIG }, async ({ server, browser }) => {
    const { context, page } = await signedInPage(browser, server);
    const s = await server.createSession({ provider: undefined, command: ['sh', '-c', SCRIPT], name: 'preview' });
    const preview = page.locator(`tr[data-preview-of="${s.id}"] .preview`);
    await waitFor(async () => ((await preview.textContent()) ?? '').includes('RED <b>bold?</b>'), { timeout: 15_000, message: 'the preview shows the last lines' });
    // The red word is red (xterm's palette), the HTML is text.
    const red = preview.locator('span', { hasText: 'RED' });
    assert.equal(await red.evaluate((el) => getComputedStyle(el).color), 'rgb(205, 49, 49)');
    assert.equal(await preview.locator('b').count(), 0, 'no HTML was made of the screen');
    assert.equal(await preview.locator('.preview-line').first().textContent(), 'first line');
    // Live: new output shows without reloading.
    await server.api('POST', `/api/sessions/${s.id}/input`, { data: 'hello\r' });
    await waitFor(async () => ((await preview.textContent()) ?? '').includes('got hello'), { timeout: 15_000, message: 'the preview follows the screen' });
    // Small: at most six lines.
    assert.ok((await preview.locator('.preview-line').count()) <= 6);
    assertClean(context);
  });
});

test('at 1280 px a long command, name and title push no column out of view', async () => {
  await withServerAndBrowser({ config: CONFIG }, async ({ server, browser }) => {
    const { context, page } = await signedInPage(browser, server, { viewport: { width: 1280, height: 800 } });
    const long = `${'x'.repeat(60)} ${'y'.repeat(60)}`;
    const title = `a window title that goes on and on ${'z'.repeat(120)}`;
    const s = await server.createSession({
      provider: undefined,
      name: `n${'a'.repeat(100)}`,
      command: ['sh', '-c', `printf '\\033]2;${title}\\007'; echo ${long}; exec sleep 60 # ${'c'.repeat(90)}`],
    });
    const row = page.locator(`tr[data-id="${s.id}"]`);
    await waitFor(async () => ((await row.locator('.title').textContent()) ?? '').startsWith('a window title'), { timeout: 15_000, message: 'the title shows' });
    await waitFor(async () => ((await page.locator(`tr[data-preview-of="${s.id}"] .preview`).textContent()) ?? '').includes('xxxx'), { timeout: 15_000, message: 'the preview shows' });
    const command = await row.locator('.c-provider span').textContent();
    assert.ok(command.length > 200, `the command is long: ${command.length}`);
    const width = 1280;
    for (const key of ['name', 'provider', 'status', 'agent', 'size', 'clients', 'cpu', 'mem', 'age', 'exit', 'actions']) {
      const box = await page.locator(`#sessions th.c-${key}`).boundingBox();
      assert.ok(box && box.width > 0 && box.x >= 0 && box.x + box.width <= width, `column ${key} in view: ${JSON.stringify(box)}`);
      const cell = await row.locator(`td.c-${key}`).boundingBox();
      assert.ok(cell && cell.x + cell.width <= width, `cell ${key} in view: ${JSON.stringify(cell)}`);
    }
    for (const action of ['.act-open', '.act-rename', '.act-kill']) {
      const box = await row.locator(action).boundingBox();
      assert.ok(box && box.x + box.width <= width, `${action} in view: ${JSON.stringify(box)}`);
    }
    // Nothing to scroll sideways for.
    const scroll = await page.locator('.table-scroll').evaluate((el) => [el.scrollWidth, el.clientWidth]);
    assert.ok(scroll[0] <= scroll[1], `no sideways scroll: ${scroll}`);
    // The name keeps some room.
    const name = await row.locator('td.c-name').boundingBox();
    assert.ok(name.width >= 150, `the name column has room: ${name.width}`);
    assertClean(context);
  });
});

test('on a phone the preview and the state come first', async () => {
  await withServerAndBrowser({ config: CONFIG }, async ({ server, browser }) => {
    const { context, page } = await signedInPage(browser, server, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await waitForDashboard(page);
    const s = await server.createSession({ provider: undefined, command: ['sh', '-c', `${SCRIPT} # ${'c'.repeat(90)}`], name: 'phone' });
    const preview = page.locator(`tr[data-preview-of="${s.id}"] .preview`);
    await waitFor(async () => ((await preview.textContent()) ?? '').includes('RED'), { timeout: 15_000, message: 'the preview shows' });
    const row = page.locator(`tr[data-id="${s.id}"]`);
    const top = async (loc) => (await loc.boundingBox()).y;
    const [p, state, name] = [await top(preview), await top(row.locator('td.c-agent')), await top(row.locator('td.c-name'))];
    assert.ok(p < state && state <= name, `preview ${p}, then state ${state}, then name ${name}`);
    const box = await preview.boundingBox();
    assert.ok(box.x + box.width <= 390, `the preview fits the phone: ${JSON.stringify(box)}`);
    // Every cell of the card in view, the long command included.
    for (const key of ['name', 'provider', 'status', 'agent', 'size', 'clients', 'cpu', 'mem', 'age', 'actions']) {
      const cell = await row.locator(`td.c-${key}`).boundingBox();
      assert.ok(cell && cell.x >= 0 && cell.x + cell.width <= 390, `cell ${key} in view: ${JSON.stringify(cell)}`);
    }
    assertClean(context);
  });
});
