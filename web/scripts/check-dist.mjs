#!/usr/bin/env node
// Rebuilds the UI into a temporary directory and fails when the result
// differs from the committed web/dist (CI runs this after `npm ci`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listFiles } from './hash.mjs';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(web, 'dist');
const tmp = mkdtempSync(join(tmpdir(), 'ptyhub-dist-'));
const out = join(tmp, 'dist');
let failed = false;
try {
  const vite = join(web, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    console.error('check-dist: vite is not installed; run `npm ci` in web/ first');
    process.exit(2);
  }
  const run = (args) => {
    const r = spawnSync(process.execPath, args, { cwd: web, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`check-dist: \`node ${args.join(' ')}\` failed`);
      process.exit(2);
    }
  };
  run([vite, 'build', '--outDir', out, '--emptyOutDir']);
  run([join(web, 'scripts', 'hash.mjs'), out]);

  if (!existsSync(committed)) {
    console.error('check-dist: web/dist is missing; run `npm run build` in web/ and commit web/dist');
    process.exit(1);
  }
  const a = listFiles(committed);
  const b = listFiles(out);
  for (const f of new Set([...a, ...b])) {
    if (!a.includes(f)) {
      console.error(`check-dist: ${f} is built but not in the committed web/dist`);
      failed = true;
    } else if (!b.includes(f)) {
      console.error(`check-dist: web/dist/${f} is committed but no longer built`);
      failed = true;
    } else if (!readFileSync(join(committed, f)).equals(readFileSync(join(out, f)))) {
      console.error(`check-dist: web/dist/${f} differs from a fresh build`);
      failed = true;
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (failed) {
  console.error('check-dist: the committed bundle is stale: run `npm run build` in web/ and commit web/dist');
  process.exit(1);
}
console.log('check-dist: web/dist matches a fresh build');
