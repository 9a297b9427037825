// The dashboard's "New session" card: a provider from those the server
// offers, an optional name and working directory, Record (checked: the
// session is recorded whatever the server's and the provider's `record`;
// unchecked: their setting), and Start, which opens the new session's
// terminal.

import { api, ApiError, type Provider, type Session } from './api';
import { url } from './base';
import { h, icon, ICONS, setText } from './dom';
import { messageOf } from './format';

/** What the form tells the page. */
export interface NewSessionEvents {
  /** A session was started (the page goes to its terminal next). */
  created(s: Session): void;
  /** The server wants a token. */
  signedOut(): void;
}

export class NewSessionForm {
  /** The "New session" card. */
  readonly el: HTMLElement;
  private providers: Provider[] = [];
  private readonly providerSel: HTMLSelectElement;
  private readonly nameIn: HTMLInputElement;
  private readonly cwdIn: HTMLInputElement;
  private readonly recordIn: HTMLInputElement;
  private readonly startBtn: HTMLButtonElement;
  private readonly formError: HTMLElement;
  private readonly providerHint: HTMLElement;

  constructor(private readonly events: NewSessionEvents) {
    this.providerSel = h('select', { id: 'new-provider', name: 'provider', disabled: true, aria: { label: 'Provider' } });
    this.nameIn = h('input', { id: 'new-name', name: 'name', type: 'text', placeholder: 'optional', autocomplete: 'off', spellcheck: false, attrs: { maxlength: '128' } });
    this.cwdIn = h('input', { id: 'new-cwd', name: 'cwd', type: 'text', placeholder: 'default directory', autocomplete: 'off', spellcheck: false });
    this.recordIn = h('input', { id: 'new-record', name: 'record', type: 'checkbox' });
    this.startBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'new-start', disabled: true }, icon(ICONS.plus), h('span', { text: 'Start' }));
    this.formError = h('div', { class: 'form-error', id: 'new-error', role: 'alert', hidden: true });
    this.providerHint = h('div', { class: 'hint', id: 'provider-hint', hidden: true });
    const form = h(
      'form',
      { class: 'new-form', id: 'new-session', autocomplete: 'off', on: { submit: (e) => { e.preventDefault(); void this.create(); } } },
      field('Provider', this.providerSel),
      field('Name', this.nameIn),
      field('Working directory', this.cwdIn, 'grow'),
      h('label', { class: 'field field-check', title: 'Record this session (replay at /r/ID); unchecked, the server’s setting decides' }, this.recordIn, h('span', { text: 'Record' })),
      h('div', { class: 'field field-submit' }, this.startBtn),
    );
    this.el = h('section', { class: 'card' }, h('h2', { class: 'card-title', text: 'New session' }), form, this.providerHint, this.formError);
  }

  /** Some providers are known (loaded, and the server has any). */
  get hasProviders(): boolean {
    return this.providers.length > 0;
  }

  async loadProviders(): Promise<void> {
    try {
      this.providers = await api.providers();
      this.renderProviders();
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) this.events.signedOut();
      else {
        this.providerSel.disabled = true;
        this.startBtn.disabled = true;
        this.showProviderHint(`Could not load the providers: ${messageOf(err)}`);
      }
    }
  }

  private async create(): Promise<void> {
    const provider = this.providerSel.value;
    if (!provider) return;
    const req: { provider: string; name?: string; cwd?: string; record?: boolean } = { provider };
    if (this.recordIn.checked) req.record = true;
    const name = this.nameIn.value.trim();
    const cwd = this.cwdIn.value.trim();
    if (name) req.name = name;
    if (cwd) req.cwd = cwd;
    this.formError.hidden = true;
    this.startBtn.disabled = true;
    try {
      const s = await api.create(req);
      this.events.created(s);
      this.nameIn.value = '';
      location.assign(url(`/s/${encodeURIComponent(s.id)}`));
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) return this.events.signedOut();
      setText(this.formError, `Could not start the session: ${messageOf(err)}`);
      this.formError.hidden = false;
    } finally {
      this.startBtn.disabled = false;
    }
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
}

function field(label: string, control: HTMLElement, extra = ''): HTMLElement {
  return h('label', { class: `field ${extra}`.trim() }, h('span', { class: 'field-label', text: label }), control);
}
