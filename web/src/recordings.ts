// The dashboard's "Recordings" card: every recording in the server's
// `recordings_dir` (`GET /api/recordings`, newest first), also of sessions
// long forgotten, each a link to its replay page (/r/{id}) and its file.
// Loaded when the dashboard (re)connects and on "Refresh"; hidden while
// there is none.

import { api, type Recording } from './api';
import { url } from './base';
import { h, icon, ICONS, replace, setText } from './dom';
import { formatBytes, formatDuration, messageOf, shortId } from './format';

/** At most this many are listed (the newest); the rest are counted. */
const SHOWN = 50;

export class RecordingsCard {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly count: HTMLElement;
  private readonly error: HTMLElement;
  private loading = false;
  private items: Recording[] = [];

  constructor() {
    this.list = h('ul', { class: 'recordings', id: 'recordings' });
    this.count = h('span', { class: 'count', id: 'recording-count' });
    this.error = h('div', { class: 'form-error', hidden: true });
    const refresh = h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'recordings-refresh', text: 'Refresh', on: { click: () => void this.load() } });
    this.el = h(
      'section',
      { class: 'card card-recordings', id: 'recordings-card', hidden: true },
      h('h2', { class: 'card-title' }, h('span', { text: 'Recordings' }), this.count, h('span', { class: 'tb-spacer' }), refresh),
      this.list,
      this.error,
    );
  }

  all(): Recording[] {
    return this.items;
  }

  async load(): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    try {
      this.items = await api.recordings();
      this.error.hidden = true;
      this.render();
    } catch (err) {
      setText(this.error, `Could not list the recordings: ${messageOf(err)}`);
      this.error.hidden = false;
    } finally {
      this.loading = false;
    }
  }

  private render(): void {
    const n = this.items.length;
    this.el.hidden = n === 0;
    setText(this.count, n ? String(n) : '');
    replace(this.list, ...this.items.slice(0, SHOWN).map(item), n > SHOWN ? h('li', { class: 'muted', text: `and ${n - SHOWN} older (see ptyhub rec ls)` }) : null);
  }
}

function item(r: Recording): HTMLElement {
  const started = Date.parse(r.started_at);
  const ended = r.ended_at ? Date.parse(r.ended_at) : NaN;
  const length = Number.isFinite(started) && Number.isFinite(ended) ? formatDuration(ended - started) : 'recording…';
  const when = Number.isFinite(started) ? new Date(started).toLocaleString() : r.started_at;
  return h(
    'li',
    { class: 'recording', dataset: { id: r.id } },
    h(
      'a',
      { class: 'rec-name', href: url(`/r/${encodeURIComponent(r.id)}`), target: '_blank', rel: 'noopener', title: r.node ? `Replay (on node ${r.node})` : 'Replay' },
      icon(ICONS.play, 13),
      h('span', { text: r.name || shortId(r.id) }),
      r.node ? h('span', { class: 'node mono', text: `@${r.node}` }) : null,
    ),
    h('span', { class: 'muted', text: r.provider ?? '' }),
    h('span', { class: 'muted num', text: when, title: r.started_at }),
    h('span', { class: 'muted num', text: length }),
    h('span', { class: 'muted mono', text: `${r.cols}×${r.rows}` }),
    h('span', { class: 'muted num', text: formatBytes(r.bytes) }),
    h('a', { class: 'rec-file', href: url(`/api/recordings/${encodeURIComponent(r.id)}`), attrs: { download: `${r.id}.cast` }, text: '.cast' }),
  );
}
