// The dashboard at /: every session, live from /api/events (no polling),
// a form to start one, and open / rename / kill per row. This puts the page
// together (header, connection notice, sign-in); the parts are the form
// (new-session.ts), the table (table.ts, row.ts) and the live feed
// (feed.ts).

import { ApiError, type Session } from './api';
import { url } from './base';
import { h, icon, ICONS, replace, setText } from './dom';
import { SessionFeed, type LiveState } from './feed';
import { messageOf } from './format';
import { NewSessionForm } from './new-session';
import { RecordingsCard } from './recordings';
import { SessionTable } from './table';
import { Toast } from './toast';

/** Ends this browser's login (its cookie's secret is revoked), then shows the login page. */
async function logout(): Promise<void> {
  try {
    await fetch('/logout', { method: 'POST', credentials: 'same-origin' });
  } finally {
    location.assign('/');
  }
}

export function mountDashboard(root: HTMLElement): void {
  new Dashboard(root);
}

class Dashboard {
  private readonly toast = new Toast();
  private readonly live: HTMLElement;
  private readonly liveText: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly main: HTMLElement;
  private readonly form: NewSessionForm;
  private readonly table: SessionTable;
  private readonly recordings = new RecordingsCard();
  private readonly feed: SessionFeed;

  constructor(root: HTMLElement) {
    document.body.classList.add('dash-page');
    document.title = 'ptyhub';

    this.liveText = h('span', { class: 'conn-text', text: 'Connecting…' });
    this.live = h('span', { class: 'conn', id: 'live', role: 'status', aria: { live: 'polite' }, dataset: { state: 'connecting' } }, h('span', { class: 'dot' }), this.liveText);
    const header = h(
      'header',
      { class: 'dash-header' },
      h('div', { class: 'brand-wrap' }, h('span', { class: 'logo' }, icon(ICONS.terminal, 18)), h('span', { class: 'brand', text: 'ptyhub' }), h('span', { class: 'tagline', text: 'terminal sessions' })),
      h('div', { class: 'header-end' }, this.live, h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'logout', text: 'Log out', attrs: { title: 'End this browser\'s login (the token stays valid)' }, on: { click: () => void logout() } })),
    );

    this.notice = h('div', { class: 'notice', id: 'notice', role: 'alert', hidden: true });

    this.form = new NewSessionForm({
      created: (s) => this.created(s),
      signedOut: () => this.showSignedOut(),
    });
    this.table = new SessionTable(this.toast);
    this.feed = new SessionFeed(this.table, {
      state: (state, text) => this.setLive(state, text),
      connected: () => {
        this.hideNotice();
        if (!this.form.hasProviders) void this.form.loadProviders();
        void this.recordings.load();
      },
      error: (err) => this.showError(err),
      signedOut: () => this.showSignedOut(),
    });

    this.main = h('main', { class: 'dash' }, this.notice, this.form.el, this.table.el, this.recordings.el);
    replace(root, header, this.main, this.toast.el);

    window.setInterval(() => this.table.tick(), 1000);
    window.addEventListener('pagehide', (e) => {
      if (e.persisted) this.feed.stop();
    });
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) this.feed.start();
    });
    window.addEventListener('online', () => this.feed.wake());
    if (__PTYHUB_TEST_HOOK__) this.exposeForTests();
    void this.form.loadProviders();
    this.feed.start();
  }

  private created(s: Session): void {
    this.table.upsert(s);
    this.table.renderEmpty();
  }

  private setLive(state: LiveState, text: string): void {
    this.live.dataset.state = state;
    setText(this.liveText, text);
  }

  private showError(err: unknown): void {
    const msg =
      err instanceof ApiError && err.status === 0
        ? 'Cannot reach the ptyhub server. Is “ptyhub serve” still running? Retrying…'
        : `The server answered with an error: ${messageOf(err)} Retrying…`;
    replace(this.notice, h('strong', { text: 'Connection problem. ' }), msg);
    this.notice.dataset.kind = 'error';
    this.notice.hidden = false;
  }

  private hideNotice(): void {
    this.notice.hidden = true;
  }

  private showSignedOut(): void {
    this.feed.end();
    this.setLive('down', 'Signed out');
    const input = h('input', { type: 'password', id: 'login-token', name: 'token', placeholder: 'token', autocomplete: 'current-password', spellcheck: false, aria: { label: 'Token' } });
    const form = h(
      'form',
      {
        class: 'login-form',
        on: {
          submit: (e) => {
            e.preventDefault();
            const t = input.value.trim();
            if (t) location.assign(`${url('/')}?token=${encodeURIComponent(t)}`);
          },
        },
      },
      input,
      h('button', { type: 'submit', class: 'btn btn-primary', text: 'Sign in' }),
    );
    replace(
      this.main,
      h(
        'section',
        { class: 'card login', id: 'signed-out' },
        h('h2', { class: 'card-title', text: 'Sign in to ptyhub' }),
        h('p', {}, 'Open the link that ', h('code', { text: 'ptyhub serve' }), ' printed when it started (it ends with ', h('code', { text: '?token=…' }), '), or paste the token here:'),
        form,
      ),
    );
    input.focus();
  }

  /** The test build's hook (`__PTYHUB_TEST_HOOK__`). */
  private exposeForTests(): void {
    if (!__PTYHUB_TEST_HOOK__) return;
    (window as unknown as { __ptyhub: unknown }).__ptyhub = {
      view: 'dashboard',
      sessions: () => this.table.all(),
      live: () => this.live.dataset.state,
      loaded: () => this.table.loaded,
      recordings: () => this.recordings.all(),
    };
  }
}
