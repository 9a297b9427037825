import type { ExitInfo, Session } from './api';

/** Shown for a value that is not known (not sampled yet, or not there). */
export const UNKNOWN = '—';

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return UNKNOWN;
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A byte count for a sentence: "300 bytes", "12 KiB", "1.5 MiB" ("some" when not known). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return 'some';
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatPercent(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return UNKNOWN;
  if (p === 0) return '0%';
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

/** "12s", "3m", "2h 5m", "4d 3h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return UNKNOWN;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return UNKNOWN;
  return formatDuration(now - t);
}

const REASONS: Record<string, string> = {
  exited: 'the program ended',
  deleted: 'killed on request',
  idle_timeout: 'idle timeout reached',
  lifetime: 'maximum lifetime reached',
  memory_limit: 'memory limit exceeded',
  cpu_limit: 'CPU limit exceeded',
  process_limit: 'too many processes',
  shutdown: 'server shut down',
  guard_lost: 'left supervision (its guard was killed): ended',
  node_lost: 'its node stopped answering',
};

export function reasonText(reason: string | null | undefined): string {
  if (!reason) return '';
  return REASONS[reason] ?? reason.replace(/_/g, ' ');
}

/** Short form for the table: "0", "1", "SIGKILL". */
export function exitShort(exit: ExitInfo | null | undefined): string {
  if (!exit) return '';
  if (exit.signal) return exit.signal;
  if (exit.code !== null && exit.code !== undefined) return `code ${exit.code}`;
  return exit.reason ? reasonText(exit.reason) : 'ended';
}

/** A sentence for the terminal's exit banner. */
export function exitSentence(status: Session['status'] | undefined, exit: ExitInfo | null | undefined): string {
  if (status === 'error' && !exit) return 'The session failed to start or was lost.';
  if (!exit) return 'The session has ended.';
  const how = exit.signal ? exit.signal : exit.code !== null && exit.code !== undefined ? `exit code ${exit.code}` : '';
  if (exit.reason && exit.reason !== 'exited') {
    return `Terminated: ${reasonText(exit.reason)}${how ? ` (${how})` : ''}.`;
  }
  if (exit.signal) return `The program was killed by ${exit.signal}.`;
  if (exit.code !== null && exit.code !== undefined) return `The program exited with code ${exit.code}.`;
  return 'The program has ended.';
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** What an error (or anything thrown) says. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
