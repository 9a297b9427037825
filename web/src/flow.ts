// Flow control and resume bookkeeping for the ptyhub.v1 stream.

/** Pause above this many bytes handed to xterm.js but not yet written. */
export const HIGH_WATERMARK = 1024 * 1024;
/** Resume below this many. */
export const LOW_WATERMARK = 128 * 1024;

/**
 * Counts the bytes given to term.write() whose write callback has not fired
 * yet, and asks the server to pause the stream above the high watermark and
 * to resume it below the low one, so a program printing at full speed never
 * piles up more than ~1 MiB in the page.
 */
export class FlowControl {
  pending = 0;
  paused = false;
  pauses = 0;
  maxPending = 0;

  constructor(
    private readonly send: (cmd: 'pause' | 'resume') => void,
    private readonly high = HIGH_WATERMARK,
    private readonly low = LOW_WATERMARK,
  ) {}

  /** Call with the size of a chunk just passed to term.write(). */
  queued(n: number): void {
    this.pending += n;
    if (this.pending > this.maxPending) this.maxPending = this.pending;
    if (!this.paused && this.pending > this.high) {
      this.paused = true;
      this.pauses++;
      this.send('pause');
    }
  }

  /** Call from term.write()'s callback with the same size. */
  written(n: number): void {
    this.pending -= n;
    if (this.paused && this.pending < this.low) {
      this.paused = false;
      this.send('resume');
    }
  }

  /** A new connection starts unpaused on the server: re-apply our state. */
  connected(): void {
    this.paused = false;
    if (this.pending > this.high) {
      this.paused = true;
      this.pauses++;
      this.send('pause');
    }
  }
}

/**
 * Where the client is in the session's output, for `since=` on reconnect.
 * After `hello` (or `lagged`) the first `snapshotBytes` bytes received are
 * the snapshot; every byte after them is live output from `offset` on.
 */
export class StreamPosition {
  private base = 0;
  private snapshotLeft = 0;
  private live = 0;
  private known = false;

  start(offset: number, snapshotBytes: number): void {
    this.base = offset;
    this.snapshotLeft = Math.max(0, snapshotBytes);
    this.live = 0;
    this.known = true;
  }

  received(n: number): void {
    if (!this.known) return;
    if (this.snapshotLeft > 0) {
      const s = Math.min(n, this.snapshotLeft);
      this.snapshotLeft -= s;
      n -= s;
    }
    this.live += n;
  }

  /**
   * The offset to resume from, or null when the screen is not complete yet
   * (no hello, or the snapshot was cut off), in which case a reconnect must
   * take a fresh snapshot.
   */
  get resumePoint(): number | null {
    if (!this.known || this.snapshotLeft > 0) return null;
    return this.base + this.live;
  }

  forget(): void {
    this.known = false;
  }
}
