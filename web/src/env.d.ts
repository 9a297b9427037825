// Side-effect CSS imports, bundled by Vite into assets/app.css.
declare module '*.css';

/**
 * True only in the test build (`vite build --mode test`, made by `npm test`
 * into tests/.build): the page then exposes `window.__ptyhub` for the browser
 * tests. The production bundle in dist/ has neither the hook nor its code.
 */
declare const __PTYHUB_TEST_HOOK__: boolean;
