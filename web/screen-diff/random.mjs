// Seeded random byte streams for the harness: text (ASCII, wide, combining)
// mixed with the controls and sequences the server's screen models
// (cursor motion, erasing, insert/delete, scroll regions, SGR in all its
// forms, modes, charsets, tab stops, saved cursor, hyperlinks, the
// alternate screen). The same seed gives the same stream.

/** mulberry32: a small, well-mixed 32-bit PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomStream(seed, cols, rows) {
  return Buffer.from(randomTokens(seed, cols, rows).join(''), 'utf8');
}

/** The stream of `randomStream` as its pieces (for shrink.mjs). */
export function randomTokens(seed, cols, rows) {
  const r = rng(seed);
  const n = (k) => Math.floor(r() * k);
  const pick = (xs) => xs[n(xs.length)];
  const C = '\x1b[';
  const sgrs = [
    '0', '1', '2', '3', '4', '5', '7', '8', '9', '21', '22', '23', '24', '25', '27', '28', '29', '53', '55',
    '4:0', '4:1', '4:2', '4:3', '4:4', '4:5', '59',
    () => `${30 + n(8)}`, () => `${40 + n(8)}`, () => `${90 + n(8)}`, () => `${100 + n(8)}`, '39', '49',
    () => `38;5;${n(256)}`, () => `48;5;${n(256)}`, () => `38;2;${n(256)};${n(256)};${n(256)}`,
    () => `38:2::${n(256)}:${n(256)}:${n(256)}`, () => `48:5:${n(256)}`, () => `58;5;${n(256)}`,
    () => `58:2::${n(256)}:${n(256)}:${n(256)}`,
  ];
  const sgr = () => {
    const k = 1 + n(3);
    const ps = [];
    for (let i = 0; i < k; i++) { const s = pick(sgrs); ps.push(typeof s === 'function' ? s() : s); }
    return `${C}${ps.join(';')}m`;
  };
  const text = () => {
    const k = 1 + n(30);
    let s = '';
    for (let i = 0; i < k; i++) {
      const p = r();
      if (p < 0.8) s += String.fromCharCode(0x21 + n(94));
      else if (p < 0.88) s += ' ';
      else if (p < 0.95) s += pick(['中', '文', '字', '한', '😀']);
      else s += pick(['é', 'a\u0301', 'ß', 'ñ']);
    }
    return s;
  };
  const ops = [
    [30, text], [5, () => '\r\n'], [3, () => '\r'], [3, () => '\n'], [2, () => '\b'], [3, () => '\t'],
    [10, sgr],
    [6, () => `${C}${1 + n(rows + 2)};${1 + n(cols + 2)}H`],
    [2, () => `${C}${n(4)}${pick(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'd', '`'])}`],
    [2, () => `${C}${pick(['', '0', '1', '2'])}${pick(['J', 'K'])}`],
    [2, () => `${C}${n(5)}${pick(['@', 'P', 'X', 'L', 'M', 'S', 'T'])}`],
    [1, () => (r() < 0.5 ? `${C}r` : `${C}${1 + n(rows)};${1 + n(rows)}r`)],
    [3, () => `${C}${pick(['4', '?6', '?7', '?45', '?1004', '?25', '?1', '?2004', '?1000', '?1002', '?1006', '?1049', '?47', '?1047'])}${pick(['h', 'l'])}`],
    [1, () => pick(['\x1b=', '\x1b>'])],
    [2, () => `\x1b${pick(['(', ')', '*', '+'])}${pick(['0', 'B', 'A'])}`],
    [2, () => pick(['\x0e', '\x0f', '\x1bn', '\x1bo'])],
    [1, () => pick(['\x1bH', `${C}g`, `${C}3g`, `${C}${n(3)}I`, `${C}${n(3)}Z`])],
    [2, () => pick(['\x1b7', '\x1b8', '\x1bM', '\x1bD', '\x1bE'])],
    [1, () => (r() < 0.6 ? `\x1b]8;;https://e.x/${n(9)}\x07` : '\x1b]8;;\x07')],
    [1, () => `\x1b]2;title ${n(99)}\x07`],
    [1, () => `${C}${n(7)} q`],
    [1, () => `${C}${n(5)}b`],
  ];
  const total = ops.reduce((s, [w]) => s + w, 0);
  const out = [];
  const count = 50 + n(400);
  for (let i = 0; i < count; i++) {
    let p = r() * total;
    for (const [w, f] of ops) {
      p -= w;
      if (p < 0) { out.push(f()); break; }
    }
  }
  return out;
}
