// One row of the dashboard's sessions table: its cells, and how a session
// shows in them.

import { isEnded, isReplayable, type Session } from './api';
import { url } from './base';
import { h, icon, ICONS, setText } from './dom';
import { age, exitShort, formatBytes, formatPercent, reasonText, shortId, UNKNOWN } from './format';

export interface Row {
  tr: HTMLTableRowElement;
  name: HTMLElement;
  nameText: HTMLElement;
  idText: HTMLElement;
  titleText: HTMLElement;
  /** The node that runs it (several machines); hidden otherwise. */
  nodeText: HTMLElement;
  provider: HTMLElement;
  status: HTMLElement;
  agent: HTMLElement;
  size: HTMLElement;
  clients: HTMLElement;
  cpu: HTMLElement;
  mem: HTMLElement;
  age: HTMLElement;
  exit: HTMLElement;
  kill: HTMLButtonElement;
  rename: HTMLButtonElement;
  replay: HTMLAnchorElement;
  /** The row under it with the screen preview (preview.ts). */
  previewTr: HTMLTableRowElement;
  preview: HTMLElement;
  editing: boolean;
  confirmTimer?: number;
}

/** The table's columns (key, header), in the order of the cells below. */
export const COLUMNS: Array<[string, string]> = [
  ['name', 'Name'],
  ['provider', 'Provider'],
  ['status', 'Status'],
  ['agent', 'State'],
  ['size', 'Size'],
  ['clients', 'Clients'],
  ['cpu', 'CPU'],
  ['mem', 'Memory'],
  ['age', 'Age'],
  ['exit', 'Exit'],
  ['actions', ''],
];

/** The row's Kill and Rename buttons. */
export interface RowActions {
  kill(): void;
  rename(): void;
}

export function makeRow(id: string, actions: RowActions): Row {
  const cell = (key: string, label: string, ...kids: Array<Node>) => h('td', { class: `c-${key}`, dataset: { label } }, ...kids);
  const nameText = h('a', { class: 'name', href: `/s/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener' });
  const idText = h('span', { class: 'id mono', text: shortId(id), title: id });
  const titleText = h('span', { class: 'title' });
  const nodeText = h('span', { class: 'node mono' });
  const name = h('div', { class: 'name-cell' }, nameText, idText, nodeText, titleText);
  const status = h('span', { class: 'badge' });
  const kill = h('button', { type: 'button', class: 'btn btn-small btn-danger act-kill', title: 'Terminate the session', on: { click: () => actions.kill() } }, icon(ICONS.kill, 14), h('span', { class: 'btn-label', text: 'Kill' }));
  const rename = h('button', { type: 'button', class: 'btn btn-small act-rename', title: 'Rename', on: { click: () => actions.rename() } }, icon(ICONS.edit, 14), h('span', { class: 'btn-label', text: 'Rename' }));
  const open = h('a', { class: 'btn btn-small act-open', href: `/s/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener', title: 'Open the terminal in a new tab' }, icon(ICONS.open, 14), h('span', { class: 'btn-label', text: 'Open' }));
  const replay = h('a', { class: 'btn btn-small act-replay', href: url(`/r/${encodeURIComponent(id)}`), target: '_blank', rel: 'noopener', title: 'Replay the recording in a new tab', aria: { label: 'Replay' }, hidden: true }, icon(ICONS.play, 14));
  const row: Row = {
    tr: h('tr', { dataset: { id } }),
    name: h('div', {}),
    nameText,
    idText,
    titleText,
    nodeText,
    provider: h('span', {}),
    status,
    agent: h('span', { class: 'agent-badge' }),
    size: h('span', { class: 'mono' }),
    clients: h('span', { class: 'num' }),
    cpu: h('span', { class: 'num' }),
    mem: h('span', { class: 'num' }),
    age: h('span', { class: 'num' }),
    exit: h('span', {}),
    kill,
    rename,
    replay,
    previewTr: h('tr', { class: 'preview-row', hidden: true, dataset: { previewOf: id } }),
    preview: h('div', { class: 'preview mono', aria: { label: 'Last lines of its screen' } }),
    editing: false,
  };
  row.previewTr.appendChild(h('td', { class: 'c-preview', attrs: { colspan: String(COLUMNS.length) } }, row.preview));
  row.name = name;
  row.tr.append(
    cell('name', 'Name', name),
    cell('provider', 'Provider', row.provider),
    cell('status', 'Status', status),
    cell('agent', 'State', row.agent),
    cell('size', 'Size', row.size),
    cell('clients', 'Clients', row.clients),
    cell('cpu', 'CPU', row.cpu),
    cell('mem', 'Memory', row.mem),
    cell('age', 'Age', row.age),
    cell('exit', 'Exit', row.exit),
    cell('actions', '', h('div', { class: 'actions' }, open, replay, rename, kill)),
  );
  return row;
}

export function renderRow(row: Row, s: Session): void {
  row.tr.dataset.status = s.status;
  const ended = isEnded(s);
  row.tr.classList.toggle('ended', ended);
  if (!row.editing) {
    setText(row.nameText, s.name || '(unnamed)');
    row.nameText.classList.toggle('unnamed', !s.name);
    row.nameText.title = s.name ? `Open “${s.name}”` : 'Open';
  }
  setText(row.titleText, s.title || '');
  row.titleText.title = s.title || '';
  row.titleText.hidden = !s.title;
  setText(row.nodeText, s.node ? `@${s.node}` : '');
  row.nodeText.title = s.node ? `Runs on node ${s.node}` : '';
  row.nodeText.hidden = !s.node;
  setText(row.provider, s.provider || (s.command ?? []).join(' '));
  row.provider.title = (s.command ?? []).join(' ');
  setText(row.status, s.status);
  row.status.className = `badge badge-${s.status}`;
  const agent = s.agent?.state ?? 'unknown';
  row.tr.dataset.agent = agent;
  row.previewTr.dataset.agent = agent;
  row.previewTr.classList.toggle('ended', ended);
  setText(row.agent, agent);
  row.agent.className = `agent-badge agent-${agent}`;
  row.agent.title = s.agent ? [s.agent.source, s.agent.detail].filter(Boolean).join(': ') : '';
  setText(row.size, s.cols && s.rows ? `${s.cols}×${s.rows}` : UNKNOWN);
  setText(row.clients, String(s.clients ?? 0));
  // A running session has at least one process: zero means its process
  // tree has not been sampled (yet), which is shown as unknown, not 0.
  const r = s.resources && s.resources.processes > 0 ? s.resources : null;
  setText(row.cpu, ended || !r ? UNKNOWN : formatPercent(r.cpu_percent));
  row.cpu.title = r ? `${r.cpu_seconds?.toFixed?.(1) ?? r.cpu_seconds} s of CPU, ${r.processes} process(es), ${r.threads} thread(s)` : ended ? '' : 'Not sampled yet';
  setText(row.mem, ended || !r ? UNKNOWN : formatBytes(r.rss_bytes));
  row.mem.title = r || ended ? '' : 'Not sampled yet';
  setText(row.age, age(s.created_at));
  row.age.title = s.created_at ? `Started ${new Date(s.created_at).toLocaleString()}` : '';
  setText(row.exit, ended ? exitShort(s.exit) || s.status : '');
  row.exit.title = s.exit ? reasonText(s.exit.reason) : '';
  row.exit.className = s.exit && (s.exit.signal || (s.exit.code ?? 0) !== 0) ? 'exit-bad' : 'exit-ok';
  row.kill.hidden = ended;
  row.replay.hidden = !isReplayable(s);
  row.replay.title = s.recording?.state === 'stopped' ? `Replay the recording (stopped early: ${s.recording.error ?? 'size limit'})` : 'Replay the recording in a new tab';
  row.rename.hidden = false;
  if (ended) window.clearTimeout(row.confirmTimer);
}
