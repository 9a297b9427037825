// Recording and replay in the browser: a recorded session's replay page
// (/r/{id}) shows asciinema-player (bundled, loaded from the server), plays
// the recording with idle time limited to 2 s and reaches the end; its
// markers are chapters; the dashboard and the ended session's terminal view
// link to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactPath, assertClean, signedInPage, waitFor, waitForTerminal, withServerAndBrowser } from './helpers.mjs';

/** The replay page's state (the test build's hook). */
function replayState(page) {
  return page.evaluate(() => window.__ptyhub?.view === 'replay' && window.__ptyhub.state());
}

/** The text the player's terminal shows. */
function playerText(page) {
  return page.evaluate(() => document.querySelector('#replay-player .ap-term')?.textContent ?? '');
}

test('the replay page of a recorded session shows the player, plays to the end with idle time limited, markers as chapters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptyhub-web-rec-'));
  try {
    // idle_after 1 s: the silence below makes a `status:idle` marker.
    // agent_quiet 60 s: no `agent:ready` marker in the silence (a marker is
    // an event, and would cut the 4 s gap after `status:idle` in two gaps
    // the idle limit leaves as they are).
    const config = `allow_arbitrary_commands = true\nrecord = true\nidle_after = "1s"\nagent_quiet = "60s"\nrecordings_dir = ${JSON.stringify(dir)}\n`;
    await withServerAndBrowser({ config }, async ({ server, browser }) => {
      // 5 s of silence in the middle (a `status:idle` marker 1 s into it):
      // the replay cuts the 4 s after the marker to 2 s.
      const script = "printf 'replay-start\\n'; sleep 0.3; printf 'replay-middle\\n'; sleep 5; printf 'replay-end-%d\\n' $((6*7))";
      const s = await server.api('POST', '/api/sessions', { command: ['bash', '-c', script], name: 'recorded', record: true });
      assert.equal(s.recording?.state, 'on', JSON.stringify(s.recording));
      await waitFor(async () => (await server.session(s.id)).exit, { timeout: 20_000, message: 'the session to end' });

      // The dashboard: a Replay link on the session's row, and the recording listed.
      const { context, page } = await signedInPage(browser, server);
      const row = page.locator(`tr[data-id="${s.id}"]`);
      await waitFor(() => row.locator('.act-replay').isVisible(), { message: 'the Replay link on the row' });
      const href = await row.locator('.act-replay').getAttribute('href');
      assert.equal(href, `/r/${s.id}`);
      await waitFor(() => page.locator(`#recordings li[data-id="${s.id}"]`).isVisible(), { message: 'the recording in the Recordings card' });
      assert.equal(await page.locator(`#recordings li[data-id="${s.id}"] .rec-name`).textContent(), 'recorded');

      // The ended session's terminal view links to the replay too.
      const term = await context.newPage();
      await term.goto(`${server.base}/s/${s.id}`);
      await waitFor(() => term.locator('#replay-link').isVisible(), { message: 'the Replay link in the exit banner' });
      assert.equal(await term.locator('#replay-link').getAttribute('href'), `/r/${s.id}`);
      await term.close();

      // The replay page: the player (its own bundle file), with the markers as chapters.
      const loaded = [];
      page.on('response', (r) => loaded.push(`${r.status()} ${new URL(r.url()).pathname}`));
      const resp = await page.goto(`${server.base}${href}`);
      assert.equal(resp.status(), 200);
      assert.match(resp.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval';/);
      await waitFor(async () => (await replayState(page))?.ready, { message: 'the player to be made' });
      await waitFor(() => page.locator('#replay-player .ap-player').isVisible(), { message: 'the player shown' });
      assert.ok(loaded.includes('200 /assets/player.js'), `player.js not loaded from the server: ${loaded.join(', ')}`);
      const chapters = await page.locator('#replay-chapters .chapter-label').allTextContents();
      assert.ok(chapters.includes('exit:0') && chapters.includes('status:idle'), `chapters: ${JSON.stringify(chapters)}`);

      // Play with the player's own button; it reaches the end.
      const started = Date.now();
      await page.locator('#replay-player .ap-playback-button').click();
      await waitFor(async () => (await replayState(page))?.plays > 0, { message: 'playing' });
      const end = await waitFor(async () => {
        const st = await replayState(page);
        return st?.ended && st;
      }, { timeout: 15_000, message: 'the replay to reach the end' });
      const wall = (Date.now() - started) / 1000;
      await waitFor(async () => (await playerText(page)).includes('replay-end-42'), { message: 'the last line on the player' });
      assert.ok((await playerText(page)).includes('replay-middle'));
      // The recording lasts 5.3 s and more; with idle time limited to 2 s,
      // about 3.3 s.
      assert.ok(end.duration !== null && end.duration < 4.2 && end.duration > 2.5, `duration ${end.duration}`);
      assert.ok(wall < 4.2 + 5, `the replay took ${wall} s`);
      // Once loaded, the markers are on the player's progress bar too (all
      // but those at the very end, which the player leaves off).
      const onBar = await page.locator('#replay-player .ap-progressbar .ap-marker-container').count();
      assert.ok(onBar >= 1 && onBar <= chapters.length, `markers on the progress bar: ${onBar}, chapters: ${JSON.stringify(chapters)}`);
      await page.screenshot({ path: artifactPath('replay.png') });

      // A chapter seeks to its marker.
      await page.locator('#replay-chapters .chapter', { hasText: 'exit:0' }).click();
      await waitFor(async () => Math.abs((await replayState(page)).currentTime - end.duration) < 0.5, { message: 'the seek to the exit marker' });

      // Speed: the player is made again where it was, at the new speed.
      await page.selectOption('#replay-speed', '4');
      await waitFor(() => page.locator('#replay-player .ap-player').isVisible(), { message: 'the player after a speed change' });
      assert.ok((await replayState(page)).currentTime > 2, 'the position was kept');
      // ... and plays at it: from the start to the end in well under the 1x duration.
      await page.evaluate(() => window.__ptyhub.seek(0));
      await waitFor(async () => (await replayState(page)).currentTime < 0.5, { message: 'the seek to the start' });
      const plays = (await replayState(page)).plays;
      const fast = Date.now();
      await page.locator('#replay-player .ap-playback-button').click();
      await waitFor(async () => {
        const st = await replayState(page);
        return st.plays > plays && st.ended;
      }, { timeout: 15_000, message: 'the 4x replay to reach the end' });
      const fastWall = (Date.now() - fast) / 1000;
      assert.ok(fastWall < end.duration * 0.75, `at 4x the replay took ${fastWall} s of ${end.duration} s`);
      console.log(`replay: ${end.duration.toFixed(2)} s long, played in ${wall.toFixed(2)} s at 1x and ${fastWall.toFixed(2)} s at 4x`);
      assertClean(context);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Record in the start form records a session the server would not; the replay page of an unknown recording says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptyhub-web-rec-'));
  try {
    await withServerAndBrowser({ config: `recordings_dir = ${JSON.stringify(dir)}\n` }, async ({ server, browser }) => {
      const { context, page } = await signedInPage(browser, server);
      // The server records nothing by default; Record checked asks for it.
      await waitFor(() => page.locator('#new-provider').isEnabled(), { message: 'the provider list' });
      await page.check('#new-record');
      await Promise.all([page.waitForURL(/\/s\/[^/?]+$/), page.click('#new-start')]);
      await waitForTerminal(page);
      const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
      assert.equal((await server.session(id)).recording?.state, 'on');
      await page.goto(`${server.base}/`);
      await waitFor(() => page.locator(`tr[data-id="${id}"] .act-replay`).isVisible(), { message: 'the Replay link of the recorded session' });

      await page.goto(`${server.base}/r/00000000-0000-4000-8000-000000000000`);
      await waitFor(() => page.locator('#replay-error').isVisible(), { message: 'the error' });
      assert.match(await page.locator('#replay-error').textContent(), /no recording/);
      assertClean(context);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
