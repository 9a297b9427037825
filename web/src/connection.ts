// The terminal view's connection to one session over the ptyhub.v1
// WebSocket protocol (docs/websocket.md): the socket with the size, read-only
// flag and resume point in its query, reconnects with backoff, pings that
// find a dead network, and the bookkeeping the stream itself needs (where
// the client is in the output, flow control). What the events mean for the
// page is up to the view (terminal.ts).

import { BASE } from './base';
import type { ServerEvent as GeneratedServerEvent } from './generated/api';
import { FlowControl, StreamPosition } from './flow';

const PING_EVERY_MS = 10_000;
const DEAD_AFTER_MS = 25_000;
const MAX_BACKOFF_MS = 5_000;

export type ConnState = 'connecting' | 'live' | 'waiting' | 'ended' | 'gone' | 'unauthorized' | 'hidden';

// The server's events, generated from the Rust types (src/generated/).
export type ServerEvent = GeneratedServerEvent;
export type HelloEvent = Extract<ServerEvent, { type: 'hello' }>;

/** What the connection tells the view. */
export interface ConnectionEvents {
  /** Add the query of a new socket, but since= (the size, read-only). */
  query(q: URLSearchParams): void;
  /** Output bytes, in order. */
  output(bytes: Uint8Array): void;
  /** A server event, after the connection has taken what it needs from it. */
  event(ev: ServerEvent): void;
  /** The socket closed without us closing it; hadHello: it got as far as the hello. */
  closed(ev: CloseEvent, hadHello: boolean): void;
  /** The state changed (the indicator in the top bar). */
  state(state: ConnState, text: string): void;
}

export class Connection {
  private ws: WebSocket | null = null;
  private gotHello = false;
  private ended = false;
  private current: ConnState = 'connecting';
  private attempts = 0;
  private retryTimer: number | undefined;
  private retryAt = 0;
  private countdownTimer: number | undefined;
  private pingTimer: number | undefined;
  private lastAlive = 0;
  readonly position = new StreamPosition();
  readonly flow: FlowControl;

  constructor(
    private readonly id: string,
    private readonly events: ConnectionEvents,
    /** Counts the sockets opened (window.__ptyhub). */
    private readonly stats: { connects: number },
  ) {
    this.flow = new FlowControl((cmd) => this.sendJson({ type: cmd }));
  }

  get state(): ConnState {
    return this.current;
  }

  /** The stream is on: the socket is open and its hello has come. */
  get connected(): boolean {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN && this.gotHello;
  }

  /** There is a socket (open or opening). */
  get attached(): boolean {
    return this.ws !== null;
  }

  setState(state: ConnState, text: string): void {
    this.current = state;
    this.events.state(state, text);
  }

  connect(): void {
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
    this.retryTimer = undefined;
    if (this.ended) return;
    this.closeSocket();
    this.gotHello = false;
    this.setState('connecting', this.stats.connects ? 'Reconnecting…' : 'Connecting…');

    const q = new URLSearchParams();
    this.events.query(q);
    const since = this.position.resumePoint;
    if (since !== null) q.set('since', String(since));
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}${BASE}/api/sessions/${encodeURIComponent(this.id)}/ws?${q.toString()}`;

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
      if (typeof ev.data === 'string') this.onText(ev.data);
      else this.onBinary(new Uint8Array(ev.data as ArrayBuffer));
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.stopPing();
      this.events.closed(ev, this.gotHello);
    };
  }

  /** Detach from the current socket (no reconnect from its close event). */
  closeSocket(code = 1000, reason = ''): void {
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

  /** The page is going into the back-forward cache: let go of the socket. */
  hibernate(): void {
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
    this.closeSocket(1000, 'page hidden');
    if (!this.ended) this.setState('hidden', 'Paused');
  }

  /** Connect again at once, backoff reset. */
  restart(): void {
    this.attempts = 0;
    this.connect();
  }

  /** Back online or shown again: connect now instead of waiting for the retry (force: even with a socket). */
  reconnectNow(force = false): void {
    if (this.ended || this.current === 'gone' || this.current === 'unauthorized') return;
    if (!force && this.ws) return;
    this.restart();
  }

  scheduleReconnect(): void {
    if (this.ended) return;
    const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempts);
    const delay = Math.round(base * (0.85 + Math.random() * 0.3));
    this.attempts++;
    this.retryAt = Date.now() + delay;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
    const tick = () => {
      const left = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
      this.setState('waiting', navigator.onLine === false ? 'Offline, waiting…' : left > 0 ? `Reconnecting in ${left}s` : 'Reconnecting…');
    };
    tick();
    if (delay > 1000) this.countdownTimer = window.setInterval(tick, 1000);
  }

  /** The session has ended: stop retrying and never connect again. */
  end(): void {
    this.ended = true;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.countdownTimer);
  }

  /** Input bytes, when connected (dropped otherwise). */
  send(bytes: Uint8Array<ArrayBuffer>): void {
    if (!this.connected) return;
    this.ws!.send(bytes);
  }

  sendJson(msg: object): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  private onBinary(bytes: Uint8Array): void {
    this.position.received(bytes.length);
    this.events.output(bytes);
  }

  private onText(text: string): void {
    let ev: ServerEvent;
    try {
      ev = JSON.parse(text) as ServerEvent;
    } catch {
      return;
    }
    if (ev.type === 'hello') {
      this.gotHello = true;
      this.attempts = 0;
      this.position.start(ev.offset ?? 0, ev.resumed ? 0 : ev.snapshot_bytes ?? 0);
      this.flow.connected();
    } else if (ev.type === 'lagged') {
      this.position.start(ev.offset, ev.snapshot_bytes);
    }
    this.events.event(ev);
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
}
