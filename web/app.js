// The dashboard's entry point: a router over `/ui/...` paths (history API, no reload), the header's
// breadcrumbs, and the page lifecycle. A page module exports `mount(root, ctx)` answering
// `{update?(params), unmount?()}`; `ctx` has the path parameters, the query (`URLSearchParams`), an
// `AbortSignal` aborted when the page is left, `crumbs(list)` and `title(text)`. When only the query
// changes and the page has `update`, it is updated in place (its state lives in the URL) unless
// `update` answers false.

import { renderSession } from './auth.js';
import { h, replace } from './dom.js';
import * as compare from './pages/compare.js';
import * as projects from './pages/projects.js';
import * as run from './pages/run.js';
import * as runs from './pages/runs.js';

const part = '([^/]+)';
const ROUTES = [
  [new RegExp('^/ui/?$'), projects, () => ({ owner: 'default' })],
  [new RegExp(`^/ui/${part}/?$`), projects, (m) => ({ owner: m[1] })],
  [new RegExp(`^/ui/${part}/${part}/?$`), null, (m) => `/ui/${m[1]}/${m[2]}/runs`],
  [new RegExp(`^/ui/${part}/${part}/runs/?$`), runs, (m) => ({ owner: m[1], project: m[2] })],
  [new RegExp(`^/ui/${part}/${part}/runs/${part}/?$`), run, (m) => ({ owner: m[1], project: m[2], uuid: m[3] })],
  [new RegExp(`^/ui/${part}/${part}/compare/?$`), compare, (m) => ({ owner: m[1], project: m[2] })],
];

const root = document.getElementById('app');
let current = null;

function decodeParams(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) out[k] = decodeURIComponent(v);
  return out;
}

function render() {
  const { pathname, search } = window.location;
  const query = new URLSearchParams(search);
  if (current && current.pathname === pathname && current.instance && current.instance.update) {
    if (current.instance.update(query) !== false) return;
  }
  if (current) {
    current.controller.abort();
    if (current.instance && current.instance.unmount) current.instance.unmount();
    current = null;
  }
  for (const [pattern, page, params] of ROUTES) {
    const m = pathname.match(pattern);
    if (!m) continue;
    if (!page) {
      navigate(params(m), { replace: true });
      return;
    }
    const controller = new AbortController();
    const ctx = {
      ...decodeParams(params(m)),
      query,
      signal: controller.signal,
      crumbs: setCrumbs,
      title: (text) => { document.title = text ? `${text} · Myelin` : 'Myelin'; },
    };
    replace(root);
    current = { pathname, controller, instance: null };
    current.instance = page.mount(root, ctx) || {};
    return;
  }
  document.title = 'Not found · Myelin';
  setCrumbs([]);
  replace(root, h('section', { class: 'empty' },
    h('h1', { text: 'No such page' }),
    h('p', {}, 'Nothing lives at ', h('code', { text: pathname }), '. ', h('a', { href: '/ui', text: 'Projects' }))));
}

/** Goes to `url` (same origin) without a reload; `replace` rewrites the current history entry. */
export function navigate(url, { replace: rewrite = false } = {}) {
  if (rewrite) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  render();
}

/** Sets the breadcrumbs: `[[label, href?], ...]`. */
function setCrumbs(list) {
  const nav = document.getElementById('crumbs');
  replace(nav, list.map(([label, href], i) => [
    i > 0 ? h('span', { class: 'sep', text: '/' }) : null,
    href ? h('a', { href, text: label }) : h('span', { text: label }),
  ]));
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const a = event.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const target = new URL(a.href, window.location.href);
  if (target.origin !== window.location.origin || !target.pathname.startsWith('/ui')) return;
  if (target.pathname.startsWith('/ui/assets/')) return;
  event.preventDefault();
  navigate(target.pathname + target.search);
});

window.addEventListener('popstate', render);
renderSession();
render();
