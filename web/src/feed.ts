// The dashboard's live feed: the session events from /api/events (SSE, no
// polling) applied to the table, with the whole listing taken after every
// (re)connect, and retries when the stream breaks.

import { api, ApiError, type Session } from './api';
import { url } from './base';
import type { SessionTable } from './table';
import { PREVIEW_LINES } from './preview';
import type { SessionPreview } from './generated/api';

const EVENTS = ['session_created', 'session_status', 'session_exit', 'session_removed', 'session_resources', 'session_updated', 'session_agent', 'session_notification', 'session_preview'] as const;

export type LiveState = 'connecting' | 'live' | 'down';

/** What the feed tells the page. */
export interface FeedEvents {
  /** The state changed (the indicator in the header). */
  state(state: LiveState, text: string): void;
  /** The stream is open (again). */
  connected(): void;
  /** The server cannot be reached or answered with an error (retrying). */
  error(err: unknown): void;
  /** The server wants a token: the feed has stopped for good. */
  signedOut(): void;
}

export class SessionFeed {
  private es: EventSource | null = null;
  private esAttempts = 0;
  private esTimer: number | undefined;
  private downTimer: number | undefined;
  private listing = false;
  private relist = false;
  private buffered: Array<[string, string]> | null = null;
  private signedOut = false;

  constructor(
    private readonly table: SessionTable,
    private readonly events: FeedEvents,
  ) {}

  start(): void {
    this.stop();
    if (this.signedOut) return;
    this.events.state('connecting', this.table.loaded ? 'Reconnecting…' : 'Connecting…');
    // With each session's last lines (a low-rate server-side summary).
    const es = new EventSource(url(`/api/events?preview_lines=${PREVIEW_LINES}`));
    this.es = es;
    es.onopen = () => {
      if (es !== this.es) return;
      window.clearTimeout(this.downTimer);
      this.esAttempts = 0;
      this.events.state('live', 'Live');
      // Events only carry changes: take the whole listing after every
      // (re)connect, and apply what arrives meanwhile on top of it.
      void this.refreshListing();
      this.events.connected();
    };
    for (const name of EVENTS) {
      es.addEventListener(name, (ev) => {
        if (es !== this.es) return;
        const data = (ev as MessageEvent<string>).data;
        if (this.buffered) this.buffered.push([name, data]);
        this.applyEvent(name, data);
      });
    }
    // The server says this stream fell behind and lost events: take the
    // whole listing again.
    es.addEventListener('resync', () => {
      if (es !== this.es) return;
      void this.refreshListing();
    });
    es.onerror = () => {
      if (es !== this.es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): find out why, then retry.
        this.es = null;
        es.close();
        void this.diagnose();
      } else {
        // The browser retries by itself; say so when it takes a while.
        this.events.state('connecting', 'Reconnecting…');
        window.clearTimeout(this.downTimer);
        this.downTimer = window.setTimeout(() => {
          if (es === this.es && es.readyState !== EventSource.OPEN) this.events.error(new ApiError(0, 'network', ''));
        }, 3000);
      }
    };
  }

  stop(): void {
    window.clearTimeout(this.esTimer);
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  /** Back online: start again unless running or signed out. */
  wake(): void {
    if (!this.es && !this.signedOut) this.start();
  }

  /** Signed out: stop, and start no more. */
  end(): void {
    this.signedOut = true;
    this.stop();
  }

  private async diagnose(): Promise<void> {
    try {
      await api.sessions();
      this.retry();
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) this.events.signedOut();
      else {
        this.events.error(err);
        this.retry();
      }
    }
  }

  private retry(): void {
    const delay = Math.min(5000, 500 * 2 ** this.esAttempts++);
    this.events.state('down', 'Disconnected');
    window.clearTimeout(this.esTimer);
    this.esTimer = window.setTimeout(() => this.start(), delay);
  }

  private async refreshListing(): Promise<void> {
    if (this.listing) {
      // One is on its way but may predate what we must catch up with.
      this.relist = true;
      return;
    }
    this.listing = true;
    this.relist = false;
    this.buffered = [];
    try {
      const list = await api.sessions();
      const seen = new Set<string>();
      for (const s of list) {
        seen.add(s.id);
        this.table.upsert(s);
      }
      for (const id of this.table.ids()) if (!seen.has(id)) this.table.remove(id);
      // Events that came while the listing was on its way are newer or equal.
      for (const [name, data] of this.buffered) this.applyEvent(name, data);
      this.table.markLoaded();
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) this.events.signedOut();
      else this.events.error(err);
    } finally {
      this.buffered = null;
      this.listing = false;
      this.table.stopLoading();
    }
    if (this.relist && this.es) void this.refreshListing();
  }

  private applyEvent(name: string, data: string): void {
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return;
    }
    if (!obj || typeof obj !== 'object') return;
    if (name === 'session_preview') {
      const p = obj as Partial<SessionPreview>;
      if (typeof p.id === 'string' && Array.isArray(p.lines)) this.table.preview(p.id, p.lines);
      return;
    }
    const o = obj as Partial<Session> & { session?: Session };
    const s = (o.session && typeof o.session === 'object' ? o.session : o) as Partial<Session>;
    if (typeof s.id !== 'string') return;
    if (name === 'session_removed') this.table.remove(s.id);
    else if (this.table.has(s.id)) this.table.upsert({ ...this.table.get(s.id)!, ...s } as Session);
    else if (typeof s.status === 'string') this.table.upsert(s as Session);
    this.table.renderEmpty();
  }
}
