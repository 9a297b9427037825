// DOM helpers. Data (session names, titles, labels, error messages) only
// ever reaches the page through textContent or attribute/property values:
// nothing here parses HTML.

export type Child = Node | string | null | undefined | false;

export interface Attrs {
  class?: string;
  id?: string;
  text?: string;
  title?: string;
  type?: string;
  href?: string;
  target?: string;
  rel?: string;
  role?: string;
  hidden?: boolean;
  disabled?: boolean;
  value?: string;
  placeholder?: string;
  name?: string;
  autocomplete?: string;
  spellcheck?: boolean;
  dataset?: Record<string, string>;
  aria?: Record<string, string>;
  attrs?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs.class) el.className = attrs.class;
  if (attrs.id) el.id = attrs.id;
  if (attrs.title !== undefined) el.title = attrs.title;
  if (attrs.hidden) el.hidden = true;
  if (attrs.role) el.setAttribute('role', attrs.role);
  const anyEl = el as unknown as Record<string, unknown>;
  if (attrs.type !== undefined) el.setAttribute('type', attrs.type);
  if (attrs.href !== undefined) anyEl.href = attrs.href;
  if (attrs.target !== undefined) anyEl.target = attrs.target;
  if (attrs.rel !== undefined) anyEl.rel = attrs.rel;
  if (attrs.disabled !== undefined) anyEl.disabled = attrs.disabled;
  if (attrs.value !== undefined) anyEl.value = attrs.value;
  if (attrs.placeholder !== undefined) anyEl.placeholder = attrs.placeholder;
  if (attrs.name !== undefined) anyEl.name = attrs.name;
  if (attrs.autocomplete !== undefined) el.setAttribute('autocomplete', attrs.autocomplete);
  if (attrs.spellcheck !== undefined) el.spellcheck = attrs.spellcheck;
  if (attrs.dataset) for (const [k, v] of Object.entries(attrs.dataset)) el.dataset[k] = v;
  if (attrs.aria) for (const [k, v] of Object.entries(attrs.aria)) el.setAttribute(`aria-${k}`, v);
  if (attrs.attrs) for (const [k, v] of Object.entries(attrs.attrs)) el.setAttribute(k, v);
  if (attrs.on) {
    for (const [k, fn] of Object.entries(attrs.on)) {
      if (fn) el.addEventListener(k, fn as EventListener);
    }
  }
  if (attrs.text !== undefined) el.textContent = attrs.text;
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replace all children of `el` (text is set as text, never parsed). */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** A small inline SVG icon built with DOM calls (no markup strings). */
export function icon(paths: readonly string[], size = 16): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.classList.add('icon');
  for (const d of paths) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}

export const ICONS = {
  plus: ['M12 5v14', 'M5 12h14'],
  back: ['M15 18l-6-6 6-6'],
  open: ['M14 3h7v7', 'M10 14L21 3', 'M21 14v5a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h5'],
  edit: ['M12 20h9', 'M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z'],
  kill: ['M18 6L6 18', 'M6 6l12 12'],
  eye: ['M1 12s4-8 11-8 11 8 11 8-4 8-11 8S1 12 1 12z', 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z'],
  link: ['M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7', 'M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7'],
  bolt: ['M13 2L3 14h9l-1 8 10-12h-9z'],
  terminal: ['M4 17l6-5-6-5', 'M12 19h8'],
  play: ['M7 4l13 8-13 8z'],
} as const;
