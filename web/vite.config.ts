import { defineConfig } from 'vite';

// The build output is embedded into the ptyhub binary with include_bytes!, so
// the file names are fixed: dist/index.html, dist/assets/app.js,
// dist/assets/app.css, dist/assets/player.js (plus dist/HASH, written by
// scripts/hash.mjs, which fails the build on any other file).
// Two chunks: app.js, and player.js (asciinema-player, which the replay page
// alone imports dynamically); one CSS file; no source maps, no public/ copy,
// no preload polyfill.
// `--mode test` (npm test) builds the same source with the browser tests'
// hook, `window.__ptyhub`, into tests/.build; the production build has none.
export default defineConfig(({ mode }) => ({
  define: { __PTYHUB_TEST_HOOK__: JSON.stringify(mode === 'test') },
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    minify: true,
    cssMinify: true,
    cssCodeSplit: false,
    modulePreload: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 700,
    // Everything referenced from CSS (there are no images or fonts) is inlined.
    assetsInlineLimit: 1024 * 1024,
    target: 'es2022',
    rolldownOptions: {
      output: {
        entryFileNames: 'assets/app.js',
        chunkFileNames: (info) => ((info.facadeModuleId ?? '').includes('asciinema-player') ? 'assets/player.js' : 'assets/app-[name].js'),
        assetFileNames: (info) =>
          (info.names ?? []).some((n) => n.endsWith('.css')) ? 'assets/app.css' : 'assets/[name][extname]',
      },
    },
  },
}));
