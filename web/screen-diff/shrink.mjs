// Shrinks a failing random stream of the harness to a minimal list of its
// pieces that still differs (a debugging aid, not run by CI):
//   node web/screen-diff/shrink.mjs SEED [--bin PATH] [--keep REGEX] [--out FILE]
// --out writes the shrunk stream's bytes to FILE.
// With --keep, a trial counts only if one of its differences matches REGEX
// (so that the shrunk stream keeps the difference looked for, not another).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { randomTokens } from './random.mjs';
import { diff, feed, state, terminal } from './state.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const seed = Number(process.argv[2]);
const i = process.argv.indexOf('--bin');
const bin = i > 0 ? process.argv[i + 1] : join(root, 'target/debug/examples/screen-snapshot');
const k = process.argv.indexOf('--keep');
const o = process.argv.indexOf('--out');
const keep = k > 0 ? new RegExp(process.argv[k + 1], 'u') : null;
const cols = 20 + (seed % 5) * 15;
const rows = 5 + (seed % 4) * 5;
const dir = mkdtempSync(join(tmpdir(), 'shrink-'));

async function differs(tokens) {
  const bytes = Buffer.from(tokens.join(''), 'utf8');
  const f = join(dir, `s.${cols}x${rows}.bin`);
  writeFileSync(f, bytes);
  execFileSync(bin, [dir, f]);
  const raw = terminal(cols, rows);
  const rebuilt = terminal(cols, rows);
  await feed(raw, bytes);
  await feed(rebuilt, readFileSync(join(dir, 's.snap')));
  const d = diff(state(raw), state(rebuilt), 1000);
  raw.dispose();
  rebuilt.dispose();
  if (keep && !d.notes.some((n) => keep.test(n))) return null;
  return d.cells + d.other > 0 ? d : null;
}

/** Drops pieces of `tokens` (halves, quarters, … single pieces) while it still differs. */
async function shrink(tokens) {
  for (let chunk = Math.ceil(tokens.length / 2); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    for (let at = 0; at < tokens.length; ) {
      const trial = tokens.slice(0, at).concat(tokens.slice(at + chunk));
      if (trial.length && (await differs(trial))) tokens = trial;
      else at += chunk;
    }
  }
  return tokens;
}

let tokens = randomTokens(seed, cols, rows);
if (!(await differs(tokens))) {
  console.log('no difference');
  process.exit(0);
}
tokens = await shrink(tokens);
// Then the text pieces one character (or escape sequence) at a time.
const piece = /\x1b\][^\x07]*\x07|\x1b\[[^@-~]*[@-~]|\x1b[ -\/]*[0-~]|[^]/gu;
tokens = await shrink(tokens.flatMap((t) => t.match(piece)));
const d = await differs(tokens);
console.log(`${cols}x${rows}:`, JSON.stringify(tokens.join('')));
if (o > 0) writeFileSync(process.argv[o + 1], tokens.join(''));
for (const n of d.notes.slice(0, 8)) console.log('   ', n);
rmSync(dir, { recursive: true, force: true });
