import '@xterm/xterm/css/xterm.css';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import './style.css';
import { pagePath, url } from './base';
import { h, replace } from './dom';
import { mountDashboard } from './dashboard';
import { mountReplay } from './replay';
import { mountTerminal } from './terminal';

const app = document.getElementById('app') ?? document.body;
const path = pagePath();
const m = /^\/([sr])\/([^/]+)\/?$/.exec(path);

if (m) {
  let id = m[2]!;
  try {
    id = decodeURIComponent(id);
  } catch {
    /* keep it as it is */
  }
  if (m[1] === 'r') mountReplay(app, id);
  else mountTerminal(app, id);
} else if (path === '/' || path === '/index.html') {
  mountDashboard(app);
} else {
  document.body.classList.add('dash-page');
  replace(
    app,
    h(
      'main',
      { class: 'dash' },
      h('section', { class: 'card login' }, h('h2', { class: 'card-title', text: 'Nothing here' }), h('p', {}, 'This page does not exist. ', h('a', { href: url('/'), text: 'See all sessions' }), '.')),
    ),
  );
}
