// What the harness compares of an @xterm/headless terminal: every cell of
// the visible rows of the active buffer (and of the normal buffer under the
// alternate one), with its characters, width, colours, attributes,
// underline style and colour and hyperlink; the line wrap flags; the
// cursor; the modes; the title; the scroll region, tab stops, saved cursor,
// character sets and the current pen (what the program's next output is
// drawn with). Reads xterm.js internals (`_core`) where the public API has
// no accessor; pinned by the lockfile.

import xterm from '@xterm/headless';
import unicode11 from '@xterm/addon-unicode11';

const { Terminal } = xterm;

/** Writes `data` (Uint8Array) and resolves when parsed. */
export function feed(term, data) {
  return new Promise((resolve) => term.write(data, resolve));
}

/** A terminal as ptyhub's web client sets it up (Unicode 11 widths). */
export function terminal(cols, rows) {
  const t = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 100000 });
  t.loadAddon(new unicode11.Unicode11Addon());
  t.unicode.activeVersion = '11';
  return t;
}

const HAS_EXTENDED = 0x10000000;

/**
 * A colour as xterm.js renders it: its mode (default, 16, 256, RGB) and
 * the bits of its value that mode uses (xterm.js can leave stray bits of a
 * previous RGB value in an indexed colour; its renderer ignores them).
 */
function colour(v) {
  const mode = (v >>> 24) & 3;
  const value = mode === 3 ? v & 0xffffff : mode ? v & 0xff : 0;
  return `${['d', 'p16', 'p256', 'rgb'][mode]}:${value}`;
}

function attrKey(core, fg, bg, ext) {
  const extended = (bg & HAS_EXTENDED) !== 0;
  const underline = (fg & 0x10000000) !== 0; // FgFlags.UNDERLINE
  const style = extended && underline ? ext.underlineStyle : underline ? 1 : 0;
  const ucolour = extended ? ext.underlineColor : -1;
  const urlId = extended ? ext.urlId : 0;
  const url = urlId ? core._oscLinkService.getLinkData(urlId)?.uri ?? '?' : '';
  // -1 and mode 0 both mean "the text colour" (never set, or SGR 59);
  // xterm.js 6 stores SGR 59's -1 masked, as 0x3ffffff (which reads as RGB
  // white): a bug, taken here as what SGR 59 means.
  const ulc = ucolour === -1 || ucolour === 0x3ffffff ? 'd:0' : colour(ucolour);
  const fgFlags = (fg >>> 26) & 0x3f;
  const bgFlags = (bg >>> 26) & 0x3f & ~(HAS_EXTENDED >>> 26);
  return `fg=${colour(fg)} bg=${colour(bg)} flags=${fgFlags}/${bgFlags} ul=${style} ulc=${ulc} url=${url}`;
}

function charsetName(core, cs) {
  if (cs === undefined || cs === null) return 'ascii';
  if (cs['q'] === '─') return 'dec-graphics';
  if (cs['#'] === '£') return 'uk';
  return JSON.stringify(cs).slice(0, 40);
}

function bufferState(term, buf, core) {
  const rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buf.lines.get(buf.ybase + y);
    const cells = [];
    let cell;
    for (let x = 0; x < term.cols; x++) {
      cell = line.loadCell(x, cell ?? new (term.buffer.active.getNullCell().constructor)());
      cells.push(`${JSON.stringify(cell.getChars())} w=${cell.getWidth()} ${attrKey(core, cell.fg, cell.bg, cell.extended)}`);
    }
    rows.push({ wrapped: line.isWrapped, cells });
  }
  const saved = buf.savedCurAttrData;
  return {
    rows,
    cursor: `${buf.y},${buf.x}`,
    region: `${buf.scrollTop},${buf.scrollBottom}`,
    tabs: Object.keys(buf.tabs).filter((k) => buf.tabs[k]).join(','),
    saved: `${Math.max(buf.savedY - buf.ybase, 0)},${buf.savedX} ${attrKey(core, saved.fg, saved.bg, saved.extended)} charset=${charsetName(core, buf.savedCharset)}`,
  };
}

/** The comparable state of `term` (see the top of this file). */
export function state(term) {
  const core = term._core;
  const buffers = core.buffers;
  const alt = buffers.active === buffers.alt;
  const pen = core._inputHandler._curAttrData;
  const cs = core._charsetService;
  const m = term.modes;
  const modes = {
    ...m,
    cursorHidden: core.coreService.isCursorHidden,
    mouseEncoding: core.coreMouseService.activeEncoding,
    cursorStyle: `${core.optionsService.rawOptions.cursorStyle}/${core.optionsService.rawOptions.cursorBlink}`,
    alternate: alt,
  };
  return {
    modes,
    title: core._inputHandler._windowTitle,
    pen: attrKey(core, pen.fg, pen.bg, pen.extended),
    charsets: `glevel=${cs.glevel} ${[0, 1, 2, 3].map((i) => charsetName(core, cs._charsets[i])).join(' ')}`,
    active: bufferState(term, buffers.active, core),
    normal: alt ? bufferState(term, buffers.normal, core) : null,
  };
}

/** The lines `/screen` should show: the active buffer's rows, trimmed. */
export function lines(term) {
  const b = term.buffer.active;
  const out = [];
  for (let y = 0; y < term.rows; y++) out.push(b.getLine(b.baseY + y).translateToString(true).replace(/\s+$/u, ''));
  return out;
}

/**
 * Whether two attribute keys agree. xterm.js drops a hyperlink's URI once
 * no row holding it is left (erasing the rows clears their markers) while
 * the pen, and text written with it afterwards, keep the link's id: a
 * dangling link (`url=?`) on the raw side, which no snapshot can make,
 * matches any link.
 */
function same(a, b) {
  if (a === b) return true;
  if (!a.includes('url=?')) return false;
  const strip = (k) => k.replace(/url=\S*/, '');
  return strip(a) === strip(b);
}

/** Differences between two states, as readable strings (at most `max`). */
export function diff(a, b, max = 12) {
  const out = [];
  let cells = 0;
  let other = 0;
  const note = (s) => { if (!s.includes(' cell ')) other++; if (out.length < max) out.push(s); };
  for (const k of Object.keys(a.modes)) if (a.modes[k] !== b.modes[k]) note(`mode ${k}: ${a.modes[k]} vs ${b.modes[k]}`);
  for (const k of ['title', 'pen', 'charsets']) if (!same(a[k], b[k])) note(`${k}: ${a[k]} vs ${b[k]}`);
  for (const which of ['active', 'normal']) {
    const x = a[which], y = b[which];
    if (!x && !y) continue;
    if (!x || !y) { note(`${which} buffer: present in one only`); continue; }
    for (const k of ['cursor', 'region', 'tabs', 'saved']) if (!same(x[k], y[k])) note(`${which} ${k}: ${x[k]} vs ${y[k]}`);
    x.rows.forEach((row, r) => {
      if (row.wrapped !== y.rows[r].wrapped) note(`${which} row ${r} wrapped: ${row.wrapped} vs ${y.rows[r].wrapped}`);
      row.cells.forEach((c, col) => {
        if (!same(c, y.rows[r].cells[col])) {
          cells++;
          note(`${which} cell ${r},${col}: ${c} vs ${y.rows[r].cells[col]}`);
        }
      });
    });
  }
  return { notes: out, cells, other };
}
