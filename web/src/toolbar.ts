// The terminal view's top bar: the session's name, status and title, the
// terminal size, the connection indicator, the signal menu, the read-only
// toggle and the read-only share link.

import type { Session } from './api';
import type { ConnState } from './connection';
import { h, icon, ICONS, setText } from './dom';
import { shortId } from './format';

const SIGNALS: Array<[string, string]> = [
  ['SIGINT', 'Interrupt (Ctrl-C)'],
  ['SIGTERM', 'Ask to terminate'],
  ['SIGHUP', 'Hang up'],
  ['SIGKILL', 'Kill at once'],
  ['SIGQUIT', 'Quit (Ctrl-\\)'],
  ['SIGTSTP', 'Suspend (Ctrl-Z)'],
  ['SIGCONT', 'Continue'],
  ['SIGUSR1', 'User signal 1'],
  ['SIGUSR2', 'User signal 2'],
  ['SIGWINCH', 'Window changed'],
];

/** What the bar's controls ask of the view. */
export interface ToolbarActions {
  /** A signal picked from the menu (the menu is closed by then). */
  signal(sig: string): void;
  toggleReadonly(): void;
  /** Copy the read-only link. */
  share(): void;
}

export class Toolbar {
  readonly el: HTMLElement;
  private readonly nameEl: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly titleEl: HTMLElement;
  private readonly sizeEl: HTMLElement;
  private readonly connEl: HTMLElement;
  private readonly connText: HTMLElement;
  private readonly signalBtn: HTMLButtonElement;
  private readonly signalMenu: HTMLElement;
  private readonly roBtn: HTMLButtonElement;

  constructor(id: string, readonlyUrl: string, wantReadonly: boolean, actions: ToolbarActions) {
    this.nameEl = h('span', { class: 'tb-name', id: 'session-name', text: shortId(id) });
    this.statusEl = h('span', { class: 'badge', id: 'session-status', text: 'connecting' });
    this.titleEl = h('span', { class: 'tb-title', id: 'session-title' });
    this.sizeEl = h('span', { class: 'tb-size', id: 'term-size', title: 'Terminal size (columns × rows)' });
    this.connText = h('span', { class: 'conn-text' });
    this.connEl = h('span', { class: 'conn', id: 'conn', role: 'status', aria: { live: 'polite' } }, h('span', { class: 'dot' }), this.connText);

    this.signalMenu = h('div', { class: 'menu', id: 'signal-menu', role: 'menu', hidden: true });
    for (const [sig, what] of SIGNALS) {
      this.signalMenu.appendChild(
        h(
          'button',
          { type: 'button', class: 'menu-item', role: 'menuitem', dataset: { signal: sig }, on: { click: () => { this.closeMenu(); actions.signal(sig); } } },
          h('span', { class: 'mono', text: sig }),
          h('span', { class: 'muted', text: what }),
        ),
      );
    }
    this.signalBtn = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-ghost',
        id: 'signal-button',
        title: 'Send a signal to the foreground program',
        aria: { haspopup: 'menu', expanded: 'false' },
        on: { click: (e) => { e.stopPropagation(); this.toggleMenu(); } },
      },
      icon(ICONS.bolt),
      h('span', { class: 'btn-label', text: 'Signal' }),
    );
    this.roBtn = h(
      'button',
      { type: 'button', class: 'btn btn-ghost', id: 'readonly-toggle', aria: { pressed: String(wantReadonly) }, on: { click: () => actions.toggleReadonly() } },
      icon(ICONS.eye),
      h('span', { class: 'btn-label', text: 'Read-only' }),
    );
    const shareLink = h(
      'a',
      {
        class: 'btn btn-ghost',
        id: 'share-readonly',
        href: readonlyUrl,
        title: 'Copy a link that opens this session read-only, for watching',
        on: { click: (e) => { e.preventDefault(); actions.share(); } },
      },
      icon(ICONS.link),
      h('span', { class: 'btn-label', text: 'Share read-only' }),
    );

    this.el = h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'tb-home', href: '/', title: 'All sessions' }, icon(ICONS.back, 18), h('span', { class: 'brand', text: 'ptyhub' })),
      h('div', { class: 'tb-session' }, this.nameEl, this.statusEl, this.titleEl),
      h('div', { class: 'tb-spacer' }),
      this.sizeEl,
      this.connEl,
      h('div', { class: 'menu-wrap' }, this.signalBtn, this.signalMenu),
      this.roBtn,
      shareLink,
    );

    document.addEventListener('click', () => this.closeMenu());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.closeMenu();
    });
  }

  showSession(s: Session): void {
    setText(this.nameEl, s.name || s.provider || shortId(s.id));
    this.nameEl.title = `${s.name || ''} (${s.id})`.trim();
    setText(this.statusEl, s.status);
    this.statusEl.dataset.status = s.status;
    this.statusEl.className = `badge badge-${s.status}`;
  }

  showTitle(t: string): void {
    setText(this.titleEl, t);
    this.titleEl.title = t;
  }

  showSize(cols: number, rows: number): void {
    setText(this.sizeEl, `${cols}×${rows}`);
  }

  showConn(state: ConnState, text: string): void {
    this.connEl.dataset.state = state;
    setText(this.connText, text);
  }

  /** ro: this page is read-only (asked for, or all the login allows); the session may have ended. */
  showReadonly(ro: boolean, serverReadonly: boolean, exited: boolean): void {
    this.roBtn.setAttribute('aria-pressed', String(ro));
    this.roBtn.classList.toggle('active', ro);
    this.roBtn.disabled = serverReadonly || exited;
    this.roBtn.title = serverReadonly
      ? 'This login only allows watching'
      : ro
        ? 'Watching only: click to type again'
        : 'Watch without typing (no input, resize or signals)';
    this.signalBtn.disabled = ro || exited;
  }

  private toggleMenu(): void {
    if (this.signalMenu.hidden) {
      this.signalMenu.hidden = false;
      this.signalBtn.setAttribute('aria-expanded', 'true');
      (this.signalMenu.querySelector('button') as HTMLButtonElement | null)?.focus();
    } else this.closeMenu();
  }

  private closeMenu(): void {
    if (this.signalMenu.hidden) return;
    this.signalMenu.hidden = true;
    this.signalBtn.setAttribute('aria-expanded', 'false');
  }
}
