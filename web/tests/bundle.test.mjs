// The production bundle that the binary serves carries no test hook; the
// test build the other browser tests run (tests/.build) is the same source
// with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { TEST_BUNDLE, WEB_DIR, startServer } from './helpers.mjs';

test('the served bundle (app.js, player.js) is dist/ and has no window.__ptyhub; the test build has it', async () => {
  const server = await startServer();
  try {
    const r = await fetch(`${server.base}/assets/app.js`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(r.status, 200);
    const served = await r.text();
    assert.equal(served, readFileSync(join(WEB_DIR, 'dist', 'assets', 'app.js'), 'utf8'), 'the binary serves dist/assets/app.js');
    assert.ok(!served.includes('__ptyhub'), 'the production bundle exposes the test hook');
    assert.ok(readFileSync(TEST_BUNDLE, 'utf8').includes('__ptyhub'), 'the test build lacks the hook');
    // asciinema-player, the replay page's own file, is dist's too.
    const player = await fetch(`${server.base}/assets/player.js`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(player.status, 200);
    assert.equal(await player.text(), readFileSync(join(WEB_DIR, 'dist', 'assets', 'player.js'), 'utf8'), 'the binary serves dist/assets/player.js');
  } finally {
    await server.stop();
  }
});
