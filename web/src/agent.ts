// Agent state on the dashboard: which session needs the user. The count of
// waiting sessions in the page title, a "waiting only" filter, and opt-in
// browser notifications (asked for only when the user turns them on) when
// a session starts waiting. Rows show the state as a badge (row.ts) and
// waiting rows come first (table.ts).

import type { AgentState, Session } from './api';
import { isEnded } from './api';
import { h, setText } from './dom';

export function agentState(s: Pick<Session, 'agent'>): AgentState {
  return s.agent?.state ?? 'unknown';
}

/** Waiting sessions that are still running. */
export function waitingCount(sessions: Session[]): number {
  return sessions.filter((s) => !isEnded(s) && agentState(s) === 'waiting').length;
}

export class AgentView {
  /** The filter and notification controls, for the sessions card. */
  readonly el: HTMLElement;
  private readonly filter: HTMLInputElement;
  private readonly notifyButton: HTMLButtonElement;
  private readonly summary: HTMLElement;
  private readonly last = new Map<string, AgentState>();
  private notify = false;

  constructor(private readonly table: HTMLElement) {
    this.filter = h('input', { type: 'checkbox', id: 'filter-waiting', on: { change: () => this.applyFilter() } });
    this.notifyButton = h('button', { type: 'button', class: 'btn btn-small', id: 'notify-toggle', text: 'Notify me', title: 'Browser notifications when a session starts waiting', on: { click: () => void this.toggleNotify() } });
    this.summary = h('span', { class: 'agent-summary', id: 'waiting-summary' });
    this.el = h('div', { class: 'agent-bar' }, h('label', { class: 'agent-filter' }, this.filter, ' Waiting only'), this.summary, this.notifyButton);
  }

  /** Every change of the listing. */
  update(sessions: Session[]): void {
    const n = waitingCount(sessions);
    document.title = n ? `(${n} waiting) ptyhub` : 'ptyhub';
    setText(this.summary, n ? `${n} waiting` : '');
    for (const s of sessions) {
      const now = agentState(s);
      const before = this.last.get(s.id);
      this.last.set(s.id, now);
      if (now === 'waiting' && before !== undefined && before !== 'waiting' && !isEnded(s)) this.notifyWaiting(s);
    }
  }

  private applyFilter(): void {
    this.table.classList.toggle('only-waiting', this.filter.checked);
  }

  private async toggleNotify(): Promise<void> {
    if (this.notify) {
      this.notify = false;
    } else if (typeof Notification === 'undefined') {
      return;
    } else {
      const permission = Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission;
      this.notify = permission === 'granted';
    }
    setText(this.notifyButton, this.notify ? 'Notifications on' : 'Notify me');
    this.notifyButton.classList.toggle('btn-primary', this.notify);
  }

  private notifyWaiting(s: Session): void {
    if (!this.notify || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    // Text only: the Notification API does not render HTML.
    const n = new Notification(`${s.name || s.provider || 'A session'} is waiting`, { body: s.agent?.detail ?? '', tag: `ptyhub-${s.id}` });
    n.onclick = () => window.open(`/s/${encodeURIComponent(s.id)}`, '_blank', 'noopener');
  }
}
