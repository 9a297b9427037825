// The terminal's size. A writer's page decides it: the terminal fits its
// element (window resizes, the key row, rotation) and the size goes to the
// server whenever it differs from the session's (only then, to spare a
// SIGWINCH). A watcher shows the session's size as the server reports it.

import type { Terminal } from '@xterm/xterm';
import type { FitAddon } from '@xterm/addon-fit';

/** What the size depends on, and where it goes. */
export interface SizePolicy {
  /** The page shows the session's size, not its own (a watcher, once the session is known). */
  fixed(): boolean;
  /** A size may go to the server now (a writer, connected, the session running). */
  maySend(): boolean;
  send(cols: number, rows: number): void;
  /** Show the terminal's size (it may have changed). */
  shown(cols: number, rows: number): void;
}

export class Sizer {
  private lastSent = '';
  private scheduled = false;

  constructor(
    private readonly term: Terminal,
    private readonly fit: FitAddon,
    private readonly policy: SizePolicy,
  ) {}

  /** Follow the element's size, and the window's. */
  observe(el: HTMLElement): void {
    new ResizeObserver(() => this.schedule()).observe(el);
    window.addEventListener('resize', () => this.schedule());
  }

  /** The size that fits the element, or null when it cannot be measured. */
  proposed(): { cols: number; rows: number } | null {
    try {
      const d = this.fit.proposeDimensions();
      if (!d || !Number.isFinite(d.cols) || !Number.isFinite(d.rows)) return null;
      return { cols: clamp(d.cols, 2, 1000), rows: clamp(d.rows, 1, 1000) };
    } catch {
      return null;
    }
  }

  /** Fit on the next frame (once however often asked meanwhile). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.fitNow();
    });
  }

  fitNow(): void {
    if (this.policy.fixed()) return; // a watcher shows the session's size
    const d = this.proposed();
    if (!d) return;
    if (d.cols !== this.term.cols || d.rows !== this.term.rows) this.term.resize(d.cols, d.rows);
    this.policy.shown(this.term.cols, this.term.rows);
    this.send();
  }

  /** Take the size the server reports; false when it is not a size. */
  follow(cols: number, rows: number): boolean {
    if (!(cols > 0 && rows > 0)) return false;
    if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
    this.policy.shown(this.term.cols, this.term.rows);
    return true;
  }

  /** A new connection: nothing is sent on it yet. */
  reset(): void {
    this.lastSent = '';
  }

  /** The server has this size already (the session's, in its hello): send only another. */
  serverHas(cols: number, rows: number): void {
    this.lastSent = `${cols}x${rows}`;
  }

  private send(): void {
    if (!this.policy.maySend()) return;
    const d = this.proposed();
    if (!d) return;
    const key = `${d.cols}x${d.rows}`;
    if (key === this.lastSent) return;
    this.lastSent = key;
    this.policy.send(d.cols, d.rows);
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.floor(n)));
}
