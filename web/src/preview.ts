// A session's live screen preview on the dashboard: its last lines, in
// colour, small. The lines come from the server's `session_preview` events
// (`/api/events?preview_lines=N`, at most one a second per session, only
// when its screen changed): no WebSocket per session. Text is set as text,
// never as HTML; colours are inline styles from the xterm palette.

import type { PreviewColor, PreviewRun } from './generated/api';

/** Lines asked of the server for each session. */
export const PREVIEW_LINES = 6;

// xterm.js's default theme for the 16 named colours (what the terminal
// page shows), then the 6×6×6 cube and the grey ramp.
const BASE16 = ['#000000', '#cd3131', '#0dbc79', '#e5e510', '#2472c8', '#bc3fbc', '#11a8cd', '#e5e5e5', '#666666', '#f14c4c', '#23d18b', '#f5f543', '#3b8eea', '#d670d6', '#29b8db', '#ffffff'];

function indexed(i: number): string {
  if (i < 16) return BASE16[i] ?? '';
  if (i < 232) {
    const n = i - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    const hex = (v: number) => level(v).toString(16).padStart(2, '0');
    return `#${hex(Math.floor(n / 36))}${hex(Math.floor(n / 6) % 6)}${hex(n % 6)}`;
  }
  const g = (8 + (i - 232) * 10).toString(16).padStart(2, '0');
  return `#${g}${g}${g}`;
}

/** A preview colour as CSS; `null` for the default. */
export function cssColor(c: PreviewColor | null | undefined): string | null {
  if (c === null || c === undefined) return null;
  if (typeof c === 'number') return c >= 0 && c <= 255 ? indexed(c) : null;
  return /^#[0-9a-fA-F]{6}$/.test(c) ? c : null;
}

function span(run: PreviewRun): HTMLElement | Text {
  let fg = cssColor(run.fg);
  let bg = cssColor(run.bg);
  if (run.inverse) [fg, bg] = [bg ?? 'var(--preview-bg)', fg ?? 'var(--preview-fg)'];
  if (!fg && !bg && !run.bold && !run.dim && !run.italic && !run.underline) return document.createTextNode(run.text);
  const el = document.createElement('span');
  el.textContent = run.text;
  if (fg) el.style.color = fg;
  if (bg) el.style.backgroundColor = bg;
  if (run.bold) el.style.fontWeight = '700';
  if (run.dim) el.style.opacity = '0.6';
  if (run.italic) el.style.fontStyle = 'italic';
  if (run.underline) el.style.textDecoration = 'underline';
  return el;
}

/** Shows `lines` in `el` (a `pre`), replacing what it showed. */
export function renderPreview(el: HTMLElement, lines: PreviewRun[][]): void {
  const frag = document.createDocumentFragment();
  lines.forEach((line) => {
    const div = document.createElement('div');
    div.className = 'preview-line';
    for (const run of line) div.appendChild(span(run));
    if (line.length === 0) div.appendChild(document.createTextNode(' '));
    frag.appendChild(div);
  });
  el.replaceChildren(frag);
}
