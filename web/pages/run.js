// `/ui/{owner}/{project}/runs/{uuid}`: one run. A header with its live status and duration, and tabs
// (`?tab=`): overview (status timeline, inputs/outputs, details, lineage, children), metrics (uPlot
// charts fed by the server's downsampling), charts (the Vega-Lite/Plotly figures it logged), logs (live SSE tail), artifacts (`&path=` directory,
// `&file=` preview) and spec (the Polyaxonfile and the compiled operation). Until the run is done, its
// status changes arrive over Server-Sent Events (`.../runs/changes?uuids=`), each reloading its
// document and statuses; its duration ticks every second and its metrics refresh every 5 s.

import { aborted, call, metricSeries, paths } from '../api.js';
import { follow } from '../sse.js';
import { artifactsView } from '../components/artifacts.js';
import { BASE_SAMPLE, MetricChart } from '../components/chart.js';
import { figuresView } from '../components/figures.js';
import { logsView } from '../components/logs.js';
import { overview } from '../components/overview.js';
import { DONE, fmtDuration, fmtValue, h, replace, runDuration, runLabel, statusBadge } from '../dom.js';

const TABS = [['overview', 'Overview'], ['metrics', 'Metrics'], ['charts', 'Charts'], ['logs', 'Logs'], ['artifacts', 'Artifacts'], ['spec', 'Spec']];

export function mount(root, ctx) {
  const { owner, project, uuid, signal } = ctx;
  const page = `/ui/${encodeURIComponent(owner)}/${encodeURIComponent(project)}/runs/${encodeURIComponent(uuid)}`;
  ctx.crumbs([[owner, `/ui/${owner}`], [project, `/ui/${owner}/${project}/runs`], [uuid.slice(0, 8)]]);
  const head = h('header', { class: 'run-head' }, h('p', { class: 'muted', text: 'Loading the run…' }));
  const nav = h('nav', { class: 'tabs', role: 'tablist' });
  const panels = {};
  for (const [id] of TABS) panels[id] = h('section', { class: 'panel', id: `panel-${id}`, hidden: true });
  root.append(head, nav, ...Object.values(panels));

  let run = null;
  let refreshOverview = null;
  let metrics = null;
  let figures = null;
  const shown = new Set();
  const timers = [];
  let query = ctx.query;

  const tabHref = (tab, extra = {}) => {
    const q = new URLSearchParams({ tab, ...extra });
    if (tab === 'overview') q.delete('tab');
    const s = q.toString();
    return s ? `${page}?${s}` : page;
  };

  function renderHead() {
    ctx.title(runLabel(run));
    const stop = DONE.has(run.status) || run.status === 'stopping' ? null : h('button', {
      id: 'stop-run', text: 'Stop',
      onclick: async (e) => {
        e.target.disabled = true;
        try { await call(`${paths.run(owner, project, uuid)}/stop`, { method: 'POST', signal }); poll(); } catch (err) {
          if (!aborted(err)) window.alert(`Cannot stop: ${err.message}`);
        }
      },
    });
    replace(head,
      h('h1', { id: 'run-name' }, runLabel(run), ' ', statusBadge(run.status)),
      h('p', { class: 'muted' },
        h('code', { text: run.uuid }), ` · ${run.kind} · duration `,
        h('span', { id: 'run-duration', text: fmtDuration(runDuration(run)) }),
        (run.tags || []).map((t) => [' ', h('span', { class: 'tag', text: t })]), ' ', stop,
        ' ', h('a', { href: `/ui/${owner}/${project}/compare?uuids=${run.uuid}`, text: 'compare…' })));
    head.querySelector('.status').id = 'run-status';
  }

  function show(q) {
    query = q;
    const tab = TABS.some(([id]) => id === q.get('tab')) ? q.get('tab') : 'overview';
    replace(nav, TABS.map(([id, label]) => h('a', {
      href: tabHref(id), role: 'tab', id: `tab-${id}`, 'aria-selected': String(id === tab), class: id === tab ? 'active' : '',
      text: label,
    })));
    for (const [id, el] of Object.entries(panels)) el.hidden = id !== tab;
    if (!run) return;
    if (tab === 'artifacts') {
      replace(panels.artifacts);
      artifactsView(panels.artifacts, {
        owner, project, uuid, dir: q.get('path') || '', file: q.get('file'), signal,
        href: (dir, file) => tabHref('artifacts', { ...(dir ? { path: dir } : {}), ...(file ? { file } : {}) }),
      });
    }
    if (shown.has(tab)) return;
    shown.add(tab);
    if (tab === 'overview') {
      refreshOverview = overview(panels.overview, { owner, project, run, signal });
      poll();
    } else if (tab === 'metrics') {
      metrics = metricsPanel(panels.metrics, { owner, project, uuid, signal });
      metrics.refresh();
    } else if (tab === 'charts') {
      figures = figuresView(panels.charts, { owner, project, uuid, signal });
    } else if (tab === 'logs') {
      logsView(panels.logs, { owner, project, uuid, signal });
    } else if (tab === 'spec') {
      specPanel(panels.spec, run);
    }
  }

  async function poll() {
    try {
      const [latest, statuses] = await Promise.all([
        call(paths.run(owner, project, uuid), { signal }),
        call(`${paths.run(owner, project, uuid)}/statuses`, { signal }),
      ]);
      const changed = !run || latest.status !== run.status;
      run = latest;
      if (changed) renderHead();
      if (changed && DONE.has(run.status) && metrics) metrics.refresh();
      else document.getElementById('run-duration').textContent = fmtDuration(runDuration(run));
      if (refreshOverview) refreshOverview(run, statuses.status_conditions);
    } catch (err) {
      if (!aborted(err)) replace(head, h('p', { class: 'error', role: 'alert', text: `Cannot load the run: ${err.message}` }));
      return false;
    }
    return true;
  }

  const loop = (ms, fn) => {
    const tick = async () => {
      if (!document.hidden) await fn();
      if (!signal.aborted && run && !DONE.has(run.status)) timers.push(setTimeout(tick, ms));
    };
    timers.push(setTimeout(tick, ms));
  };

  show(query);
  poll().then((ok) => {
    if (!ok) return;
    show(query);
    if (DONE.has(run.status)) return;
    follow(`${paths.changes(owner, project)}?uuids=${encodeURIComponent(uuid)}`, {
      signal,
      onEvent: async ({ event }) => {
        if (event !== 'run') return undefined;
        await poll();
        return DONE.has(run.status) ? 'stop' : undefined;
      },
    });
    loop(1000, () => {
      const el = document.getElementById('run-duration');
      if (el) el.textContent = fmtDuration(runDuration(run));
    });
    loop(5000, () => (metrics ? metrics.refresh() : null));
  });

  return {
    update: show,
    unmount: () => {
      timers.forEach(clearTimeout);
      if (metrics) metrics.destroy();
      if (figures) figures.destroy();
    },
  };
}

function specPanel(panel, run) {
  let compiled = run.content;
  try { compiled = JSON.stringify(JSON.parse(run.content), null, 2); } catch { /* not JSON: as it is */ }
  replace(panel,
    h('h2', { text: 'Polyaxonfile (as submitted)' }),
    run.raw_content ? h('pre', { class: 'spec', id: 'raw-spec', text: run.raw_content }) : h('p', { class: 'muted', text: 'None: the run was created by a client.' }),
    h('h2', { text: 'Compiled operation' }),
    compiled ? h('pre', { class: 'spec', id: 'compiled-spec', text: compiled }) : h('p', { class: 'muted', text: 'Not compiled.' }));
}

/** The metrics tab: the summary table and a chart per metric; `refresh()` reloads both. */
function metricsPanel(panel, { owner, project, uuid, signal }) {
  const table = h('div', { id: 'metric-summaries', text: 'Loading metrics…' });
  const grid = h('div', { class: 'charts', id: 'charts' });
  panel.append(table, grid);
  const charts = new Map();
  const refine = (name) => (sample, sig) => metricSeries(owner, project, [uuid], [name], sample, sig)
    .then((list) => list.map((s) => ({ label: s.name, x: s.x, y: s.y, time: s.time })));

  async function refresh() {
    try {
      const { results } = await call(`${paths.run(owner, project, uuid)}/metrics/summary`, { signal });
      if (!results.length) {
        replace(table, h('p', { class: 'muted', text: 'No metric logged yet.' }));
        return;
      }
      replace(table, h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, ['Metric', 'Last', 'Min', 'Max', 'Mean', 'Points', 'Last step'].map((t) => h('th', { text: t })))),
        h('tbody', {}, results.map((m) => h('tr', {},
          h('th', { text: m.name }), [m.last, m.min, m.max, m.mean, m.count, m.last_step].map((v) => h('td', { text: fmtValue(v) })))))));
      const names = results.map((m) => m.name);
      const series = await metricSeries(owner, project, [uuid], names, BASE_SAMPLE, signal);
      for (const m of results) {
        const s = series.find((x) => x.name === m.name);
        if (!s) continue;
        const data = [{ label: m.name, x: s.x, y: s.y, time: s.time }];
        const chart = charts.get(m.name);
        if (chart) chart.setSeries(data, m.count);
        else charts.set(m.name, new MetricChart(grid, { title: m.name, series: data, total: m.count, refine: refine(m.name), signal }));
      }
    } catch (err) {
      if (!aborted(err)) replace(table, h('p', { class: 'error', text: `Cannot load metrics: ${err.message}` }));
    }
  }

  return { refresh, destroy: () => charts.forEach((c) => c.destroy()) };
}
