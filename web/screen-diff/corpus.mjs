// The harness's corpus: the hand-written cases (cases.mjs), the recordings
// of real programs (tests/screen-diff/recordings/*.bin, made by
// tests/screen-diff/record.py) and `randoms` seeded random streams
// (random.mjs). Each: {name, kind, bytes, cols, rows}.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cases } from './cases.mjs';
import { randomStream } from './random.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function buildCorpus(randoms) {
  const corpus = [];
  for (const [name, text, cols = 80, rows = 24] of cases) {
    corpus.push({ name: `case-${name}`, kind: 'hand-written', bytes: Buffer.from(text, 'utf8'), cols, rows });
  }
  const recDir = join(root, 'tests/screen-diff/recordings');
  if (existsSync(recDir)) {
    for (const f of readdirSync(recDir).filter((f) => f.endsWith('.bin')).sort()) {
      const m = /\.(\d+)x(\d+)\.bin$/.exec(f);
      const [cols, rows] = m ? [Number(m[1]), Number(m[2])] : [80, 24];
      corpus.push({ name: `rec-${f.split('.')[0]}`, kind: 'recording', bytes: readFileSync(join(recDir, f)), cols, rows });
    }
  }
  for (let seed = 1; seed <= randoms; seed++) {
    const cols = 20 + (seed % 5) * 15;
    const rows = 5 + (seed % 4) * 5;
    corpus.push({ name: `random-${seed}`, kind: 'random', bytes: randomStream(seed, cols, rows), cols, rows });
  }
  return corpus;
}
