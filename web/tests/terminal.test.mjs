// The terminal view against the real ptyhub binary in headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  artifactPath,
  assertClean,
  childCommands,
  holdsFor,
  openTerminal,
  signedInPage,
  termState,
  termTail,
  termText,
  typeInTerminal,
  waitFor,
  waitForDashboard,
  waitForPrompt,
  waitForTerminal,
  waitForText,
  withServerAndBrowser,
} from './helpers.mjs';

/** The numbers of the `line-N` lines in the buffer, in order. */
async function lineNumbers(page) {
  return (await termText(page))
    .split('\n')
    .map((l) => /^line-(\d+)$/.exec(l))
    .filter(Boolean)
    .map((m) => Number(m[1]));
}

/** Every number once, each one more than the one before, ending at `last`. */
function assertRun(nums, last, what) {
  assert.ok(nums.length > 0, `${what}: no line-N lines in the buffer`);
  for (let i = 1; i < nums.length; i++) {
    assert.equal(nums[i], nums[i - 1] + 1, `${what}: line-${nums[i - 1]} is followed by line-${nums[i]} (${nums[i] <= nums[i - 1] ? 'doubled' : 'lost'} output)`);
  }
  assert.equal(nums.at(-1), last, `${what}: the last line is line-${nums.at(-1)}`);
}

/** The command name of process `pid`, or null when it is gone. */
function readComm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

const LOOP = (n, delay) => `for i in $(seq 1 ${n}); do echo line-$i; sleep ${delay}; done; echo loop-$((6*7))-done\n`;

test('resizing the window changes stty size in the session', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'resize' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);

    let n = 0;
    let prev = await termState(page);
    for (const viewport of [{ width: 1000, height: 700 }, { width: 760, height: 480 }, { width: 1400, height: 900 }]) {
      await page.setViewportSize(viewport);
      // The page fits the terminal to the new window and tells the server.
      const want = await waitFor(
        async () => {
          const st = await termState(page);
          if (st.cols === prev.cols && st.rows === prev.rows) return false;
          const srv = await server.session(s.id);
          return srv.cols === st.cols && srv.rows === st.rows && st;
        },
        { message: `the session to take the page's size at ${viewport.width}x${viewport.height}` },
      );
      n++;
      await typeInTerminal(page, `echo size${n}-$(stty size | tr ' ' x)\n`);
      await waitForText(page, new RegExp(`^size${n}-${want.rows}x${want.cols}$`, 'm'));
      prev = want;
    }
    // The sizes really differed.
    const sizes = (await termText(page)).match(/^size\d-\d+x\d+$/gm).map((l) => l.split('-')[1]);
    assert.equal(new Set(sizes).size, 3, `stty size did not change: ${sizes}`);
    assertClean(context);
  });
});

test('two pages on one session both see output typed in either', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'shared' });
    const { context } = await signedInPage(browser, server);
    const a = await openTerminal(context, server, s.id);
    const b = await openTerminal(context, server, s.id);
    await waitForPrompt(a);
    await waitForPrompt(b);
    await typeInTerminal(a, 'echo from-a-$((40+2))\n');
    await waitForText(a, /^from-a-42$/m);
    await waitForText(b, /^from-a-42$/m);
    await typeInTerminal(b, 'echo from-b-$((50+5))\n');
    await waitForText(b, /^from-b-55$/m);
    await waitForText(a, /^from-b-55$/m);
    const srv = await server.session(s.id);
    assert.equal(srv.clients, 2);
    assertClean(context);
  });
});

test('reload mid-output: the history is there once, no doubled or lost lines', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'reload' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    // Slow enough that the screen still holds the last line seen before the
    // reload when the new page attaches (the snapshot is at least the screen).
    await typeInTerminal(page, LOOP(150, 0.1));
    await waitForText(page, /^line-20$/m);
    const before = Math.max(...(await lineNumbers(page)));
    await page.reload();
    await waitForTerminal(page);
    await waitForText(page, /^loop-42-done$/m, { timeout: 60_000 });
    const nums = await lineNumbers(page);
    assertRun(nums, 150, 'after a reload');
    assert.ok(nums[0] <= before, `the history before the reload is missing: the first line is line-${nums[0]}, line-${before} was on screen`);
    assertClean(context);
  });
});

test('network loss mid-output: reconnects with since=, no doubled or lost lines', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'reconnect' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    await typeInTerminal(page, LOOP(300, 0.01));
    for (const at of [30, 120, 200]) {
      await waitForText(page, new RegExp(`^line-${at}$`, 'm'), { timeout: 30_000 });
      const hellos = (await termState(page)).hellos;
      await page.evaluate(() => window.__ptyhub.dropConnection());
      await waitFor(async () => (await termState(page)).hellos > hellos && (await termState(page)).connected, { message: 'the page to reconnect' });
    }
    await waitForText(page, /^loop-42-done$/m, { timeout: 60_000 });
    const st = await termState(page);
    assert.ok(st.resumed >= 3, `the reconnects did not resume with since= (resumed ${st.resumed} of ${st.hellos - 1})`);
    assert.equal(st.lastHello.resumed, true);
    assertRun(await lineNumbers(page), 300, 'after reconnects');
    assertClean(context);
  });
});

test('back-forward cache: the page comes back and resumes with since=', async () => {
  await withServerAndBrowser({ browser: { ignoreDefaultArgs: ['--disable-back-forward-cache'] } }, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'bfcache' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    await typeInTerminal(page, LOOP(200, 0.02));
    await waitForText(page, /^line-20$/m);
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    await page.goto(`${server.base}/`);
    await page.goBack({ waitUntil: 'commit' });
    await waitForTerminal(page);
    // The page closes its socket on pagehide so that it may enter the cache:
    // it must come back from there (the same document), not be reloaded.
    const restored = await page.evaluate(() => window.__sameDocument === true);
    assert.ok(restored, 'the browser reloaded the page instead of restoring it from the back-forward cache');
    assert.ok((await termState(page)).bfcacheRestores >= 1, 'restored from the cache without a pageshow');
    await waitForText(page, /^loop-42-done$/m, { timeout: 60_000 });
    assertRun(await lineNumbers(page), 200, 'after the back-forward cache');
    assert.equal((await termState(page)).lastHello.resumed, true);
    assertClean(context);
  });
});

test('a 50 MB flood: the page stays responsive and ends showing the last line', async () => {
  // What is measured is the page. Here the server (a debug build), the
  // flooding program and the browser share the machine's cores, which a
  // browser does not do with the server it talks to: the server runs at a
  // lower CPU priority, so that its work does not show as the page's delay.
  await withServerAndBrowser({ nice: 10 }, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'flood' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    // seq 1 6500000 prints 50.9 MB.
    await typeInTerminal(page, 'seq 1 6500000; echo flood-$((6*7))-end\n');
    const deadline = Date.now() + 240_000;
    let worst = 0;
    let probes = 0;
    let done = false;
    while (!done) {
      assert.ok(Date.now() < deadline, 'the flood did not end within 240 s');
      const t0 = Date.now();
      const tail = await page.evaluate(() => window.__ptyhub.tail(40));
      const ms = Date.now() - t0;
      probes++;
      worst = Math.max(worst, ms);
      assert.ok(ms < 1000, `the page took ${ms} ms to answer during the flood`);
      done = /^flood-42-end$/m.test(tail);
      if (!done) await new Promise((r) => setTimeout(r, 100));
    }
    const st = await termState(page);
    assert.ok(st.bytes > 500_000, `the page saw only ${st.bytes} bytes`);
    // Flow control held the page's backlog near its 1 MiB high watermark
    // (without it, most of the 50 MB would pile up in the page).
    assert.ok(st.maxPending < 8 * 1024 * 1024, `${st.maxPending} bytes waited in the page for xterm.js`);
    const tail = await termTail(page, 40);
    assert.match(tail, /^6500000$/m, 'the last number is not on the screen');
    assert.match(tail, /^flood-42-end$/m);
    // And the terminal still works.
    await typeInTerminal(page, 'echo after-$((6*7))\n');
    await waitForText(page, /^after-42$/m);
    await page.screenshot({ path: artifactPath('terminal-after-flood.png') });
    console.log(`# flood: ${probes} probes, worst ${worst} ms, ${st.bytes} bytes to the page, ${st.pauses} pauses, ${st.lagged} lagged, max pending ${st.maxPending}`);
    assertClean(context);
  });
});

test('the on-screen Ctrl key then c interrupts sleep in a phone-sized viewport', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'phone' });
    const { context } = await signedInPage(browser, server, { viewport: { width: 390, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    assert.equal(await page.locator('#keyrow').isVisible(), true, 'no on-screen keys on a phone-sized screen');
    for (const k of ['Esc', 'Tab', 'Ctrl', 'Alt', '←', '↑', '↓', '→']) assert.equal(await page.locator(`#keyrow [data-key="${k}"]`).count(), 1, `no ${k} key`);

    // sleep 1001: the run's leftover check (sleep 100[0-9]) would catch it.
    await typeInTerminal(page, 'sleep 1001\n');
    await waitForText(page, /sleep 1001\s*$/m);
    // Ctrl-C must reach sleep, not the shell still reading its line: wait
    // until the shell runs it (once it is `sleep`, it owns the terminal).
    assert.ok(Number.isInteger(s.pid) && s.pid > 0, `the session has no pid: ${JSON.stringify(s.pid)}`);
    await waitFor(() => childCommands(s.pid).includes('sleep'), { message: `sleep to start under the shell (pid ${s.pid})` });

    await page.locator('#keyrow [data-key="Ctrl"]').tap();
    assert.equal((await termState(page)).keys.ctrl, true, 'Ctrl is not armed');
    assert.equal(await page.locator('#keyrow [data-key="Ctrl"]').getAttribute('aria-pressed'), 'true');
    await page.keyboard.type('c');
    assert.equal((await termState(page)).keys.ctrl, false, 'Ctrl stayed armed');
    // Interrupted: the shell takes the next command at once, not in 100 s.
    await typeInTerminal(page, 'echo back-$((6*7))\n');
    await waitForText(page, /^back-42$/m, { timeout: 10_000 });
    assert.ok(!childCommands(s.pid).includes('sleep'), 'sleep is still running');
    await page.screenshot({ path: artifactPath('terminal-phone.png') });
    // The dashboard on the same phone.
    await page.goto(`${server.base}/`);
    await waitForDashboard(page);
    await waitFor(() => page.locator(`tr[data-id="${s.id}"]`).isVisible(), { message: 'the session row' });
    await page.screenshot({ path: artifactPath('dashboard-phone.png'), fullPage: true });
    assertClean(context);
  });
});

test('without WebGL the terminal falls back to the default renderer', async () => {
  await withServerAndBrowser({ browser: { args: ['--disable-3d-apis'] } }, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'no-webgl' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    assert.equal((await termState(page)).renderer, 'dom');
    await waitForPrompt(page);
    await typeInTerminal(page, 'echo dom-$((6*7))\n');
    await waitForText(page, /^dom-42$/m);
    assertClean(context);
  });
});

test('WebGL draws the terminal when the GPU does; software WebGL gets the default renderer', async () => {
  // SwiftShader's WebGL, which Chromium no longer falls back to by itself
  // under --disable-gpu: WebGL 2 is there on every machine.
  await withServerAndBrowser({ browser: { args: ['--enable-unsafe-swiftshader'] } }, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'webgl' });
    // Headless Chromium has WebGL on SwiftShader (a CPU rasteriser) at best.
    const { context } = await signedInPage(browser, server);
    const soft = await openTerminal(context, server, s.id);
    const gl = await soft.evaluate(() => {
      const c = document.createElement('canvas').getContext('webgl2');
      const info = c?.getExtension('WEBGL_debug_renderer_info');
      return c ? String(info ? c.getParameter(info.UNMASKED_RENDERER_WEBGL) : '') : null;
    });
    assert.notEqual(gl, null, 'no WebGL 2 even on SwiftShader: the WebGL half cannot run');
    assert.equal((await termState(soft)).renderer, 'dom', `WebGL on ${gl} was used`);
    // The same browser, said to be a GPU: the WebGL renderer is used and draws.
    const { context: hw } = await signedInPage(browser, server);
    await hw.addInitScript(() => {
      const UNMASKED_RENDERER_WEBGL = 0x9246;
      const get = WebGL2RenderingContext.prototype.getParameter;
      WebGL2RenderingContext.prototype.getParameter = function (p) {
        return p === UNMASKED_RENDERER_WEBGL ? 'ANGLE (Test, Test GPU, OpenGL 4.6)' : get.call(this, p);
      };
    });
    const page = await openTerminal(hw, server, s.id);
    assert.equal((await termState(page)).renderer, 'webgl');
    await waitForPrompt(page);
    await typeInTerminal(page, 'echo webgl-$((6*7))\n');
    await waitForText(page, /^webgl-42$/m);
    assert.equal((await termState(page)).renderer, 'webgl', 'the WebGL renderer was dropped');
    assert.ok((await page.locator('#terminal .xterm-screen canvas').count()) > 0, 'no WebGL canvas');
    assertClean(context);
    assertClean(hw);
  });
});

test('read-only: ?readonly=1 watches without typing, the toggle turns typing back on', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'watch' });
    const { context } = await signedInPage(browser, server);
    const writer = await openTerminal(context, server, s.id);
    const watcher = await openTerminal(context, server, s.id, '?readonly=1');
    await waitForPrompt(writer);
    await waitForPrompt(watcher);
    assert.equal((await termState(watcher)).readonly, true);
    assert.equal(await watcher.locator('#readonly-toggle').getAttribute('aria-pressed'), 'true');

    await typeInTerminal(watcher, 'echo watcher-typed\n');
    await typeInTerminal(writer, 'echo writer-$((6*7))\n');
    await waitForText(watcher, /^writer-42$/m);
    assert.ok(!(await termText(writer)).includes('watcher-typed'), 'a read-only page could type');

    await watcher.click('#readonly-toggle');
    await waitFor(async () => {
      const st = await termState(watcher);
      return !st.readonly && st.connected;
    }, { message: 'the watcher to become a writer' });
    assert.ok(!new URL(watcher.url()).searchParams.has('readonly'));
    await typeInTerminal(watcher, 'echo now-$((6*7))\n');
    await waitForText(writer, /^now-42$/m);
    // No output was lost or doubled by switching.
    const count = (await termText(watcher)).split('\n').filter((l) => l === 'writer-42').length;
    assert.equal(count, 1);
    assertClean(context);
  });
});

test('copy (Ctrl+Shift+C) and paste (Ctrl+Shift+V) go through the clipboard', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'clipboard' });
    const { context } = await signedInPage(browser, server, { permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    await typeInTerminal(page, 'echo copy-me-$((6*7))\n');
    await waitForText(page, /^copy-me-42$/m);
    await page.evaluate(() => {
      const t = window.__ptyhub.term;
      const b = t.buffer.active;
      for (let i = b.length - 1; i >= 0; i--) {
        if (b.getLine(i).translateToString(true) === 'copy-me-42') {
          t.select(0, i, 'copy-me-42'.length);
          break;
        }
      }
    });
    await page.keyboard.press('Control+Shift+C');
    await waitFor(async () => (await page.evaluate(() => navigator.clipboard.readText())) === 'copy-me-42', { message: 'the selection in the clipboard' });

    await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((6*7))'));
    await page.keyboard.press('Control+Shift+V');
    await waitForText(page, 'echo pasted-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForText(page, /^pasted-42$/m);
    assertClean(context);
  });
});

test('screenshots of the dashboard and a terminal (tests/artifacts)', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const a = await server.createSession({ name: 'build' });
    await server.createSession({ name: 'logs' });
    const { context, page: dash } = await signedInPage(browser, server);
    const term = await openTerminal(context, server, a.id);
    const wide = (await termState(term)).cols;
    await term.setViewportSize({ width: 1000, height: 460 });
    await waitFor(
      async () => {
        const { cols } = await termState(term);
        return cols !== wide && (await server.session(a.id)).cols === cols;
      },
      { message: 'the session to take the smaller size' },
    );
    await waitForPrompt(term);
    await typeInTerminal(
      term,
      "printf '\\033]0;%s\\007' 'build: make -j2'; for c in 31 32 33 34 35 36; do printf '\\033[%sm%s\\033[0m ' $c colour-$c; done; echo; ls -la --color=auto /usr\n",
    );
    await waitForText(term, /colour-36/);
    await waitForPrompt(term);
    await waitFor(async () => (await term.title()) === 'build: make -j2', { message: 'the title' });
    await waitFor(async () => (await dash.locator('tbody tr[data-id]').count()) === 2, { message: 'two rows' });
    await waitFor(async () => (await dash.locator(`tr[data-id="${a.id}"] .c-clients`).textContent()) === '1', { message: 'the terminal counted as a client' });
    // A steady cursor: a blinking one may be caught in its off phase.
    await term.evaluate(() => {
      window.__ptyhub.term.options.cursorBlink = false;
    });
    await dash.screenshot({ path: artifactPath('dashboard.png'), fullPage: true });
    await term.screenshot({ path: artifactPath('terminal.png') });

    // Both in one small picture (docs/screenshot.png in the README is a copy).
    await dash.setViewportSize({ width: 1000, height: 200 });
    const shots = [await dash.screenshot({ fullPage: true }), await term.screenshot()];
    const composer = await browser.newContext({ viewport: { width: 1032, height: 200 } });
    try {
      const page = await composer.newPage();
      const imgs = shots.map((b) => `<img src="data:image/png;base64,${b.toString('base64')}">`).join('');
      await page.setContent(
        `<!doctype html><style>body{margin:0;padding:16px;background:#05070b;display:flex;flex-direction:column;gap:16px;width:max-content}img{display:block;border:1px solid #2a3140;border-radius:8px}</style>${imgs}`,
      );
      await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
      await page.screenshot({ path: artifactPath('overview.png'), fullPage: true });
    } finally {
      await composer.close();
    }
    await waitForTerminal(term);
    assertClean(context);
  });
});

test('the signal menu interrupts and terminates; the exit status is shown when the program ends', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'signals' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    const menu = page.locator('#signal-menu');
    const send = async (sig) => {
      await page.click('#signal-button');
      assert.equal(await menu.isVisible(), true, 'the signal menu did not open');
      await menu.locator(`[data-signal="${sig}"]`).click();
      assert.equal(await menu.isVisible(), false, 'the signal menu stayed open');
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGKILL', 'SIGHUP', 'SIGQUIT', 'SIGTSTP', 'SIGCONT']) {
      assert.equal(await menu.locator(`[data-signal="${sig}"]`).count(), 1, `no ${sig} in the menu`);
    }

    // SIGINT stops the foreground program, the shell stays.
    await typeInTerminal(page, 'sleep 1001\n');
    await waitFor(() => childCommands(s.pid).includes('sleep'), { message: 'sleep to start under the shell' });
    await send('SIGINT');
    await waitFor(() => !childCommands(s.pid).includes('sleep'), { message: 'SIGINT to end sleep' });
    await typeInTerminal(page, 'echo alive-$((6*7))\n');
    await waitForText(page, /^alive-42$/m);

    // SIGTERM to a program that is the session's own: the session ends and
    // the page says how.
    await typeInTerminal(page, 'exec sleep 1002\n');
    await waitFor(async () => (await server.session(s.id)).status !== 'starting' && readComm(s.pid) === 'sleep', { message: 'the shell to become sleep' });
    await send('SIGTERM');
    await waitFor(() => page.locator('#exit-banner').isVisible(), { timeout: 15_000, message: 'the exit banner' });
    assert.match(await page.locator('#exit-text').textContent(), /SIGTERM/);
    assert.equal(await page.locator('#session-status').textContent(), 'exited');
    assert.equal(await page.locator('#signal-button').isDisabled(), true, 'signals can still be sent to an ended session');

    // A program that exits by itself with a code.
    const t = await server.createSession({ name: 'exit-code' });
    const p2 = await openTerminal(context, server, t.id);
    await waitForPrompt(p2);
    await typeInTerminal(p2, 'exit 3\n');
    await waitFor(() => p2.locator('#exit-banner').isVisible(), { timeout: 15_000, message: 'the exit banner' });
    assert.match(await p2.locator('#exit-text').textContent(), /exited with code 3/);
    assert.deepEqual((await termState(p2)).exit, { code: 3, signal: null, reason: 'exited' });
    // The page does not reconnect in a loop to an ended session (checked
    // every 50 ms for a second: the first reconnect fails it).
    const connects = (await termState(p2)).connects;
    await holdsFor(async () => {
      assert.equal((await termState(p2)).connects, connects, 'the page kept reconnecting after the exit');
    }, 1000);
    assertClean(context);
  });
});

test('links in the output open in a new tab', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'links' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    const link = `${server.base}/healthz?from=terminal`;
    await typeInTerminal(page, `clear; echo "see ${link} for more"\n`);
    await waitForText(page, new RegExp(`^see ${link.replace(/[?.]/g, '\\$&')} for more$`, 'm'));
    // Where the link is on the screen, from the cell grid.
    const at = await page.evaluate((link) => {
      const t = window.__ptyhub.term;
      const b = t.buffer.active;
      for (let y = 0; y < t.rows; y++) {
        const line = b.getLine(b.viewportY + y)?.translateToString(true) ?? '';
        if (line.startsWith('see ')) {
          const r = document.querySelector('#terminal .xterm-screen').getBoundingClientRect();
          const w = r.width / t.cols;
          const h = r.height / t.rows;
          return { x: r.left + (line.indexOf(link) + 5.5) * w, y: r.top + (y + 0.5) * h };
        }
      }
      return null;
    }, link);
    assert.ok(at, 'the link line is not on the screen');
    await page.mouse.move(at.x - 20, at.y);
    await page.mouse.move(at.x, at.y);
    await waitFor(() => page.evaluate(() => getComputedStyle(document.querySelector('#terminal .xterm-screen')).cursor === 'pointer' || !!document.querySelector('#terminal .xterm-cursor-pointer')), { message: 'the pointer over the link' });
    const [tab] = await Promise.all([context.waitForEvent('page'), page.mouse.click(at.x, at.y)]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), link);
    // The new tab does not get a handle on the terminal page.
    assert.equal(await tab.evaluate(() => window.opener), null);
    assertClean(context);
  });
});

test('OSC 8 links open only with http(s); javascript: never runs', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'osc8' });
    const { context } = await signedInPage(browser, server);
    const page = await openTerminal(context, server, s.id);
    await waitForPrompt(page);
    const good = `${server.base}/healthz?from=osc8`;
    // Two hyperlinks (OSC 8) whose text is not a URL: one javascript:, one http:,
    // from a file the shell prints (typed escapes would be mangled).
    const dir = mkdtempSync(join(tmpdir(), 'ptyhub-osc8-'));
    const file = join(dir, 'links.txt');
    const osc8 = (uri, text) => `\x1b]8;;${uri}\x1b\\${text}\x1b]8;;\x1b\\`;
    writeFileSync(file, `JS ${osc8('javascript:window.__pwned=1', 'CLICK-JS')}\r\nOK ${osc8(good, 'CLICK-OK')}\r\n`);
    await typeInTerminal(page, `clear; cat ${file}\n`);
    await waitForText(page, /^OK CLICK-OK$/m);
    const where = (prefix) =>
      page.evaluate((prefix) => {
        const t = window.__ptyhub.term;
        const b = t.buffer.active;
        for (let y = 0; y < t.rows; y++) {
          const line = b.getLine(b.viewportY + y)?.translateToString(true) ?? '';
          if (line.startsWith(prefix)) {
            const r = document.querySelector('#terminal .xterm-screen').getBoundingClientRect();
            const w = r.width / t.cols;
            const h = r.height / t.rows;
            return { x: r.left + (prefix.length + 3.5) * w, y: r.top + (y + 0.5) * h };
          }
        }
        return null;
      }, prefix);
    const hoverAndClick = async (at) => {
      await page.mouse.move(at.x - 20, at.y);
      await page.mouse.move(at.x, at.y);
      await page.mouse.click(at.x, at.y);
    };
    // The javascript: link: clicked, nothing runs and no tab opens.
    let opened = 0;
    context.on('page', () => opened++);
    const js = await where('JS ');
    assert.ok(js, 'the JS line is not on the screen');
    await hoverAndClick(js);
    // The http: one: a new tab at its address.
    const ok = await where('OK ');
    assert.ok(ok, 'the OK line is not on the screen');
    await page.mouse.move(ok.x - 20, ok.y);
    await page.mouse.move(ok.x, ok.y);
    const [tab] = await Promise.all([context.waitForEvent('page'), page.mouse.click(ok.x, ok.y)]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), good);
    assert.equal(opened, 1, 'the javascript: link opened a tab');
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'javascript: ran');
    rmSync(dir, { recursive: true, force: true });
    assertClean(context);
  });
});

test('flow control: a page slower than the program pauses and resumes the stream', async () => {
  await withServerAndBrowser({}, async ({ server, browser }) => {
    const s = await server.createSession({ name: 'slow-page' });
    const { context } = await signedInPage(browser, server);
    const page = await context.newPage();
    // What the page tells the server, frame by frame.
    const sent = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && sent.push(f.payload)));
    await page.goto(`${server.base}/s/${s.id}`);
    await waitForTerminal(page);
    await waitForPrompt(page);
    // A slow phone: the page's CPU at a quarter of its speed, so xterm.js
    // parses slower than the program prints. (How fast the page answers is
    // the 50 MB flood's test: here the throttling is most of the delay.)
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    try {
      // seq 1 450000 prints 3.1 MB: three times the 1 MiB high watermark.
      await typeInTerminal(page, 'seq 1 450000; echo slow-$((6*7))-end\n');
      let worst = 0;
      await waitFor(
        async () => {
          const t0 = Date.now();
          const tail = await termTail(page, 5);
          worst = Math.max(worst, Date.now() - t0);
          return /^slow-42-end$/m.test(tail);
        },
        { timeout: 120_000, interval: 200, message: 'the end of the output' },
      );
      const st = await termState(page);
      const flow = sent.map((f) => JSON.parse(f).type).filter((t) => t === 'pause' || t === 'resume');
      console.log(`# slow page: worst answer ${worst} ms, ${st.pauses} pauses, max pending ${st.maxPending}, ${st.lagged} lagged`);
      assert.ok(flow.length >= 2, `the page never paused and resumed the stream: ${JSON.stringify(flow)}`);
      // Strictly alternating, starting with a pause and ending resumed.
      flow.forEach((t, i) => assert.equal(t, i % 2 ? 'resume' : 'pause', `flow commands out of order: ${JSON.stringify(flow)}`));
      assert.equal(flow.at(-1), 'resume');
      assert.equal(st.paused, false);
      assert.equal(st.pauses, flow.length / 2);
      assert.ok(st.maxPending > 1024 * 1024, 'the page paused below its high watermark');
      assert.match(await termTail(page, 5), /^450000$/m);
    } finally {
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    }
    // Still a working terminal.
    await typeInTerminal(page, 'echo after-$((6*7))\n');
    await waitForText(page, /^after-42$/m);
    assertClean(context);
  });
});
