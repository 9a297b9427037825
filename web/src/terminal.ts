// The terminal view at /s/{id}: xterm.js attached to one session over the
// ptyhub.v1 WebSocket protocol (spec section 4).

import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebglAddon } from '@xterm/addon-webgl';
import { api, ApiError, isEnded, type ExitInfo, type Session } from './api';
import { h, icon, ICONS, replace, setText } from './dom';
import { exitSentence, shortId } from './format';
import { FlowControl, StreamPosition } from './flow';
import { KeyRow } from './keys';
import { Toast } from './toast';

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

const THEME: ITheme = {
  background: '#0b0e14',
  foreground: '#d6dde6',
  cursor: '#58a6ff',
  cursorAccent: '#0b0e14',
  selectionBackground: '#264f78',
  black: '#1c2128',
  red: '#ff7b72',
  green: '#3fb950',
  yellow: '#d29922',
  blue: '#58a6ff',
  magenta: '#bc8cff',
  cyan: '#39c5cf',
  white: '#b1bac4',
  brightBlack: '#6e7681',
  brightRed: '#ffa198',
  brightGreen: '#56d364',
  brightYellow: '#e3b341',
  brightBlue: '#79c0ff',
  brightMagenta: '#d2a8ff',
  brightCyan: '#56d4dd',
  brightWhite: '#f0f6fc',
};

const FONT =
  'ui-monospace, "SF Mono", "Cascadia Mono", "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", "Noto Sans Mono", monospace';

/** The most bytes given to one term.write() call (see onOutput). */
const WRITE_PIECE = 8 * 1024;
const PING_EVERY_MS = 10_000;
const DEAD_AFTER_MS = 25_000;
const MAX_BACKOFF_MS = 5_000;

type ConnState = 'connecting' | 'live' | 'waiting' | 'ended' | 'gone' | 'unauthorized' | 'hidden';

interface HelloEvent {
  type: 'hello';
  session: Session;
  readonly: boolean;
  offset: number;
  resumed: boolean;
  snapshot_bytes: number;
}

type ServerEvent =
  | HelloEvent
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'title'; title: string }
  | { type: 'lagged'; dropped_bytes: number; offset: number; snapshot_bytes: number }
  | { type: 'exit'; exit: ExitInfo | null; session?: Session }
  | { type: 'error'; error: { code: string; message: string } }
  | { type: 'pong' }
  | { type: 'status'; session: Session };

const encoder = new TextEncoder();

export function mountTerminal(root: HTMLElement, id: string): void {
  new TerminalView(root, id);
}

class TerminalView {
  // Page
  private readonly nameEl: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly titleEl: HTMLElement;
  private readonly sizeEl: HTMLElement;
  private readonly connEl: HTMLElement;
  private readonly connText: HTMLElement;
  private readonly signalBtn: HTMLButtonElement;
  private readonly signalMenu: HTMLElement;
  private readonly roBtn: HTMLButtonElement;
  private readonly shareLink: HTMLAnchorElement;
  private readonly banner: HTMLElement;
  private readonly bannerText: HTMLElement;
  private readonly wrap: HTMLElement;
  private readonly toast = new Toast();
  private readonly keys: KeyRow;

  // Terminal
  private readonly term: Terminal;
  private readonly fit = new FitAddon();
  private renderer: 'webgl' | 'dom' = 'dom';
  private webgl: WebglAddon | null = null;

  // Connection
  private ws: WebSocket | null = null;
  private gotHello = false;
  private state: ConnState = 'connecting';
  private attempts = 0;
  private retryTimer: number | undefined;
  private retryAt = 0;
  private countdownTimer: number | undefined;
  private pingTimer: number | undefined;
  private lastAlive = 0;
  private readonly position = new StreamPosition();
  private readonly flow: FlowControl;
  private wroteAnything = false;

  // Session
  private session: Session | null = null;
  private wantReadonly: boolean;
  private serverReadonly = false;
  private exited = false;
  private exit: ExitInfo | null = null;
  private programTitle = '';
  private lastSentSize = '';
  private fitScheduled = false;

  // For tests and debugging (window.__ptyhub).
  private readonly stats = { hellos: 0, resumed: 0, snapshots: 0, lagged: 0, connects: 0, bytes: 0, lastHello: null as null | Omit<HelloEvent, 'session' | 'type'>, bfcacheRestores: 0 };

  constructor(root: HTMLElement, private readonly id: string) {
    this.wantReadonly = new URLSearchParams(location.search).get('readonly') === '1';
    this.flow = new FlowControl((cmd) => this.sendJson({ type: cmd }));
    document.body.classList.add('term-page');
    document.title = `${shortId(id)} · ptyhub`;

    // Top bar
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
          { type: 'button', class: 'menu-item', role: 'menuitem', dataset: { signal: sig }, on: { click: () => this.sendSignal(sig) } },
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
      { type: 'button', class: 'btn btn-ghost', id: 'readonly-toggle', aria: { pressed: String(this.wantReadonly) }, on: { click: () => this.toggleReadonly() } },
      icon(ICONS.eye),
      h('span', { class: 'btn-label', text: 'Read-only' }),
    );
    this.shareLink = h(
      'a',
      {
        class: 'btn btn-ghost',
        id: 'share-readonly',
        href: this.readonlyUrl(),
        title: 'Copy a link that opens this session read-only, for watching',
        on: { click: (e) => { e.preventDefault(); void this.copyShareLink(); } },
      },
      icon(ICONS.link),
      h('span', { class: 'btn-label', text: 'Share read-only' }),
    );

    const top = h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'tb-home', href: '/', title: 'All sessions' }, icon(ICONS.back, 18), h('span', { class: 'brand', text: 'ptyhub' })),
      h('div', { class: 'tb-session' }, this.nameEl, this.statusEl, this.titleEl),
      h('div', { class: 'tb-spacer' }),
      this.sizeEl,
      this.connEl,
      h('div', { class: 'menu-wrap' }, this.signalBtn, this.signalMenu),
      this.roBtn,
      this.shareLink,
    );

    this.bannerText = h('span', { class: 'banner-text', id: 'exit-text' });
    this.banner = h(
      'div',
      { class: 'banner', id: 'exit-banner', role: 'status', hidden: true },
      this.bannerText,
      h('a', { class: 'btn btn-small', href: '/', text: 'Back to sessions' }),
    );

    const host = h('div', { class: 'term-host', id: 'terminal' });
    this.wrap = h('main', { class: 'term-wrap' }, host);

    // Terminal
    this.term = new Terminal({
      allowProposedApi: true,
      cursorBlink: true,
      fontFamily: FONT,
      fontSize: window.matchMedia('(max-width: 700px)').matches ? 12 : 14,
      lineHeight: 1.1,
      scrollback: 10_000,
      theme: THEME,
      disableStdin: this.wantReadonly,
      macOptionIsMeta: true,
      linkHandler: { activate: (_e, uri) => openLink(uri), allowNonHttpProtocols: false },
    });
    this.keys = new KeyRow(this.term, (d) => this.sendInput(d));

    replace(root, top, this.banner, this.wrap, this.keys.el, this.toast.el);

    this.term.loadAddon(this.fit);
    this.term.loadAddon(new Unicode11Addon());
    this.term.unicode.activeVersion = '11';
    this.term.loadAddon(new WebLinksAddon((_e, uri) => openLink(uri)));
    this.term.open(host);
    this.webgl = loadWebgl(this.term);
    if (this.webgl) {
      this.renderer = 'webgl';
      this.webgl.onContextLoss(() => this.dropWebgl());
      const once = this.term.onRender(() => {
        once.dispose();
        requestAnimationFrame(() => this.checkWebgl());
      });
    }

    this.term.onData((d) => this.sendInput(this.keys.transform(d)));
    this.term.onBinary((d) => this.sendBytes(binaryStringToBytes(d)));
    this.term.onTitleChange((t) => this.setTitle(t));
    this.term.attachCustomKeyEventHandler((e) => this.onKey(e));

    // Size: follow the element (window resizes, the key row, rotation).
    new ResizeObserver(() => this.scheduleFit()).observe(this.wrap);
    window.addEventListener('resize', () => this.scheduleFit());
    this.fitNow();

    // Connectivity.
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
    // Back-forward cache: let go of the socket when the page is hidden, and
    // come back with since= when it is shown again.
    window.addEventListener('pagehide', (e) => {
      if (e.persisted) this.hibernate();
    });
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) {
        this.stats.bfcacheRestores++;
        this.reconnectNow(true);
      }
    });
    document.addEventListener('click', () => this.closeMenu());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.closeMenu();
    });

    this.renderReadonly();
    this.exposeForTests();
    this.connect();
    this.term.focus();
  }

  // ---- renderer -----------------------------------------------------------

  /** Back to xterm.js's default (DOM) renderer. */
  private dropWebgl(): void {
    const w = this.webgl;
    this.webgl = null;
    this.renderer = 'dom';
    try {
      w?.dispose();
    } catch {
      /* already gone */
    }
  }

  /**
   * A WebGL canvas whose backing store does not match its size on screen
   * draws nothing useful (seen with some emulated pixel ratios): use the
   * default renderer then.
   */
  private checkWebgl(): void {
    if (!this.webgl) return;
    const c = this.wrap.querySelector<HTMLCanvasElement>('.xterm-screen canvas:not(.xterm-link-layer)');
    if (!c) return;
    const want = Math.round(c.getBoundingClientRect().width * window.devicePixelRatio);
    if (want > 0 && Math.abs(c.width - want) > 2) this.dropWebgl();
  }

  // ---- connection -------------------------------------------------------

  private get readonly(): boolean {
    return this.wantReadonly || this.serverReadonly;
  }

  private connect(): void {
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
    this.retryTimer = undefined;
    if (this.exited) return;
    this.closeSocket();
    this.gotHello = false;
    this.setConn('connecting', this.stats.connects ? 'Reconnecting…' : 'Connecting…');

    const q = new URLSearchParams();
    const dims = this.proposed();
    if (!this.wantReadonly && dims) {
      q.set('cols', String(dims.cols));
      q.set('rows', String(dims.rows));
    }
    if (this.wantReadonly) q.set('readonly', '1');
    const since = this.position.resumePoint;
    if (since !== null) q.set('since', String(since));
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/api/sessions/${encodeURIComponent(this.id)}/ws?${q.toString()}`;

    let ws: WebSocket;
    try {
      ws = new WebSocket(url, 'ptyhub.v1');
    } catch {
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.stats.connects++;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastAlive = Date.now();
      this.startPing();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastAlive = Date.now();
      if (typeof ev.data === 'string') this.onEvent(ev.data);
      else this.onOutput(new Uint8Array(ev.data as ArrayBuffer));
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.stopPing();
      void this.onClosed(ev, this.gotHello);
    };
  }

  /** Detach from the current socket (no reconnect from its close event). */
  private closeSocket(code = 1000, reason = ''): void {
    const ws = this.ws;
    this.ws = null;
    this.stopPing();
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      /* already closing */
    }
  }

  private hibernate(): void {
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
    this.closeSocket(1000, 'page hidden');
    if (!this.exited) this.setConn('hidden', 'Paused');
  }

  private reconnectNow(force = false): void {
    if (this.exited || this.state === 'gone' || this.state === 'unauthorized') return;
    if (!force && this.ws) return;
    this.attempts = 0;
    this.connect();
  }

  private async onClosed(ev: CloseEvent, hadHello: boolean): Promise<void> {
    if (this.exited) {
      this.setConn('ended', 'Ended');
      return;
    }
    // Find out why when the stream did not say: a refused upgrade (unknown
    // session, signed out) or a close without an exit event.
    if (!hadHello || ev.code === 1000) {
      try {
        const s = await api.session(this.id);
        if (this.ws || this.exited) return; // reconnected meanwhile
        this.updateSession(s);
        // Ended: after a stream we reconnect once more to get its tail and
        // exit event; when even attaching fails, show the exit from here.
        if (isEnded(s) && !hadHello) {
          this.onExit(s.exit, s);
          return;
        }
      } catch (err) {
        if (this.ws || this.exited) return;
        if (err instanceof ApiError && err.status === 404) {
          this.setConn('gone', 'Not found');
          this.showBanner(`There is no session ${shortId(this.id)}: it ended and was forgotten, or the link is wrong.`, 'error');
          return;
        }
        if (err instanceof ApiError && err.status === 401) {
          this.setConn('unauthorized', 'Signed out');
          this.showBanner('Not signed in: open the link that “ptyhub serve” printed (it ends with ?token=…), then reload this page.', 'error');
          return;
        }
      }
    }
    if (ev.code === 1008 && ev.reason) this.toast.show(`Connection refused: ${ev.reason}`, 'error');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.exited) return;
    const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempts);
    const delay = Math.round(base * (0.85 + Math.random() * 0.3));
    this.attempts++;
    this.retryAt = Date.now() + delay;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
    const tick = () => {
      const left = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
      this.setConn('waiting', navigator.onLine === false ? 'Offline, waiting…' : left > 0 ? `Reconnecting in ${left}s` : 'Reconnecting…');
    };
    tick();
    if (delay > 1000) this.countdownTimer = window.setInterval(tick, 1000);
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = window.setInterval(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      // While paused the server holds our queue, pongs included.
      if (this.flow.paused) {
        this.lastAlive = Date.now();
        return;
      }
      if (Date.now() - this.lastAlive > DEAD_AFTER_MS) {
        // The network went away without a close: drop it and resume.
        this.closeSocket(4000, 'no answer');
        this.scheduleReconnect();
        return;
      }
      this.sendJson({ type: 'ping' });
    }, PING_EVERY_MS);
  }

  private stopPing(): void {
    window.clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  // ---- stream -----------------------------------------------------------

  private onOutput(bytes: Uint8Array): void {
    const n = bytes.length;
    if (!n) return;
    this.stats.bytes += n;
    this.position.received(n);
    this.wroteAnything = true;
    // xterm.js yields to the page between writes, never inside one: a
    // frame of thousands of short lines is handed over in pieces, so the
    // page answers within one piece's parse however big frames are.
    for (let at = 0; at < n; at += WRITE_PIECE) {
      const piece = bytes.subarray(at, Math.min(n, at + WRITE_PIECE));
      const len = piece.length;
      this.flow.queued(len);
      this.term.write(piece, () => this.flow.written(len));
    }
  }

  private onEvent(text: string): void {
    let ev: ServerEvent;
    try {
      ev = JSON.parse(text) as ServerEvent;
    } catch {
      return;
    }
    switch (ev.type) {
      case 'hello':
        this.onHello(ev);
        break;
      case 'resize':
        this.applyServerSize(ev.cols, ev.rows);
        break;
      case 'title':
        this.setTitle(ev.title ?? '');
        break;
      case 'lagged':
        this.stats.lagged++;
        this.position.start(ev.offset, ev.snapshot_bytes);
        this.toast.show(`This page fell behind: ${formatCount(ev.dropped_bytes)} of output skipped, screen redrawn.`);
        break;
      case 'exit':
        this.onExit(ev.exit ?? null, ev.session);
        break;
      case 'error':
        this.toast.show(ev.error?.message || 'The server refused a request.', 'error');
        break;
      case 'status':
        if (ev.session) this.updateSession(ev.session);
        break;
      case 'pong':
        break;
    }
  }

  private onHello(ev: HelloEvent): void {
    this.gotHello = true;
    this.attempts = 0;
    this.stats.hellos++;
    const { session: _s, type: _t, ...rest } = ev;
    this.stats.lastHello = rest;
    if (ev.resumed) {
      this.stats.resumed++;
    } else {
      this.stats.snapshots++;
      // A fresh snapshot redraws the screen; start from a clean terminal so
      // nothing from the previous connection is shown twice (in order with
      // the bytes still queued in xterm.js).
      if (this.wroteAnything) this.term.write('\x1bc');
    }
    this.position.start(ev.offset ?? 0, ev.resumed ? 0 : ev.snapshot_bytes ?? 0);
    this.serverReadonly = !!ev.readonly && !this.wantReadonly;
    this.renderReadonly();
    this.flow.connected();
    this.lastSentSize = '';
    if (ev.session) {
      this.updateSession(ev.session);
      if (ev.session.title) this.setTitle(ev.session.title);
      this.applyServerSize(ev.session.cols, ev.session.rows);
      this.lastSentSize = `${ev.session.cols}x${ev.session.rows}`;
    }
    // A writer's real size goes to the server on load (query) and whenever
    // it differs from the session's (only then, to spare a SIGWINCH).
    if (!this.readonly) this.fitNow();
    this.setConn('live', ev.resumed ? 'Live (resumed)' : 'Live');
  }

  private onExit(exit: ExitInfo | null, session?: Session): void {
    this.exited = true;
    this.exit = exit;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
    if (session) this.updateSession(session);
    else if (this.session) this.updateSession({ ...this.session, status: exit && exit.reason !== 'exited' ? 'terminated' : 'exited', exit });
    this.term.options.disableStdin = true;
    this.term.options.cursorBlink = false;
    this.setConn('ended', 'Ended');
    this.showBanner(exitSentence(this.session?.status, exit), exit && exit.code === 0 && !exit.signal ? 'ok' : 'warn');
    this.renderReadonly();
  }

  // ---- input ------------------------------------------------------------

  private canSend(): boolean {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN && this.gotHello;
  }

  private sendInput(data: string): void {
    if (!data) return;
    this.sendBytes(encoder.encode(data));
  }

  private sendBytes(bytes: Uint8Array<ArrayBuffer>): void {
    if (this.exited) return;
    if (this.readonly) {
      this.toast.show('Read-only: typing is off. Turn off “Read-only” to type.');
      return;
    }
    if (!this.canSend()) return;
    this.ws!.send(bytes);
  }

  private sendJson(msg: object): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  private sendSignal(sig: string): void {
    this.closeMenu();
    if (this.exited) return;
    if (this.readonly) {
      this.toast.show('Read-only: signals are off.');
      return;
    }
    if (!this.canSend()) {
      this.toast.show('Not connected: try again in a moment.', 'error');
      return;
    }
    this.sendJson({ type: 'signal', signal: sig });
    this.toast.show(`Sent ${sig}`);
    this.term.focus();
  }

  private onKey(e: KeyboardEvent): boolean {
    if (e.type !== 'keydown') return true;
    const k = e.key.toLowerCase();
    // Copy: Ctrl+Shift+C, or Ctrl+C while text is selected.
    if (e.ctrlKey && !e.altKey && !e.metaKey && k === 'c' && (e.shiftKey || this.term.hasSelection())) {
      const sel = this.term.getSelection();
      if (sel) {
        void copyText(sel).then((ok) => this.toast.show(ok ? 'Copied' : 'Copy failed: the browser refused the clipboard.', ok ? 'info' : 'error'));
        if (!e.shiftKey) this.term.clearSelection();
      }
      e.preventDefault();
      return false;
    }
    // Paste: Ctrl+Shift+V lets the browser fire its paste event, which
    // xterm.js turns into input (bracketed when the program asked for it).
    if (e.ctrlKey && e.shiftKey && !e.altKey && k === 'v') return false;
    return true;
  }

  // ---- size -------------------------------------------------------------

  private proposed(): { cols: number; rows: number } | null {
    try {
      const d = this.fit.proposeDimensions();
      if (!d || !Number.isFinite(d.cols) || !Number.isFinite(d.rows)) return null;
      return { cols: clamp(d.cols, 2, 1000), rows: clamp(d.rows, 1, 1000) };
    } catch {
      return null;
    }
  }

  private scheduleFit(): void {
    if (this.fitScheduled) return;
    this.fitScheduled = true;
    requestAnimationFrame(() => {
      this.fitScheduled = false;
      this.fitNow();
    });
  }

  private fitNow(): void {
    if (this.readonly && this.session) return; // a watcher shows the session's size
    const d = this.proposed();
    if (!d) return;
    if (d.cols !== this.term.cols || d.rows !== this.term.rows) this.term.resize(d.cols, d.rows);
    this.renderSize();
    this.sendSize();
  }

  private sendSize(): void {
    if (this.readonly || this.exited || !this.canSend()) return;
    const d = this.proposed();
    if (!d) return;
    const key = `${d.cols}x${d.rows}`;
    if (key === this.lastSentSize) return;
    this.lastSentSize = key;
    this.sendJson({ type: 'resize', cols: d.cols, rows: d.rows });
  }

  private applyServerSize(cols: number, rows: number): void {
    if (!(cols > 0 && rows > 0)) return;
    if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
    if (this.session) this.session = { ...this.session, cols, rows };
    this.renderSize();
  }

  private renderSize(): void {
    setText(this.sizeEl, `${this.term.cols}×${this.term.rows}`);
  }

  // ---- session info ------------------------------------------------------

  private updateSession(s: Session): void {
    this.session = s;
    setText(this.nameEl, s.name || s.provider || shortId(s.id));
    this.nameEl.title = `${s.name || ''} (${s.id})`.trim();
    setText(this.statusEl, s.status);
    this.statusEl.dataset.status = s.status;
    this.statusEl.className = `badge badge-${s.status}`;
    if (s.title && !this.programTitle) this.setTitle(s.title);
    if (!this.programTitle) document.title = `${s.name || shortId(s.id)} · ptyhub`;
  }

  private setTitle(t: string): void {
    this.programTitle = t;
    setText(this.titleEl, t);
    this.titleEl.title = t;
    document.title = t || `${this.session?.name || shortId(this.id)} · ptyhub`;
  }

  // ---- controls ----------------------------------------------------------

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

  private toggleReadonly(): void {
    if (this.serverReadonly || this.exited) return;
    this.wantReadonly = !this.wantReadonly;
    const u = new URL(location.href);
    if (this.wantReadonly) u.searchParams.set('readonly', '1');
    else u.searchParams.delete('readonly');
    history.replaceState(history.state, '', u.pathname + u.search + u.hash);
    this.renderReadonly();
    this.toast.show(this.wantReadonly ? 'Read-only: watching, typing is off.' : 'Typing is on.');
    // The mode is a property of the connection: reattach where we are.
    this.attempts = 0;
    this.connect();
    if (!this.wantReadonly) this.scheduleFit();
  }

  private renderReadonly(): void {
    const ro = this.readonly;
    this.roBtn.setAttribute('aria-pressed', String(ro));
    this.roBtn.classList.toggle('active', ro);
    this.roBtn.disabled = this.serverReadonly || this.exited;
    this.roBtn.title = this.serverReadonly
      ? 'This login only allows watching'
      : ro
        ? 'Watching only: click to type again'
        : 'Watch without typing (no input, resize or signals)';
    this.signalBtn.disabled = ro || this.exited;
    this.term.options.disableStdin = ro || this.exited;
    document.body.classList.toggle('readonly', ro);
  }

  private readonlyUrl(): string {
    return `${location.origin}/s/${encodeURIComponent(this.id)}?readonly=1`;
  }

  private async copyShareLink(): Promise<void> {
    const ok = await copyText(this.readonlyUrl());
    this.toast.show(ok ? 'Read-only link copied' : 'Copy failed: use the link’s context menu to copy it.', ok ? 'info' : 'error');
  }

  private setConn(state: ConnState, text: string): void {
    this.state = state;
    this.connEl.dataset.state = state;
    setText(this.connText, text);
  }

  private showBanner(text: string, kind: 'ok' | 'warn' | 'error'): void {
    setText(this.bannerText, text);
    this.banner.dataset.kind = kind;
    this.banner.hidden = false;
    this.scheduleFit();
  }

  private exposeForTests(): void {
    const term = this.term;
    (window as unknown as { __ptyhub: unknown }).__ptyhub = {
      view: 'terminal',
      term,
      /** Every line of the buffer (scrollback and screen), trailing blanks trimmed. */
      text: (): string => {
        const b = term.buffer.active;
        const out: string[] = [];
        for (let i = 0; i < b.length; i++) out.push(b.getLine(i)?.translateToString(true) ?? '');
        return out.join('\n');
      },
      /** The last n lines of the buffer. */
      tail: (n: number): string => {
        const b = term.buffer.active;
        const out: string[] = [];
        for (let i = Math.max(0, b.length - n); i < b.length; i++) out.push(b.getLine(i)?.translateToString(true) ?? '');
        return out.join('\n');
      },
      state: () => ({
        state: this.state,
        connected: this.canSend(),
        readonly: this.readonly,
        exited: this.exited,
        exit: this.exit,
        session: this.session,
        title: this.programTitle,
        renderer: this.renderer,
        cols: term.cols,
        rows: term.rows,
        resumePoint: this.position.resumePoint,
        pending: this.flow.pending,
        paused: this.flow.paused,
        pauses: this.flow.pauses,
        maxPending: this.flow.maxPending,
        keys: this.keys.armed,
        ...this.stats,
      }),
      /** Drop the socket as a network loss would (no close handshake). */
      dropConnection: () => {
        this.closeSocket(4000, 'test');
        this.scheduleReconnect();
      },
    };
  }
}

// ---- helpers ------------------------------------------------------------

/** Renderer strings of WebGL implementations that rasterise on the CPU. */
const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software rasterizer|microsoft basic render/i;

/**
 * The WebGL renderer when the browser has hardware-accelerated WebGL 2.
 * WebGL on a software rasteriser (SwiftShader, llvmpipe: no GPU, or a
 * blocklisted one) works but is slower than the DOM renderer and competes
 * with the page for the CPU, so a flood would make the page fall behind:
 * the DOM renderer is used then.
 */
function loadWebgl(term: Terminal): WebglAddon | null {
  try {
    const probe = document.createElement('canvas').getContext('webgl2');
    if (!probe) return null;
    const info = probe.getExtension('WEBGL_debug_renderer_info');
    const name = info ? String(probe.getParameter(info.UNMASKED_RENDERER_WEBGL) ?? '') : '';
    probe.getExtension('WEBGL_lose_context')?.loseContext();
    if (SOFTWARE_GL.test(name)) return null;
  } catch {
    return null;
  }
  try {
    const addon = new WebglAddon();
    term.loadAddon(addon);
    return addon;
  } catch {
    return null;
  }
}

function openLink(uri: string): void {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return;
  window.open(u.href, '_blank', 'noopener,noreferrer');
}

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall back below */
  }
  const ta = h('textarea', { class: 'offscreen', value: text, attrs: { readonly: '' } });
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

function binaryStringToBytes(s: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.floor(n)));
}

function formatCount(n: number): string {
  if (!Number.isFinite(n)) return 'some';
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
