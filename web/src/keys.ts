// The row of on-screen keys for phones and tablets (Esc, Tab, Ctrl, Alt,
// arrows and a few symbols that phone keyboards hide). Ctrl and Alt are
// sticky: tap one, then type a key (on the on-screen row or the keyboard).

import type { Terminal } from '@xterm/xterm';
import { h } from './dom';

type Key =
  | { label: string; title: string; kind: 'mod'; mod: 'ctrl' | 'alt' }
  | { label: string; title: string; kind: 'arrow'; code: 'A' | 'B' | 'C' | 'D' }
  | { label: string; title: string; kind: 'text'; data: string };

const KEYS: Key[] = [
  { label: 'Esc', title: 'Escape', kind: 'text', data: '\x1b' },
  { label: 'Tab', title: 'Tab', kind: 'text', data: '\t' },
  { label: 'Ctrl', title: 'Control (applies to the next key)', kind: 'mod', mod: 'ctrl' },
  { label: 'Alt', title: 'Alt (applies to the next key)', kind: 'mod', mod: 'alt' },
  { label: '←', title: 'Left', kind: 'arrow', code: 'D' },
  { label: '↑', title: 'Up', kind: 'arrow', code: 'A' },
  { label: '↓', title: 'Down', kind: 'arrow', code: 'B' },
  { label: '→', title: 'Right', kind: 'arrow', code: 'C' },
  { label: '|', title: 'Pipe', kind: 'text', data: '|' },
  { label: '~', title: 'Tilde', kind: 'text', data: '~' },
  { label: '/', title: 'Slash', kind: 'text', data: '/' },
  { label: '-', title: 'Dash', kind: 'text', data: '-' },
];

/** The control character for Ctrl+ch, or null when there is none. */
export function ctrlChar(ch: string): string | null {
  if (ch.length !== 1) return null;
  const c = ch.charCodeAt(0);
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x40 && c <= 0x5f)) return String.fromCharCode(c & 0x1f);
  switch (ch) {
    case ' ':
    case '2':
      return '\x00';
    case '3':
      return '\x1b';
    case '4':
      return '\x1c';
    case '5':
      return '\x1d';
    case '6':
      return '\x1e';
    case '7':
    case '-':
      return '\x1f';
    case '?':
    case '8':
      return '\x7f';
    default:
      return null;
  }
}

export class KeyRow {
  readonly el: HTMLElement;
  private ctrl = false;
  private alt = false;
  private readonly modButtons = new Map<'ctrl' | 'alt', HTMLButtonElement>();

  constructor(
    private readonly term: Terminal,
    private readonly send: (data: string) => void,
  ) {
    this.el = h('div', { class: 'keyrow', id: 'keyrow', role: 'toolbar', aria: { label: 'Terminal keys' } });
    for (const k of KEYS) {
      const b = h('button', {
        type: 'button',
        class: k.kind === 'mod' ? 'key key-mod' : 'key',
        text: k.label,
        title: k.title,
        dataset: { key: k.label },
        aria: k.kind === 'mod' ? { pressed: 'false', label: k.title } : { label: k.title },
      });
      // Keep the focus (and so the phone's keyboard) on the terminal.
      b.addEventListener('pointerdown', (e) => e.preventDefault());
      b.addEventListener('mousedown', (e) => e.preventDefault());
      b.addEventListener('click', () => this.press(k));
      if (k.kind === 'mod') this.modButtons.set(k.mod, b);
      this.el.appendChild(b);
    }
  }

  private press(k: Key): void {
    if (k.kind === 'mod') {
      if (k.mod === 'ctrl') this.ctrl = !this.ctrl;
      else this.alt = !this.alt;
      this.sync();
    } else if (k.kind === 'arrow') {
      const mod = 1 + (this.alt ? 2 : 0) + (this.ctrl ? 4 : 0);
      let seq: string;
      if (mod > 1) seq = `\x1b[1;${mod}${k.code}`;
      else seq = this.term.modes.applicationCursorKeysMode ? `\x1bO${k.code}` : `\x1b[${k.code}`;
      this.reset();
      this.send(seq);
    } else {
      this.send(this.transform(k.data));
    }
    this.term.focus();
  }

  /** Apply the armed modifiers to data typed on the keyboard, then disarm. */
  transform(data: string): string {
    if (!this.ctrl && !this.alt) return data;
    let out = data;
    if (this.ctrl) {
      const c = ctrlChar(data);
      if (c !== null) out = c;
    }
    if (this.alt) out = '\x1b' + out;
    this.reset();
    return out;
  }

  get armed(): { ctrl: boolean; alt: boolean } {
    return { ctrl: this.ctrl, alt: this.alt };
  }

  private reset(): void {
    this.ctrl = false;
    this.alt = false;
    this.sync();
  }

  private sync(): void {
    for (const [mod, b] of this.modButtons) {
      const on = mod === 'ctrl' ? this.ctrl : this.alt;
      b.setAttribute('aria-pressed', String(on));
      b.classList.toggle('armed', on);
    }
  }
}
