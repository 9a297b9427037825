import { h, setText } from './dom';

/** One short message at a time, at the bottom of the page. */
export class Toast {
  readonly el: HTMLElement;
  private timer: number | undefined;

  constructor() {
    this.el = h('div', { class: 'toast', id: 'toast', role: 'status', aria: { live: 'polite' }, hidden: true });
  }

  show(text: string, kind: 'info' | 'error' = 'info', ms = kind === 'error' ? 6000 : 2500): void {
    setText(this.el, text);
    this.el.dataset.kind = kind;
    this.el.hidden = false;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      this.el.hidden = true;
    }, ms);
  }
}
