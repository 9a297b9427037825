// The replay page at /r/{id}: one recording (an asciicast v2 file from
// `GET /api/recordings/{id}`) in asciinema-player: play, pause and seek with
// the player's own controls (and keys: space, arrows, `[` `]` between
// markers), a speed menu, idle time limited to 2 s, and the recording's
// markers (`m` events: status and agent-state changes, the exit) as
// chapters, both on the player's progress bar and listed under it.
//
// asciinema-player is loaded with a dynamic import, so it is its own bundle
// file (assets/player.js) and only this page loads it; its CSS is in
// app.css. It compiles a WebAssembly terminal emulator, which is why this
// page's CSP (and only this page's) allows 'wasm-unsafe-eval'.

import type { Player } from 'asciinema-player';
import { url } from './base';
import { h, icon, ICONS, replace, setText } from './dom';
import { shortId } from './format';

/** Idle time (pauses with no output) is cut to this many seconds. */
const IDLE_TIME_LIMIT = 2;

const SPEEDS = [0.5, 1, 1.5, 2, 4, 8];

/** A recording's marker: its time (s, idle time already limited) and label. */
interface Chapter {
  time: number;
  label: string;
}

export function mountReplay(root: HTMLElement, id: string): void {
  new ReplayView(root, id);
}

class ReplayView {
  private readonly host: HTMLElement;
  private readonly status: HTMLElement;
  private readonly title: HTMLElement;
  private readonly chapters: HTMLElement;
  private readonly speed: HTMLSelectElement;
  private cast = '';
  private player: Player | null = null;
  private create: typeof import('asciinema-player').create | null = null;
  private readonly state = { ready: false, playing: false, ended: false, plays: 0, error: '' };

  constructor(root: HTMLElement, private readonly id: string) {
    document.body.classList.add('replay-page');
    document.title = `Replay ${shortId(id)} · ptyhub`;
    this.title = h('span', { class: 'tb-name', text: shortId(id), title: id });
    this.status = h('span', { class: 'replay-status muted', id: 'replay-status', role: 'status', text: 'Loading the recording…' });
    this.speed = h('select', { class: 'replay-speed', id: 'replay-speed', aria: { label: 'Speed' }, on: { change: () => this.setSpeed(Number(this.speed.value)) } });
    for (const s of SPEEDS) this.speed.appendChild(h('option', { value: String(s), text: `${s}×` }));
    this.speed.value = '1';
    const download = h('a', { class: 'btn btn-small', id: 'replay-download', href: url(`/api/recordings/${encodeURIComponent(id)}`), attrs: { download: `${id}.cast` }, text: 'Download .cast' });
    const bar = h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'tb-home', href: url('/'), title: 'All sessions' }, icon(ICONS.back, 16), h('span', { class: 'brand', text: 'ptyhub' })),
      h('div', { class: 'tb-session' }, h('span', { class: 'badge', text: 'replay' }), this.title),
      h('span', { class: 'tb-spacer' }),
      this.status,
      h('label', { class: 'replay-speed-label' }, h('span', { class: 'muted', text: 'Speed' }), this.speed),
      download,
    );
    this.host = h('div', { class: 'replay-player', id: 'replay-player' });
    this.chapters = h('ol', { class: 'replay-chapters', id: 'replay-chapters' });
    const main = h('main', { class: 'replay-main' }, this.host, h('section', { class: 'replay-side' }, h('h2', { class: 'card-title', text: 'Markers' }), this.chapters));
    replace(root, bar, main);
    if (__PTYHUB_TEST_HOOK__) this.exposeForTests();
    void this.load();
  }

  private async load(): Promise<void> {
    let resp: Response;
    try {
      resp = await fetch(url(`/api/recordings/${encodeURIComponent(this.id)}`), { credentials: 'same-origin', cache: 'no-store' });
    } catch {
      return this.fail('The ptyhub server cannot be reached.');
    }
    if (!resp.ok) {
      const body = (await resp.json().catch(() => null)) as { error?: { message?: string } } | null;
      return this.fail(body?.error?.message || `The server answered ${resp.status}.`);
    }
    this.cast = await resp.text();
    const header = parseHeader(this.cast);
    if (header?.title) {
      setText(this.title, header.title);
      document.title = `Replay ${header.title} · ptyhub`;
    }
    try {
      this.create = (await import('asciinema-player')).create;
    } catch (err) {
      return this.fail(`The player did not load: ${String(err)}`);
    }
    this.showChapters(chaptersOf(this.cast));
    this.mount(0, false);
  }

  /** (Re)creates the player at `startAt` seconds, at the chosen speed. */
  private mount(startAt: number, autoPlay: boolean): void {
    if (!this.create) return;
    this.player?.dispose();
    replace(this.host);
    const player = this.create({ data: this.cast }, this.host, {
      speed: Number(this.speed.value) || 1,
      idleTimeLimit: IDLE_TIME_LIMIT,
      startAt,
      autoPlay,
      preload: true,
      fit: 'width',
      controls: true,
      terminalFontFamily: 'ui-monospace, "SF Mono", "Cascadia Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace',
    });
    this.player = player;
    player.addEventListener('play', () => this.setPlaying(true));
    player.addEventListener('playing', () => this.setPlaying(true));
    player.addEventListener('pause', () => this.setPlaying(false));
    player.addEventListener('ended', () => {
      this.state.ended = true;
      this.setPlaying(false);
      setText(this.status, 'Ended');
    });
    // startAt alone takes effect at the first play: seek now, so that a
    // paused player shows where it was.
    if (startAt > 0 && !autoPlay) void player.seek(startAt);
    this.state.ready = true;
    setText(this.status, autoPlay ? 'Playing' : 'Ready: press play (or space)');
  }

  private setPlaying(playing: boolean): void {
    this.state.playing = playing;
    if (playing) {
      this.state.ended = false;
      this.state.plays++;
      setText(this.status, 'Playing');
    } else if (!this.state.ended) setText(this.status, 'Paused');
  }

  /** A new speed: the player takes it at creation, so it is made again where it was. */
  private setSpeed(_speed: number): void {
    const p = this.player;
    if (!p) return;
    const at = p.getCurrentTime();
    this.mount(at, this.state.playing);
  }

  private showChapters(chapters: Chapter[]): void {
    if (!chapters.length) {
      replace(this.chapters, h('li', { class: 'muted', text: 'No markers in this recording.' }));
      return;
    }
    replace(this.chapters);
    chapters.forEach((c, index) => {
      const b = h('button', { type: 'button', class: 'chapter', on: { click: () => void this.player?.seek({ marker: index }) } }, h('span', { class: 'chapter-time mono', text: clock(c.time) }), h('span', { class: 'chapter-label', text: c.label }));
      this.chapters.appendChild(h('li', {}, b));
    });
  }

  private fail(message: string): void {
    this.state.error = message;
    setText(this.status, '');
    replace(this.host, h('div', { class: 'notice', id: 'replay-error', role: 'alert' }, h('strong', { text: 'No replay. ' }), message, ' ', h('a', { href: url('/'), text: 'See all sessions' }), '.'));
  }

  /** The test build's hook (`__PTYHUB_TEST_HOOK__`). */
  private exposeForTests(): void {
    if (!__PTYHUB_TEST_HOOK__) return;
    (window as unknown as { __ptyhub: unknown }).__ptyhub = {
      view: 'replay',
      state: () => ({
        ...this.state,
        currentTime: this.player?.getCurrentTime() ?? null,
        duration: this.player?.getDuration() ?? null,
      }),
      play: () => this.player?.play(),
      pause: () => this.player?.pause(),
      seek: (t: number) => this.player?.seek(t),
    };
  }
}

/** Seconds as `m:ss`. */
function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The asciicast header (its first line), or null. */
function parseHeader(cast: string): { title?: string; width?: number; height?: number } | null {
  const first = cast.slice(0, cast.indexOf('\n') >>> 0);
  try {
    const v = JSON.parse(first) as unknown;
    return v && typeof v === 'object' ? (v as { title?: string }) : null;
  } catch {
    return null;
  }
}

/**
 * The `m` events as chapters, their times with idle time limited as the
 * player does (each gap between events cut to IDLE_TIME_LIMIT), so that the
 * times shown are the player's.
 */
export function chaptersOf(cast: string): Chapter[] {
  const out: Chapter[] = [];
  let prev = 0;
  let shifted = 0;
  for (const line of cast.split('\n').slice(1)) {
    if (!line.startsWith('[')) continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(ev) || typeof ev[0] !== 'number') continue;
    const t = ev[0];
    shifted += Math.min(Math.max(t - prev, 0), IDLE_TIME_LIMIT);
    prev = t;
    if (ev[1] === 'm') out.push({ time: shifted, label: typeof ev[2] === 'string' ? ev[2] : '' });
  }
  return out;
}
