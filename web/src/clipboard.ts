// The clipboard: copying text, and the terminal's copy and paste keys.

import type { Terminal } from '@xterm/xterm';
import { h } from './dom';
import type { Toast } from './toast';

/**
 * Copy text: with the Clipboard API in a secure context, else (or when it
 * refuses) through a hidden textarea and execCommand. False when both fail.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall back below */
  }
  const ta = h('textarea', { class: 'offscreen', value: text, attrs: { readonly: '' } });
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

/** The terminal's key handler (attachCustomKeyEventHandler) for copy and paste. */
export function clipboardKeys(term: Terminal, toast: Toast): (e: KeyboardEvent) => boolean {
  return (e) => {
    if (e.type !== 'keydown') return true;
    const k = e.key.toLowerCase();
    // Copy: Ctrl+Shift+C, or Ctrl+C while text is selected.
    if (e.ctrlKey && !e.altKey && !e.metaKey && k === 'c' && (e.shiftKey || term.hasSelection())) {
      const sel = term.getSelection();
      if (sel) {
        void copyText(sel).then((ok) => toast.show(ok ? 'Copied' : 'Copy failed: the browser refused the clipboard.', ok ? 'info' : 'error'));
        if (!e.shiftKey) term.clearSelection();
      }
      e.preventDefault();
      return false;
    }
    // Paste: Ctrl+Shift+V lets the browser fire its paste event, which
    // xterm.js turns into input (bracketed when the program asked for it).
    if (e.ctrlKey && e.shiftKey && !e.altKey && k === 'v') return false;
    return true;
  };
}
