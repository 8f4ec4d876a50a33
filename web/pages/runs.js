// `/ui/{owner}/{project}/runs`: the runs table. Its state is the URL (`query` PQL, `sort`, `offset`,
// `limit`, `cols`), so every view can be shared; `?view=<uuid>` alone opens a saved view (its spec
// becomes those parameters, `view` stays to mark it) and the "Views" menu saves the current one. The server filters, sorts, pages and counts
// (`GET .../runs?query=&sort=&limit=&offset=`); a 400 (bad PQL or sort) shows the server's message
// inline. Metric columns read each listed run's summaries (cached once the run is done). New runs and
// status changes arrive live over Server-Sent Events (`.../runs/changes`) and reload the page;
// durations and metrics of running runs refresh every 30 s while visible.

import { aborted, call, paths } from '../api.js';
import { follow } from '../sse.js';
import { navigate } from '../app.js';
import { FIXED, column, defaultColumns, nextSort, sortMark } from '../components/columns.js';
import { stateOfSpec, viewsMenu } from '../components/views.js';
import { DONE, h, mapLimit, replace } from '../dom.js';

const LIMITS = [20, 50, 100, 200];
const DEFAULT_SORT = '-created_at';
const REFRESH_MS = 30000;
/** A burst of changes reloads the table once. */
const CHANGE_DEBOUNCE_MS = 250;

function parse(q) {
  const limit = Number(q.get('limit'));
  return {
    query: q.get('query') || '',
    sort: q.get('sort') || DEFAULT_SORT,
    offset: Math.max(0, Number(q.get('offset')) || 0),
    limit: LIMITS.includes(limit) ? limit : 50,
    cols: q.has('cols') ? q.get('cols').split(',').filter(Boolean) : null,
    view: q.get('view') || null,
  };
}

/** True when the URL names a saved view and nothing else: the view's spec is to be loaded. */
const viewOnly = (q) => q.has('view') && ['query', 'sort', 'offset', 'limit', 'cols'].every((k) => !q.has(k));

export function mount(root, ctx) {
  const { owner, project, signal } = ctx;
  const base = `/ui/${encodeURIComponent(owner)}/${encodeURIComponent(project)}`;
  ctx.title(`${project} runs`);
  ctx.crumbs([[owner, `/ui/${owner}`], [project, `${base}/runs`], ['runs']]);
  let state = parse(ctx.query);
  const summaries = new Map();
  const selected = new Set();
  let page = null;
  let seq = 0;
  let timer = null;

  const input = h('input', {
    id: 'pql', type: 'search', name: 'query', value: state.query, spellcheck: 'false', autocomplete: 'off',
    placeholder: 'PQL, e.g.  metrics.loss:<0.2, status:succeeded, inputs.lr:>0.01',
  });
  const form = h('form', {
    class: 'search', id: 'search-form',
    onsubmit: (e) => { e.preventDefault(); go({ ...state, query: input.value.trim(), offset: 0 }); },
  }, input, h('button', { type: 'submit', text: 'Search' }));
  const error = h('div', { class: 'error', id: 'pql-error', role: 'alert', hidden: true });
  const count = h('span', { id: 'runs-count', class: 'count' });
  const pickerBody = h('div', { class: 'picker-body' });
  const picker = h('details', { class: 'columns-picker', id: 'columns-picker' }, h('summary', { text: 'Columns' }), pickerBody);
  const compare = h('button', { id: 'compare-selected', disabled: true, onclick: () => navigate(`${base}/compare?uuids=${[...selected].join(',')}`) });
  const pager = h('span', { class: 'pager', id: 'pager' });
  const viewsSlot = h('span', { class: 'views-slot' });
  const thead = h('thead');
  const tbody = h('tbody');
  const table = h('table', { class: 'grid runs-table', id: 'runs-table' }, thead, tbody);
  root.append(h('section', { class: 'runs' },
    h('h1', { text: `${project}` }), form, error,
    h('div', { class: 'toolbar' }, count, picker, viewsSlot, compare, pager),
    h('div', { class: 'table-scroll' }, table)));

  const urlOf = (s) => {
    const q = new URLSearchParams();
    if (s.query) q.set('query', s.query);
    if (s.sort !== DEFAULT_SORT) q.set('sort', s.sort);
    if (s.offset) q.set('offset', String(s.offset));
    if (s.limit !== 50) q.set('limit', String(s.limit));
    if (s.cols) q.set('cols', s.cols.join(','));
    if (s.view) q.set('view', s.view);
    const text = q.toString();
    return `${base}/runs${text ? `?${text}` : ''}`;
  };
  // A change of the table leaves the saved view it came from.
  const go = (next) => navigate(urlOf({ ...next, view: null }));
  const views = viewsMenu(viewsSlot, {
    owner, project, signal,
    current: () => state,
    href: (uuid) => `${base}/runs?view=${encodeURIComponent(uuid)}`,
    saved: (view) => navigate(urlOf({ ...state, view: view.uuid })),
  });

  // The view whose spec was just written into the URL (a spec of defaults leaves only `view=`).
  let resolved = null;

  /** Shows the URL's state; a URL naming only a view is first rewritten with the view's spec. */
  async function apply(q) {
    state = parse(q);
    views.refresh(state.view);
    const fresh = resolved !== null && resolved === state.view;
    resolved = null;
    if (!viewOnly(q) || fresh) {
      input.value = state.query;
      load();
      return;
    }
    try {
      const view = await call(`${paths.views(owner, project)}/${encodeURIComponent(state.view)}`, { signal });
      const next = { ...stateOfSpec(view.spec, { defaultSort: DEFAULT_SORT, limits: LIMITS }), view: view.uuid };
      ctx.title(`${view.name} · ${project} runs`);
      resolved = view.uuid;
      navigate(urlOf(next), { replace: true });
    } catch (err) {
      if (aborted(err)) return;
      replace(error, h('strong', { text: 'Cannot open the view: ' }), err.message);
      error.dataset.code = err.code || '';
      error.hidden = false;
    }
  }

  // Live: every change of the project's runs reloads the current page (once per burst).
  let pending = null;
  follow(paths.changes(owner, project), {
    signal,
    onEvent: ({ event }) => {
      if (event !== 'run' || pending) return;
      pending = setTimeout(() => {
        pending = null;
        if (!signal.aborted) load();
      }, CHANGE_DEBOUNCE_MS);
    },
  });

  async function loadSummaries(runs) {
    const todo = runs.filter((r) => !(summaries.get(r.uuid) && summaries.get(r.uuid).done));
    await mapLimit(todo, 8, async (r) => {
      try {
        const { results } = await call(`${paths.run(owner, project, r.uuid)}/metrics/summary`, { signal });
        summaries.set(r.uuid, { done: DONE.has(r.status), byName: new Map(results.map((m) => [m.name, m])) });
      } catch (err) {
        if (aborted(err)) throw err;
        summaries.set(r.uuid, { done: false, byName: new Map() });
      }
    });
  }

  async function load() {
    const mine = ++seq;
    clearTimeout(timer);
    table.classList.add('busy');
    try {
      const answer = await call(paths.runs(owner, project), {
        query: { query: state.query, sort: state.sort, limit: state.limit, offset: state.offset }, signal,
      });
      if (mine !== seq) return;
      await loadSummaries(answer.results);
      if (mine !== seq) return;
      error.hidden = true;
      page = answer;
      render();
    } catch (err) {
      if (aborted(err) || mine !== seq) return;
      showError(err);
      page = { count: 0, results: [] };
      render();
    } finally {
      if (mine === seq) table.classList.remove('busy');
    }
    if (mine === seq && !signal.aborted) {
      timer = setTimeout(function tick() {
        if (document.hidden) timer = setTimeout(tick, REFRESH_MS);
        else load();
      }, REFRESH_MS);
    }
  }

  function showError(err) {
    const d = err.details || {};
    const text = err.status === 400 ? err.message : `Cannot list runs: ${err.message}`;
    const children = [h('strong', { text: err.status === 400 ? 'Invalid search: ' : '' }), text];
    if (d.field === 'query' && Number.isInteger(d.position) && state.query) {
      const at = Math.min(d.position, state.query.length);
      children.push(h('code', { class: 'pql-at' }, state.query.slice(0, at),
        h('mark', { text: state.query.slice(at, at + 1) || ' ' }), state.query.slice(at + 1)));
    }
    replace(error, children);
    error.dataset.code = err.code || '';
    error.hidden = false;
  }

  const byName = (run) => (summaries.get(run.uuid) || { byName: new Map() }).byName;

  function render() {
    const runs = page.results;
    const specs = state.cols || defaultColumns(runs, new Map(runs.map((r) => [r.uuid, byName(r)])));
    const chosen = specs.map(column).filter(Boolean);
    const cols = [...FIXED, ...chosen];
    const all = h('input', {
      type: 'checkbox', 'aria-label': 'Select all', checked: runs.length > 0 && runs.every((r) => selected.has(r.uuid)),
      onchange: (e) => { runs.forEach((r) => (e.target.checked ? selected.add(r.uuid) : selected.delete(r.uuid))); render(); },
    });
    replace(thead, h('tr', {}, h('th', { class: 'select' }, all), cols.map((c) => h('th', {
      dataset: { col: c.key }, class: c.kind || '',
      'aria-sort': state.sort === c.sort ? 'ascending' : state.sort === `-${c.sort}` ? 'descending' : null,
    }, h('button', {
      class: 'sort', title: `Sort by ${c.sort}`, text: `${c.label}${sortMark(state.sort, c.sort)}`,
      onclick: () => go({ ...state, sort: nextSort(state.sort, c.sort), offset: 0 }),
    })))));
    replace(tbody, runs.length ? runs.map((run) => h('tr', { dataset: { uuid: run.uuid, status: run.status } },
      h('td', { class: 'select' }, h('input', {
        type: 'checkbox', 'aria-label': 'Select', checked: selected.has(run.uuid),
        onchange: (e) => { if (e.target.checked) selected.add(run.uuid); else selected.delete(run.uuid); updateCompare(); },
      })),
      cols.map((c) => h('td', { dataset: { col: c.key }, class: c.kind || '' }, c.cell(run, byName(run), base)))))
      : h('tr', {}, h('td', { colspan: String(cols.length + 1), class: 'muted empty', text: state.query ? 'No run matches.' : 'No run yet.' })));
    const first = page.count ? state.offset + 1 : 0;
    count.textContent = `${page.count.toLocaleString()} run${page.count === 1 ? '' : 's'}` +
      (page.count > runs.length ? ` · showing ${first}–${state.offset + runs.length}` : '');
    count.dataset.count = String(page.count);
    renderPager();
    renderPicker(runs, specs);
    updateCompare();
  }

  function updateCompare() {
    compare.textContent = `Compare selected (${selected.size})`;
    compare.disabled = selected.size < 1;
  }

  function renderPager() {
    const prev = h('button', { id: 'page-prev', text: '‹ Previous', disabled: state.offset === 0,
      onclick: () => go({ ...state, offset: Math.max(0, state.offset - state.limit) }) });
    const next = h('button', { id: 'page-next', text: 'Next ›', disabled: state.offset + state.limit >= page.count,
      onclick: () => go({ ...state, offset: state.offset + state.limit }) });
    const size = h('select', { 'aria-label': 'Runs per page', onchange: (e) => go({ ...state, limit: Number(e.target.value), offset: 0 }) },
      LIMITS.map((n) => h('option', { value: String(n), selected: n === state.limit, text: `${n} / page` })));
    replace(pager, prev, next, size);
  }

  function renderPicker(runs, specs) {
    const params = new Set(specs.filter((s) => s.startsWith('inputs.')).map((s) => s.slice(7)));
    for (const r of runs) Object.keys(r.inputs || {}).forEach((k) => params.add(k));
    const metrics = new Set(specs.map(column).filter((c) => c && c.metric).map((c) => c.metric));
    for (const r of runs) byName(r).forEach((_, name) => metrics.add(name));
    const chosen = new Set(specs);
    const toggle = (spec) => (e) => {
      const next = specs.filter((s) => s !== spec);
      if (e.target.checked) next.push(spec);
      go({ ...state, cols: next });
    };
    const box = (spec, label) => h('label', { class: 'inline' },
      h('input', { type: 'checkbox', checked: chosen.has(spec), dataset: { spec }, onchange: toggle(spec) }), ` ${label}`);
    replace(pickerBody,
      h('h4', { text: 'Params' }),
      params.size ? [...params].sort().map((k) => h('div', {}, box(`inputs.${k}`, k))) : h('p', { class: 'muted', text: 'none' }),
      h('h4', { text: 'Metrics' }),
      metrics.size ? [...metrics].sort().map((m) => h('div', {}, h('span', { class: 'metric-name', text: m }),
        box(`metrics.${m}`, 'last'), box(`metrics.${m}.min`, 'min'), box(`metrics.${m}.max`, 'max')))
        : h('p', { class: 'muted', text: 'none' }));
  }

  apply(ctx.query);
  return {
    update: apply,
    unmount: () => clearTimeout(timer),
  };
}
