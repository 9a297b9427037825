// The dashboard's sessions table: every session known, one row each (newest
// first), the count and the empty state, and rename / kill per row.

import { api, isEnded, type Session } from './api';
import { h, icon, ICONS, replace, setText } from './dom';
import { age, messageOf } from './format';
import { agentState, AgentView } from './agent';
import { COLUMNS, makeRow, renderRow, type Row } from './row';
import { renderPreview } from './preview';
import type { PreviewRun } from './generated/api';
import type { Toast } from './toast';

export class SessionTable {
  /** The "Sessions" card. */
  readonly el: HTMLElement;
  private readonly sessions = new Map<string, Session>();
  private readonly rows = new Map<string, Row>();
  /** The last screen preview of each session (kept for a row made later). */
  private readonly previews = new Map<string, PreviewRun[][]>();
  private readonly tbody: HTMLTableSectionElement;
  private readonly table: HTMLTableElement;
  private readonly empty: HTMLElement;
  private readonly count: HTMLElement;
  private readonly loading: HTMLElement;
  private isLoaded = false;
  /** Waiting count in the title, filter, notifications. */
  readonly agent: AgentView;

  constructor(private readonly toast: Toast) {
    this.tbody = h('tbody', { id: 'sessions-body' });
    const headRow = h('tr', {});
    for (const [key, label] of COLUMNS) headRow.appendChild(h('th', { class: `c-${key}`, text: label, attrs: { scope: 'col' } }));
    this.table = h('table', { class: 'sessions', id: 'sessions' }, h('thead', {}, headRow), this.tbody);
    this.empty = h(
      'div',
      { class: 'empty', id: 'empty', hidden: true },
      h('div', { class: 'empty-icon' }, icon(ICONS.terminal, 28)),
      h('div', { class: 'empty-title', text: 'No sessions yet' }),
      h('div', { class: 'empty-text' }, 'Start one with the form above, or from a shell with ', h('code', { text: 'ptyhub new' }), '.'),
    );
    this.count = h('span', { class: 'count', id: 'session-count' });
    this.loading = h('div', { class: 'loading', id: 'loading', text: 'Loading sessions…' });
    this.agent = new AgentView(this.table);
    this.el = h(
      'section',
      { class: 'card card-table' },
      h('h2', { class: 'card-title' }, h('span', { text: 'Sessions' }), this.count),
      this.agent.el,
      h('div', { class: 'table-scroll' }, this.table),
      this.empty,
      this.loading,
    );
  }

  /** A whole listing has come at least once. */
  get loaded(): boolean {
    return this.isLoaded;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  ids(): string[] {
    return [...this.sessions.keys()];
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  /** A whole listing is in: from now on an empty table says so. */
  markLoaded(): void {
    this.isLoaded = true;
    this.renderEmpty();
  }

  /** A listing has come or failed: no more "Loading sessions…". */
  stopLoading(): void {
    this.loading.remove();
  }

  upsert(s: Session): void {
    const prev = this.sessions.get(s.id);
    // The end is final: a late answer or event that still says "active"
    // (a DELETE's 202, a listing that crossed the exit event) never undoes it.
    if (prev && isEnded(prev) && !isEnded(s)) s = { ...s, status: prev.status, exit: prev.exit };
    this.sessions.set(s.id, s);
    if (!this.rows.has(s.id)) {
      this.rows.set(s.id, this.makeRow(s.id));
      this.placeRow(s.id);
    } else if (prev && (prev.created_at !== s.created_at || agentState(prev) !== agentState(s))) this.placeRow(s.id);
    this.renderRow(s.id);
    this.agent.update(this.all());
  }

  remove(id: string): void {
    this.sessions.delete(id);
    const row = this.rows.get(id);
    if (row) {
      window.clearTimeout(row.confirmTimer);
      row.tr.remove();
      row.previewTr.remove();
    }
    this.rows.delete(id);
    this.previews.delete(id);
    this.agent.update(this.all());
  }

  renderEmpty(): void {
    const n = this.sessions.size;
    this.empty.hidden = n > 0 || !this.isLoaded;
    this.table.hidden = n === 0;
    const running = [...this.sessions.values()].filter((s) => !isEnded(s)).length;
    setText(this.count, n ? (running === n ? `${n}` : `${running} running · ${n - running} ended`) : '');
  }

  /** A `session_preview` event: the session's last lines. */
  preview(id: string, lines: PreviewRun[][]): void {
    if (!Array.isArray(lines)) return;
    this.previews.set(id, lines);
    const row = this.rows.get(id);
    if (row) this.showPreview(row, lines);
  }

  private showPreview(row: Row, lines: PreviewRun[][]): void {
    renderPreview(row.preview, lines);
    row.previewTr.hidden = lines.length === 0;
    row.tr.classList.toggle('has-preview', lines.length > 0);
  }

  /** Every second: the ages. */
  tick(): void {
    const now = Date.now();
    for (const [id, row] of this.rows) {
      const s = this.sessions.get(id);
      if (s) setText(row.age, age(s.created_at, now));
    }
  }

  /** Waiting sessions first, then newest first. */
  private placeRow(id: string): void {
    const row = this.rows.get(id)!;
    const key = (s: Session): [number, number] => [agentState(s) === 'waiting' && !isEnded(s) ? 1 : 0, Date.parse(s.created_at) || 0];
    const [w, t] = key(this.sessions.get(id)!);
    let before: Element | null = null;
    for (const tr of this.tbody.children) {
      const other = this.sessions.get((tr as HTMLElement).dataset.id!);
      if (!other || tr === row.tr) continue;
      const [ow, ot] = key(other);
      if (ow < w || (ow === w && ot < t)) {
        before = tr;
        break;
      }
    }
    this.tbody.insertBefore(row.tr, before);
    row.tr.after(row.previewTr);
    this.renumber();
  }

  /** The phone layout (a flex column) puts each preview above its card:
   * `order` counts in pairs, preview first; the table layout ignores it. */
  private renumber(): void {
    let k = 0;
    for (const tr of this.tbody.children) {
      const id = (tr as HTMLElement).dataset.id;
      const row = id ? this.rows.get(id) : undefined;
      if (!row) continue;
      row.previewTr.style.order = String(2 * k);
      row.tr.style.order = String(2 * k + 1);
      k++;
    }
  }

  private makeRow(id: string): Row {
    const row = makeRow(id, { kill: () => void this.kill(id), rename: () => this.startRename(id) });
    const lines = this.previews.get(id);
    if (lines) this.showPreview(row, lines);
    return row;
  }

  private renderRow(id: string): void {
    const s = this.sessions.get(id);
    const row = this.rows.get(id);
    if (!s || !row) return;
    renderRow(row, s);
  }

  // ---- actions ------------------------------------------------------------

  private startRename(id: string): void {
    const row = this.rows.get(id);
    const s = this.sessions.get(id);
    if (!row || !s || row.editing) return;
    row.editing = true;
    const input = h('input', { class: 'rename-input', type: 'text', value: s.name ?? '', spellcheck: false, autocomplete: 'off', attrs: { maxlength: '128' }, aria: { label: 'New name' } });
    const cancel = () => {
      row.editing = false;
      replace(row.name, row.nameText, row.idText, row.titleText);
      this.renderRow(id);
    };
    const save = async () => {
      const name = input.value.trim();
      if (!name || name === s.name) return cancel();
      input.disabled = true;
      try {
        const updated = await api.rename(id, name);
        row.editing = false;
        replace(row.name, row.nameText, row.idText, row.titleText);
        this.upsert(updated);
      } catch (err) {
        input.disabled = false;
        this.toast.show(`Could not rename: ${messageOf(err)}`, 'error');
        input.focus();
      }
    };
    const form = h(
      'form',
      { class: 'rename-form', on: { submit: (e) => { e.preventDefault(); void save(); } } },
      input,
      h('button', { type: 'submit', class: 'btn btn-small btn-primary', text: 'Save' }),
      h('button', { type: 'button', class: 'btn btn-small', text: 'Cancel', on: { click: cancel } }),
    );
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') cancel();
    });
    replace(row.name, form);
    input.focus();
    input.select();
  }

  private async kill(id: string): Promise<void> {
    const row = this.rows.get(id);
    if (!row) return;
    const b = row.kill;
    if (b.dataset.confirm !== '1') {
      // First click arms, second click kills (no blocking browser dialog).
      b.dataset.confirm = '1';
      b.classList.add('btn-danger-solid');
      setText(b.querySelector('.btn-label')!, 'Confirm?');
      window.clearTimeout(row.confirmTimer);
      row.confirmTimer = window.setTimeout(() => this.disarmKill(row), 4000);
      return;
    }
    window.clearTimeout(row.confirmTimer);
    b.disabled = true;
    setText(b.querySelector('.btn-label')!, 'Killing…');
    try {
      const s = await api.kill(id);
      if (s && typeof s === 'object' && typeof s.id === 'string') this.upsert({ ...this.sessions.get(id)!, ...s });
    } catch (err) {
      this.toast.show(`Could not kill the session: ${messageOf(err)}`, 'error');
      b.disabled = false;
      this.disarmKill(row);
    }
  }

  private disarmKill(row: Row): void {
    delete row.kill.dataset.confirm;
    row.kill.classList.remove('btn-danger-solid');
    if (!row.kill.disabled) setText(row.kill.querySelector('.btn-label')!, 'Kill');
  }
}
