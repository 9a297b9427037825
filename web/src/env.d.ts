// Side-effect CSS imports, bundled by Vite into assets/app.css.
declare module '*.css';
