#!/usr/bin/env node
// Writes DIST/HASH: the sha256 (hex) over the four embedded files, in a fixed
// order, each as its path, a NUL, its length, a NUL and its bytes. Also fails
// the build when vite emitted anything but exactly those four files, since
// the server embeds them by name (include_bytes!).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const FILES = ['index.html', 'assets/app.js', 'assets/app.css', 'assets/player.js'];

export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

export function distHash(dir) {
  const h = createHash('sha256');
  for (const f of FILES) {
    const data = readFileSync(join(dir, f));
    h.update(`${f}\0${data.length}\0`);
    h.update(data);
  }
  return h.digest('hex');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? 'dist';
  const found = listFiles(dir).filter((f) => f !== 'HASH');
  const want = [...FILES].sort();
  if (found.join('\n') !== want.join('\n')) {
    console.error(`hash.mjs: ${dir} must hold exactly ${want.join(', ')}; found: ${found.join(', ') || 'nothing'}`);
    process.exit(1);
  }
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) || /\son[a-z]+=/i.test(html)) {
    console.error('hash.mjs: index.html has an inline script or event handler, which the CSP forbids');
    process.exit(1);
  }
  for (const f of FILES) {
    const text = readFileSync(join(dir, f), 'utf8');
    const ext = text.match(/\b(?:src|href)=["']?(?:https?:)?\/\/[^"'\s>]+/i) ?? (f.endsWith('.css') ? text.match(/url\(\s*["']?(?:https?:)?\/\/[^)]+\)/i) : null);
    if (ext) {
      console.error(`hash.mjs: ${f} references an external resource (${ext[0]}); the page must make no external requests`);
      process.exit(1);
    }
  }
  const hash = distHash(dir);
  writeFileSync(join(dir, 'HASH'), `${hash}\n`);
  const sizes = FILES.map((f) => `${f} ${(statSync(join(dir, f)).size / 1024).toFixed(1)} KiB`).join(', ');
  console.log(`dist: ${sizes}; HASH ${hash.slice(0, 16)}…`);
}
