// The terminal view's xterm.js terminal: its look (theme, font), its addons
// (fit, unicode 11, web links), its renderer (WebGL when the GPU draws it,
// else xterm.js's default DOM one) and its buffer as text (for tests).

import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebglAddon } from '@xterm/addon-webgl';
import { h } from './dom';

const THEME: ITheme = {
  background: '#0b0e14',
  foreground: '#d6dde6',
  cursor: '#58a6ff',
  cursorAccent: '#0b0e14',
  selectionBackground: '#264f78',
  black: '#1c2128',
  red: '#ff7b72',
  green: '#3fb950',
  yellow: '#d29922',
  blue: '#58a6ff',
  magenta: '#bc8cff',
  cyan: '#39c5cf',
  white: '#b1bac4',
  brightBlack: '#6e7681',
  brightRed: '#ffa198',
  brightGreen: '#56d364',
  brightYellow: '#e3b341',
  brightBlue: '#79c0ff',
  brightMagenta: '#d2a8ff',
  brightCyan: '#56d4dd',
  brightWhite: '#f0f6fc',
};

const FONT =
  'ui-monospace, "SF Mono", "Cascadia Mono", "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", "Noto Sans Mono", monospace';

/** Renderer strings of WebGL implementations that rasterise on the CPU. */
const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software rasterizer|microsoft basic render/i;

export class Screen {
  /** The element the terminal is drawn in. */
  readonly host: HTMLElement;
  readonly term: Terminal;
  readonly fit = new FitAddon();
  renderer: 'webgl' | 'dom' = 'dom';
  private webgl: WebglAddon | null = null;

  constructor(readonly: boolean) {
    this.host = h('div', { class: 'term-host', id: 'terminal' });
    this.term = new Terminal({
      allowProposedApi: true,
      cursorBlink: true,
      fontFamily: FONT,
      fontSize: window.matchMedia('(max-width: 700px)').matches ? 12 : 14,
      lineHeight: 1.1,
      scrollback: 10_000,
      theme: THEME,
      disableStdin: readonly,
      macOptionIsMeta: true,
      linkHandler: { activate: (_e, uri) => openLink(uri), allowNonHttpProtocols: false },
    });
  }

  /** Load the addons and open the terminal in the host, which is in the page by now. */
  open(): void {
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new Unicode11Addon());
    this.term.unicode.activeVersion = '11';
    this.term.loadAddon(new WebLinksAddon((_e, uri) => openLink(uri)));
    this.term.open(this.host);
    this.webgl = loadWebgl(this.term);
    if (this.webgl) {
      this.renderer = 'webgl';
      this.webgl.onContextLoss(() => this.dropWebgl());
      const once = this.term.onRender(() => {
        once.dispose();
        requestAnimationFrame(() => this.checkWebgl());
      });
    }
  }

  /** Every line of the buffer (scrollback and screen), trailing blanks trimmed. */
  text(): string {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < b.length; i++) out.push(b.getLine(i)?.translateToString(true) ?? '');
    return out.join('\n');
  }

  /** The last n lines of the buffer. */
  tail(n: number): string {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let i = Math.max(0, b.length - n); i < b.length; i++) out.push(b.getLine(i)?.translateToString(true) ?? '');
    return out.join('\n');
  }

  /** Back to xterm.js's default (DOM) renderer. */
  private dropWebgl(): void {
    const w = this.webgl;
    this.webgl = null;
    this.renderer = 'dom';
    try {
      w?.dispose();
    } catch {
      /* already gone */
    }
  }

  /**
   * A WebGL canvas whose backing store does not match its size on screen
   * draws nothing useful (seen with some emulated pixel ratios): use the
   * default renderer then.
   */
  private checkWebgl(): void {
    if (!this.webgl) return;
    const c = this.host.querySelector<HTMLCanvasElement>('.xterm-screen canvas:not(.xterm-link-layer)');
    if (!c) return;
    const want = Math.round(c.getBoundingClientRect().width * window.devicePixelRatio);
    if (want > 0 && Math.abs(c.width - want) > 2) this.dropWebgl();
  }
}

/**
 * The WebGL renderer when the browser has hardware-accelerated WebGL 2.
 * WebGL on a software rasteriser (SwiftShader, llvmpipe: no GPU, or a
 * blocklisted one) works but is slower than the DOM renderer and competes
 * with the page for the CPU, so a flood would make the page fall behind:
 * the DOM renderer is used then.
 */
function loadWebgl(term: Terminal): WebglAddon | null {
  try {
    const probe = document.createElement('canvas').getContext('webgl2');
    if (!probe) return null;
    const info = probe.getExtension('WEBGL_debug_renderer_info');
    const name = info ? String(probe.getParameter(info.UNMASKED_RENDERER_WEBGL) ?? '') : '';
    probe.getExtension('WEBGL_lose_context')?.loseContext();
    if (SOFTWARE_GL.test(name)) return null;
  } catch {
    return null;
  }
  try {
    const addon = new WebglAddon();
    term.loadAddon(addon);
    return addon;
  } catch {
    return null;
  }
}

function openLink(uri: string): void {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return;
  window.open(u.href, '_blank', 'noopener,noreferrer');
}
