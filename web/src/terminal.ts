// The terminal view at /s/{id}: xterm.js attached to one session over the
// ptyhub.v1 WebSocket protocol (docs/websocket.md). This puts the page together
// and keeps what it knows of the session (status, title, read-only, exit);
// the parts are the connection (connection.ts), the xterm.js terminal
// (screen.ts), its size (size.ts), the top bar (toolbar.ts), the on-screen
// keys (keys.ts) and the clipboard (clipboard.ts).

import type { Terminal } from '@xterm/xterm';
import { api, ApiError, isEnded, isReplayable, type ExitInfo, type Session } from './api';
import { url } from './base';
import { clipboardKeys, copyText } from './clipboard';
import { Connection, type HelloEvent, type ServerEvent } from './connection';
import { h, replace, setText } from './dom';
import { exitSentence, formatCount, shortId } from './format';
import { KeyRow } from './keys';
import { Screen } from './screen';
import { Sizer } from './size';
import { Toast } from './toast';
import { Toolbar } from './toolbar';

/** The most bytes given to one term.write() call (see onOutput). */
const WRITE_PIECE = 8 * 1024;

const encoder = new TextEncoder();

export function mountTerminal(root: HTMLElement, id: string): void {
  new TerminalView(root, id);
}

class TerminalView {
  // Page
  private readonly toolbar: Toolbar;
  private readonly banner: HTMLElement;
  private readonly bannerText: HTMLElement;
  private readonly replayLink: HTMLAnchorElement;
  private readonly toast = new Toast();
  private readonly keys: KeyRow;

  // Terminal
  private readonly screen: Screen;
  private readonly term: Terminal;
  private readonly size: Sizer;

  // Connection
  private readonly conn: Connection;
  private wroteAnything = false;

  // Session
  private session: Session | null = null;
  private wantReadonly: boolean;
  private serverReadonly = false;
  private exited = false;
  private exit: ExitInfo | null = null;
  private programTitle = '';

  // For tests and debugging (window.__ptyhub).
  private readonly stats = { hellos: 0, resumed: 0, snapshots: 0, lagged: 0, connects: 0, bytes: 0, lastHello: null as null | Omit<HelloEvent, 'session' | 'type'>, bfcacheRestores: 0 };

  constructor(root: HTMLElement, private readonly id: string) {
    this.wantReadonly = new URLSearchParams(location.search).get('readonly') === '1';
    document.body.classList.add('term-page');
    document.title = `${shortId(id)} · ptyhub`;

    this.toolbar = new Toolbar(id, this.readonlyUrl(), this.wantReadonly, {
      signal: (sig) => this.sendSignal(sig),
      toggleReadonly: () => this.toggleReadonly(),
      share: () => void this.copyShareLink(),
    });

    this.bannerText = h('span', { class: 'banner-text', id: 'exit-text' });
    this.replayLink = h('a', { class: 'btn btn-small', id: 'replay-link', href: url(`/r/${encodeURIComponent(id)}`), text: 'Replay the recording', hidden: true });
    this.banner = h(
      'div',
      { class: 'banner', id: 'exit-banner', role: 'status', hidden: true },
      this.bannerText,
      h('span', { class: 'banner-actions' }, this.replayLink, h('a', { class: 'btn btn-small', href: '/', text: 'Back to sessions' })),
    );

    // Terminal
    this.screen = new Screen(this.wantReadonly);
    this.term = this.screen.term;
    const wrap = h('main', { class: 'term-wrap' }, this.screen.host);
    this.keys = new KeyRow(this.term, (d) => this.sendInput(d));
    this.size = new Sizer(this.term, this.screen.fit, {
      fixed: () => this.readonly && !!this.session,
      maySend: () => !this.readonly && !this.exited && this.conn.connected,
      send: (cols, rows) => this.conn.sendJson({ type: 'resize', cols, rows }),
      shown: (cols, rows) => this.toolbar.showSize(cols, rows),
    });
    this.conn = new Connection(
      id,
      {
        query: (q) => {
          const dims = this.size.proposed();
          if (!this.wantReadonly && dims) {
            q.set('cols', String(dims.cols));
            q.set('rows', String(dims.rows));
          }
          if (this.wantReadonly) q.set('readonly', '1');
        },
        output: (bytes) => this.onOutput(bytes),
        event: (ev) => this.onEvent(ev),
        closed: (ev, hadHello) => void this.onClosed(ev, hadHello),
        state: (state, text) => this.toolbar.showConn(state, text),
      },
      this.stats,
    );

    replace(root, this.toolbar.el, this.banner, wrap, this.keys.el, this.toast.el);

    this.screen.open();
    this.term.onData((d) => this.sendInput(this.keys.transform(d)));
    this.term.onBinary((d) => this.sendBytes(binaryStringToBytes(d)));
    this.term.onTitleChange((t) => this.setTitle(t));
    this.term.attachCustomKeyEventHandler(clipboardKeys(this.term, this.toast));

    // Size: follow the element (window resizes, the key row, rotation).
    this.size.observe(wrap);
    this.size.fitNow();

    // Connectivity.
    window.addEventListener('online', () => this.conn.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.conn.reconnectNow();
    });
    // Back-forward cache: let go of the socket when the page is hidden, and
    // come back with since= when it is shown again.
    window.addEventListener('pagehide', (e) => {
      if (e.persisted) this.conn.hibernate();
    });
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) {
        this.stats.bfcacheRestores++;
        this.conn.reconnectNow(true);
      }
    });

    this.renderReadonly();
    if (__PTYHUB_TEST_HOOK__) this.exposeForTests();
    this.conn.connect();
    this.term.focus();
  }

  private get readonly(): boolean {
    return this.wantReadonly || this.serverReadonly;
  }

  // ---- connection -------------------------------------------------------

  private async onClosed(ev: CloseEvent, hadHello: boolean): Promise<void> {
    if (this.exited) {
      this.conn.setState('ended', 'Ended');
      return;
    }
    // Find out why when the stream did not say: a refused upgrade (unknown
    // session, signed out) or a close without an exit event.
    if (!hadHello || ev.code === 1000) {
      try {
        const s = await api.session(this.id);
        if (this.conn.attached || this.exited) return; // reconnected meanwhile
        this.updateSession(s);
        // Ended: after a stream we reconnect once more to get its tail and
        // exit event; when even attaching fails, show the exit from here.
        if (isEnded(s) && !hadHello) {
          this.onExit(s.exit ?? null, s);
          return;
        }
      } catch (err) {
        if (this.conn.attached || this.exited) return;
        if (err instanceof ApiError && err.status === 404) {
          this.conn.setState('gone', 'Not found');
          this.showBanner(`There is no session ${shortId(this.id)}: it ended and was forgotten, or the link is wrong.`, 'error');
          return;
        }
        if (err instanceof ApiError && err.status === 401) {
          this.conn.setState('unauthorized', 'Signed out');
          this.showBanner('Not signed in: open the link that “ptyhub serve” printed (it ends with ?token=…), then reload this page.', 'error');
          return;
        }
      }
    }
    if (ev.code === 1008 && ev.reason) this.toast.show(`Connection refused: ${ev.reason}`, 'error');
    this.conn.scheduleReconnect();
  }

  // ---- stream -----------------------------------------------------------

  private onOutput(bytes: Uint8Array): void {
    const n = bytes.length;
    if (!n) return;
    this.stats.bytes += n;
    this.wroteAnything = true;
    // xterm.js yields to the page between writes, never inside one: a
    // frame of thousands of short lines is handed over in pieces, so the
    // page answers within one piece's parse however big frames are.
    const flow = this.conn.flow;
    for (let at = 0; at < n; at += WRITE_PIECE) {
      const piece = bytes.subarray(at, Math.min(n, at + WRITE_PIECE));
      const len = piece.length;
      flow.queued(len);
      this.term.write(piece, () => flow.written(len));
    }
  }

  private onEvent(ev: ServerEvent): void {
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
        this.toast.show(`This page fell behind: ${formatCount(ev.dropped_bytes)} of output skipped, screen redrawn.`);
        break;
      case 'exit':
        this.onExit(ev.exit ?? null);
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

  /** The stream (re)starts; the connection has taken its resume point and flow state from the hello. */
  private onHello(ev: HelloEvent): void {
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
    this.serverReadonly = !!ev.readonly && !this.wantReadonly;
    this.renderReadonly();
    this.size.reset();
    if (ev.session) {
      this.updateSession(ev.session);
      if (ev.session.title) this.setTitle(ev.session.title);
      this.applyServerSize(ev.session.cols, ev.session.rows);
      this.size.serverHas(ev.session.cols, ev.session.rows);
    }
    // A writer's real size goes to the server on load (query) and whenever
    // it differs from the session's (only then, to spare a SIGWINCH).
    if (!this.readonly) this.size.fitNow();
    this.conn.setState('live', ev.resumed ? 'Live (resumed)' : 'Live');
  }

  private onExit(exit: ExitInfo | null, session?: Session): void {
    this.exited = true;
    this.exit = exit;
    this.conn.end();
    if (session) this.updateSession(session);
    else if (this.session) this.updateSession({ ...this.session, status: exit && exit.reason !== 'exited' ? 'terminated' : 'exited', exit });
    this.term.options.disableStdin = true;
    this.term.options.cursorBlink = false;
    this.conn.setState('ended', 'Ended');
    this.replayLink.hidden = !(this.session && isReplayable(this.session));
    this.showBanner(exitSentence(this.session?.status, exit), exit && exit.code === 0 && !exit.signal ? 'ok' : 'warn');
    this.renderReadonly();
  }

  // ---- input ------------------------------------------------------------

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
    this.conn.send(bytes);
  }

  private sendSignal(sig: string): void {
    if (this.exited) return;
    if (this.readonly) {
      this.toast.show('Read-only: signals are off.');
      return;
    }
    if (!this.conn.connected) {
      this.toast.show('Not connected: try again in a moment.', 'error');
      return;
    }
    this.conn.sendJson({ type: 'signal', signal: sig });
    this.toast.show(`Sent ${sig}`);
    this.term.focus();
  }

  // ---- session info ------------------------------------------------------

  private applyServerSize(cols: number, rows: number): void {
    if (this.size.follow(cols, rows) && this.session) this.session = { ...this.session, cols, rows };
  }

  private updateSession(s: Session): void {
    this.session = s;
    this.toolbar.showSession(s);
    if (s.title && !this.programTitle) this.setTitle(s.title);
    if (!this.programTitle) document.title = `${s.name || shortId(s.id)} · ptyhub`;
  }

  private setTitle(t: string): void {
    this.programTitle = t;
    this.toolbar.showTitle(t);
    document.title = t || `${this.session?.name || shortId(this.id)} · ptyhub`;
  }

  // ---- controls ----------------------------------------------------------

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
    this.conn.restart();
    if (!this.wantReadonly) this.size.schedule();
  }

  private renderReadonly(): void {
    const ro = this.readonly;
    this.toolbar.showReadonly(ro, this.serverReadonly, this.exited);
    this.term.options.disableStdin = ro || this.exited;
    document.body.classList.toggle('readonly', ro);
  }

  private readonlyUrl(): string {
    return `${location.origin}${url(`/s/${encodeURIComponent(this.id)}`)}?readonly=1`;
  }

  private async copyShareLink(): Promise<void> {
    const ok = await copyText(this.readonlyUrl());
    this.toast.show(ok ? 'Read-only link copied' : 'Copy failed: use the link’s context menu to copy it.', ok ? 'info' : 'error');
  }

  private showBanner(text: string, kind: 'ok' | 'warn' | 'error'): void {
    setText(this.bannerText, text);
    this.banner.dataset.kind = kind;
    this.banner.hidden = false;
    this.size.schedule();
  }

  /** The test build's hook (`__PTYHUB_TEST_HOOK__`). */
  private exposeForTests(): void {
    if (!__PTYHUB_TEST_HOOK__) return;
    const term = this.term;
    const screen = this.screen;
    (window as unknown as { __ptyhub: unknown }).__ptyhub = {
      view: 'terminal',
      term,
      /** Every line of the buffer (scrollback and screen), trailing blanks trimmed. */
      text: (): string => screen.text(),
      /** The last n lines of the buffer. */
      tail: (n: number): string => screen.tail(n),
      state: () => ({
        state: this.conn.state,
        connected: this.conn.connected,
        readonly: this.readonly,
        exited: this.exited,
        exit: this.exit,
        session: this.session,
        title: this.programTitle,
        renderer: screen.renderer,
        cols: term.cols,
        rows: term.rows,
        resumePoint: this.conn.position.resumePoint,
        pending: this.conn.flow.pending,
        paused: this.conn.flow.paused,
        pauses: this.conn.flow.pauses,
        maxPending: this.conn.flow.maxPending,
        keys: this.keys.armed,
        ...this.stats,
      }),
      /** Drop the socket as a network loss would (no close handshake). */
      dropConnection: () => {
        this.conn.closeSocket(4000, 'test');
        this.conn.scheduleReconnect();
      },
    };
  }
}

function binaryStringToBytes(s: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
