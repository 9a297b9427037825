// The dashboard at /: every session, live from /api/events (no polling),
// a form to start one, and open / rename / kill per row.

import { api, ApiError, isEnded, type Provider, type Session } from './api';
import { h, icon, ICONS, replace, setText } from './dom';
import { age, exitShort, formatBytes, formatPercent, reasonText, shortId, UNKNOWN } from './format';
import { Toast } from './toast';

const EVENTS = ['session_created', 'session_status', 'session_exit', 'session_removed', 'session_resources', 'session_updated'] as const;

interface Row {
  tr: HTMLTableRowElement;
  name: HTMLElement;
  nameText: HTMLElement;
  idText: HTMLElement;
  titleText: HTMLElement;
  provider: HTMLElement;
  status: HTMLElement;
  size: HTMLElement;
  clients: HTMLElement;
  cpu: HTMLElement;
  mem: HTMLElement;
  age: HTMLElement;
  exit: HTMLElement;
  kill: HTMLButtonElement;
  rename: HTMLButtonElement;
  editing: boolean;
  confirmTimer?: number;
}

const COLUMNS: Array<[string, string]> = [
  ['name', 'Name'],
  ['provider', 'Provider'],
  ['status', 'Status'],
  ['size', 'Size'],
  ['clients', 'Clients'],
  ['cpu', 'CPU'],
  ['mem', 'Memory'],
  ['age', 'Age'],
  ['exit', 'Exit'],
  ['actions', ''],
];

export function mountDashboard(root: HTMLElement): void {
  new Dashboard(root);
}

class Dashboard {
  private readonly sessions = new Map<string, Session>();
  private readonly rows = new Map<string, Row>();
  private providers: Provider[] = [];

  private readonly toast = new Toast();
  private readonly live: HTMLElement;
  private readonly liveText: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly providerSel: HTMLSelectElement;
  private readonly nameIn: HTMLInputElement;
  private readonly cwdIn: HTMLInputElement;
  private readonly startBtn: HTMLButtonElement;
  private readonly formError: HTMLElement;
  private readonly providerHint: HTMLElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly table: HTMLTableElement;
  private readonly empty: HTMLElement;
  private readonly count: HTMLElement;
  private readonly main: HTMLElement;

  private es: EventSource | null = null;
  private esAttempts = 0;
  private esTimer: number | undefined;
  private downTimer: number | undefined;
  private listing = false;
  private relist = false;
  private buffered: Array<[string, string]> | null = null;
  private loaded = false;
  private signedOut = false;

  constructor(private readonly root: HTMLElement) {
    document.body.classList.add('dash-page');
    document.title = 'ptyhub';

    this.liveText = h('span', { class: 'conn-text', text: 'Connecting…' });
    this.live = h('span', { class: 'conn', id: 'live', role: 'status', aria: { live: 'polite' }, dataset: { state: 'connecting' } }, h('span', { class: 'dot' }), this.liveText);
    const header = h(
      'header',
      { class: 'dash-header' },
      h('div', { class: 'brand-wrap' }, h('span', { class: 'logo' }, icon(ICONS.terminal, 18)), h('span', { class: 'brand', text: 'ptyhub' }), h('span', { class: 'tagline', text: 'terminal sessions' })),
      this.live,
    );

    this.notice = h('div', { class: 'notice', id: 'notice', role: 'alert', hidden: true });

    // New session form
    this.providerSel = h('select', { id: 'new-provider', name: 'provider', disabled: true, aria: { label: 'Provider' } });
    this.nameIn = h('input', { id: 'new-name', name: 'name', type: 'text', placeholder: 'optional', autocomplete: 'off', spellcheck: false, attrs: { maxlength: '128' } });
    this.cwdIn = h('input', { id: 'new-cwd', name: 'cwd', type: 'text', placeholder: 'default directory', autocomplete: 'off', spellcheck: false });
    this.startBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'new-start', disabled: true }, icon(ICONS.plus), h('span', { text: 'Start' }));
    this.formError = h('div', { class: 'form-error', id: 'new-error', role: 'alert', hidden: true });
    this.providerHint = h('div', { class: 'hint', id: 'provider-hint', hidden: true });
    this.form = h(
      'form',
      { class: 'new-form', id: 'new-session', autocomplete: 'off', on: { submit: (e) => { e.preventDefault(); void this.create(); } } },
      field('Provider', this.providerSel),
      field('Name', this.nameIn),
      field('Working directory', this.cwdIn, 'grow'),
      h('div', { class: 'field field-submit' }, this.startBtn),
    );

    // Sessions table
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

    this.main = h(
      'main',
      { class: 'dash' },
      this.notice,
      h('section', { class: 'card' }, h('h2', { class: 'card-title', text: 'New session' }), this.form, this.providerHint, this.formError),
      h(
        'section',
        { class: 'card card-table' },
        h('h2', { class: 'card-title' }, h('span', { text: 'Sessions' }), this.count),
        h('div', { class: 'table-scroll' }, this.table),
        this.empty,
        h('div', { class: 'loading', id: 'loading', text: 'Loading sessions…' }),
      ),
    );
    replace(root, header, this.main, this.toast.el);

    window.setInterval(() => this.tick(), 1000);
    window.addEventListener('pagehide', (e) => {
      if (e.persisted) this.stopEvents();
    });
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) this.startEvents();
    });
    window.addEventListener('online', () => {
      if (!this.es && !this.signedOut) this.startEvents();
    });
    this.exposeForTests();
    void this.loadProviders();
    this.startEvents();
  }

  // ---- data ---------------------------------------------------------------

  private startEvents(): void {
    this.stopEvents();
    if (this.signedOut) return;
    this.setLive('connecting', this.loaded ? 'Reconnecting…' : 'Connecting…');
    const es = new EventSource('/api/events');
    this.es = es;
    es.onopen = () => {
      if (es !== this.es) return;
      window.clearTimeout(this.downTimer);
      this.esAttempts = 0;
      this.setLive('live', 'Live');
      this.hideNotice();
      // Events only carry changes: take the whole listing after every
      // (re)connect, and apply what arrives meanwhile on top of it.
      void this.refreshListing();
      if (!this.providers.length) void this.loadProviders();
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
        this.setLive('connecting', 'Reconnecting…');
        window.clearTimeout(this.downTimer);
        this.downTimer = window.setTimeout(() => {
          if (es === this.es && es.readyState !== EventSource.OPEN) this.showError(new ApiError(0, 'network', ''));
        }, 3000);
      }
    };
  }

  private stopEvents(): void {
    window.clearTimeout(this.esTimer);
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  private async diagnose(): Promise<void> {
    try {
      await api.sessions();
      this.retryEvents();
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) this.showSignedOut();
      else {
        this.showError(err);
        this.retryEvents();
      }
    }
  }

  private retryEvents(): void {
    const delay = Math.min(5000, 500 * 2 ** this.esAttempts++);
    this.setLive('down', 'Disconnected');
    window.clearTimeout(this.esTimer);
    this.esTimer = window.setTimeout(() => this.startEvents(), delay);
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
        this.upsert(s);
      }
      for (const id of [...this.sessions.keys()]) if (!seen.has(id)) this.remove(id);
      // Events that came while the listing was on its way are newer or equal.
      for (const [name, data] of this.buffered) this.applyEvent(name, data);
      this.loaded = true;
      this.renderEmpty();
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) this.showSignedOut();
      else this.showError(err);
    } finally {
      this.buffered = null;
      this.listing = false;
      this.root.querySelector('#loading')?.remove();
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
    const o = obj as Partial<Session> & { session?: Session };
    const s = (o.session && typeof o.session === 'object' ? o.session : o) as Partial<Session>;
    if (typeof s.id !== 'string') return;
    if (name === 'session_removed') this.remove(s.id);
    else if (this.sessions.has(s.id)) this.upsert({ ...this.sessions.get(s.id)!, ...s } as Session);
    else if (typeof s.status === 'string') this.upsert(s as Session);
    this.renderEmpty();
  }

  private async loadProviders(): Promise<void> {
    try {
      this.providers = await api.providers();
      this.renderProviders();
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) this.showSignedOut();
      else {
        this.providerSel.disabled = true;
        this.startBtn.disabled = true;
        this.showProviderHint(`Could not load the providers: ${messageOf(err)}`);
      }
    }
  }

  // ---- actions ------------------------------------------------------------

  private async create(): Promise<void> {
    const provider = this.providerSel.value;
    if (!provider) return;
    const req: { provider: string; name?: string; cwd?: string } = { provider };
    const name = this.nameIn.value.trim();
    const cwd = this.cwdIn.value.trim();
    if (name) req.name = name;
    if (cwd) req.cwd = cwd;
    this.formError.hidden = true;
    this.startBtn.disabled = true;
    try {
      const s = await api.create(req);
      this.upsert(s);
      this.renderEmpty();
      this.nameIn.value = '';
      location.assign(`/s/${encodeURIComponent(s.id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) return this.showSignedOut();
      setText(this.formError, `Could not start the session: ${messageOf(err)}`);
      this.formError.hidden = false;
    } finally {
      this.startBtn.disabled = false;
    }
  }

  private startRename(id: string): void {
    const row = this.rows.get(id);
    const s = this.sessions.get(id);
    if (!row || !s || row.editing) return;
    row.editing = true;
    const input = h('input', { class: 'rename-input', type: 'text', value: s.name, spellcheck: false, autocomplete: 'off', attrs: { maxlength: '128' }, aria: { label: 'New name' } });
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

  // ---- rendering ------------------------------------------------------------

  private upsert(s: Session): void {
    const prev = this.sessions.get(s.id);
    // The end is final: a late answer or event that still says "active"
    // (a DELETE's 202, a listing that crossed the exit event) never undoes it.
    if (prev && isEnded(prev) && !isEnded(s)) s = { ...s, status: prev.status, exit: prev.exit };
    this.sessions.set(s.id, s);
    if (!this.rows.has(s.id)) {
      this.rows.set(s.id, this.makeRow(s.id));
      this.placeRow(s.id);
    } else if (prev && prev.created_at !== s.created_at) this.placeRow(s.id);
    this.renderRow(s.id);
  }

  private remove(id: string): void {
    this.sessions.delete(id);
    const row = this.rows.get(id);
    if (row) {
      window.clearTimeout(row.confirmTimer);
      row.tr.remove();
    }
    this.rows.delete(id);
  }

  /** Newest first. */
  private placeRow(id: string): void {
    const row = this.rows.get(id)!;
    const t = Date.parse(this.sessions.get(id)!.created_at) || 0;
    let before: Element | null = null;
    for (const tr of this.tbody.children) {
      const other = this.sessions.get((tr as HTMLElement).dataset.id!);
      if (tr !== row.tr && other && (Date.parse(other.created_at) || 0) < t) {
        before = tr;
        break;
      }
    }
    this.tbody.insertBefore(row.tr, before);
  }

  private makeRow(id: string): Row {
    const cell = (key: string, label: string, ...kids: Array<Node>) => h('td', { class: `c-${key}`, dataset: { label } }, ...kids);
    const nameText = h('a', { class: 'name', href: `/s/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener' });
    const idText = h('span', { class: 'id mono', text: shortId(id), title: id });
    const titleText = h('span', { class: 'title' });
    const name = h('div', { class: 'name-cell' }, nameText, idText, titleText);
    const status = h('span', { class: 'badge' });
    const kill = h('button', { type: 'button', class: 'btn btn-small btn-danger act-kill', title: 'Terminate the session', on: { click: () => void this.kill(id) } }, icon(ICONS.kill, 14), h('span', { class: 'btn-label', text: 'Kill' }));
    const rename = h('button', { type: 'button', class: 'btn btn-small act-rename', title: 'Rename', on: { click: () => this.startRename(id) } }, icon(ICONS.edit, 14), h('span', { class: 'btn-label', text: 'Rename' }));
    const open = h('a', { class: 'btn btn-small act-open', href: `/s/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener', title: 'Open the terminal in a new tab' }, icon(ICONS.open, 14), h('span', { class: 'btn-label', text: 'Open' }));
    const row: Row = {
      tr: h('tr', { dataset: { id } }),
      name: h('div', {}),
      nameText,
      idText,
      titleText,
      provider: h('span', {}),
      status,
      size: h('span', { class: 'mono' }),
      clients: h('span', { class: 'num' }),
      cpu: h('span', { class: 'num' }),
      mem: h('span', { class: 'num' }),
      age: h('span', { class: 'num' }),
      exit: h('span', {}),
      kill,
      rename,
      editing: false,
    };
    row.name = name;
    row.tr.append(
      cell('name', 'Name', name),
      cell('provider', 'Provider', row.provider),
      cell('status', 'Status', status),
      cell('size', 'Size', row.size),
      cell('clients', 'Clients', row.clients),
      cell('cpu', 'CPU', row.cpu),
      cell('mem', 'Memory', row.mem),
      cell('age', 'Age', row.age),
      cell('exit', 'Exit', row.exit),
      cell('actions', '', h('div', { class: 'actions' }, open, rename, kill)),
    );
    return row;
  }

  private renderRow(id: string): void {
    const s = this.sessions.get(id);
    const row = this.rows.get(id);
    if (!s || !row) return;
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
    setText(row.provider, s.provider || (s.command ?? []).join(' '));
    row.provider.title = (s.command ?? []).join(' ');
    setText(row.status, s.status);
    row.status.className = `badge badge-${s.status}`;
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
    row.rename.hidden = false;
    if (ended) window.clearTimeout(row.confirmTimer);
  }

  private renderEmpty(): void {
    const n = this.sessions.size;
    this.empty.hidden = n > 0 || !this.loaded;
    this.table.hidden = n === 0;
    const running = [...this.sessions.values()].filter((s) => !isEnded(s)).length;
    setText(this.count, n ? (running === n ? `${n}` : `${running} running · ${n - running} ended`) : '');
  }

  private renderProviders(): void {
    const current = this.providerSel.value;
    const opts: HTMLOptionElement[] = [];
    for (const p of this.providers) {
      const label = p.available ? p.name : `${p.name} (not installed)`;
      const o = h('option', { value: p.name, text: label, disabled: !p.available, title: [p.command, ...(p.args ?? [])].join(' ') });
      opts.push(o);
    }
    this.providerSel.replaceChildren(...opts);
    const avail = this.providers.filter((p) => p.available);
    const pick = avail.find((p) => p.name === current) ?? avail.find((p) => p.name === 'shell') ?? avail[0];
    if (pick) this.providerSel.value = pick.name;
    this.providerSel.disabled = !avail.length;
    this.startBtn.disabled = !avail.length;
    if (!this.providers.length) this.showProviderHint('No provider is configured. Add one to the config file under [providers.NAME] with its command, then restart ptyhub serve.');
    else if (!avail.length) this.showProviderHint('None of the providers is installed on the server’s PATH. Install one (or fix its command in the config file under [providers.NAME]), then reload this page.');
    else this.providerHint.hidden = true;
  }

  private showProviderHint(text: string): void {
    setText(this.providerHint, text);
    this.providerHint.hidden = false;
  }

  private tick(): void {
    const now = Date.now();
    for (const [id, row] of this.rows) {
      const s = this.sessions.get(id);
      if (s) setText(row.age, age(s.created_at, now));
    }
  }

  private setLive(state: 'connecting' | 'live' | 'down', text: string): void {
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
    this.signedOut = true;
    this.stopEvents();
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
            if (t) location.assign(`/?token=${encodeURIComponent(t)}`);
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

  private exposeForTests(): void {
    (window as unknown as { __ptyhub: unknown }).__ptyhub = {
      view: 'dashboard',
      sessions: () => [...this.sessions.values()],
      live: () => this.live.dataset.state,
      loaded: () => this.loaded,
    };
  }
}

function field(label: string, control: HTMLElement, extra = ''): HTMLElement {
  return h('label', { class: `field ${extra}`.trim() }, h('span', { class: 'field-label', text: label }), control);
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
