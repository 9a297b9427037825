// The server's URL prefix (`base_path`, such as `/pty`), told to the page in
// `<meta name="ptyhub-base">`; empty when the server runs at `/`. Every URL
// the page builds (API, events, WebSocket, links) goes under it.

const meta = document.querySelector('meta[name="ptyhub-base"]');

/** The prefix, with a leading `/` and no trailing one, or `''`. */
export const BASE: string = (meta?.getAttribute('content') ?? '').replace(/\/+$/, '');

/** A server path (`/api/sessions`) under the prefix. */
export function url(path: string): string {
  return `${BASE}${path}`;
}

/** The page's own path with the prefix taken off (`/s/ID`). */
export function pagePath(): string {
  const p = location.pathname;
  if (BASE && (p === BASE || p.startsWith(`${BASE}/`))) return p.slice(BASE.length) || '/';
  return p;
}
