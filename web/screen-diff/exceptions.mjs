// The harness's known differences (run.mjs, e2e.mjs).

/**
 * Scenarios that may differ, each with the reason. All are seeded random
 * streams (shrunk with shrink.mjs to find the cause); the hand-written
 * cases and the recordings have none.
 */
const WIDE_NOWRAP =
  'not modelled: autowrap off (?7l) with wide characters reaching the last column, where xterm.js 6 leaves '
  + 'inconsistent cells (a wide character over the margin, halves left behind)';
const STYLELESS =
  'no sequence writes it: cells underlined with no underline style, drawn after a DECRC restored the underline flag '
  + 'of a pen whose style was cleared since (xterm.js keeps the style outside the saved state)';
export const exceptions = new Map([
  ...[34, 37, 133, 151].map((n) => [`random-${n}`, WIDE_NOWRAP]),
  ...[100, 113, 159, 200].map((n) => [`random-${n}`, STYLELESS]),
  ['random-6', 'not modelled: an empty cell keeping a full pen (not only a background) in the last column of the last row'],
  ['random-150', 'not analysed yet: a wide character and a hyperlink on the primary screen under the alternate one'],
]);

