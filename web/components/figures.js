// The run page's "Charts" tab: the Vega/Vega-Lite and Plotly figures a run logged as traceml `chart`
// events (`{kind: "vega"|"plotly"|"bokeh", figure}`, read from `GET .../events/chart?orient=dict`).
// Each event name gets a figure showing its latest step (a step picker when there are several). The
// libraries (web/vendor, ~5 MB) load only when a figure of their kind is shown. Vega runs with
// `vega-interpreter` (`ast: true`), so it needs no `eval`/`new Function` and the page's
// Content-Security-Policy stays strict.

import { aborted, call, paths } from '../api.js';
import { h, replace } from '../dom.js';

const VENDOR = '/ui/assets/vendor';
const scripts = new Map();

/** Loads a classic script once (the vendored UMD builds set globals). */
function script(name) {
  if (!scripts.has(name)) {
    scripts.set(name, new Promise((resolve, reject) => {
      const el = document.createElement('script');
      el.src = `${VENDOR}/${name}`;
      el.async = false;
      el.onload = () => resolve();
      el.onerror = () => { scripts.delete(name); reject(new Error(`cannot load ${name}`)); };
      document.head.append(el);
    }));
  }
  return scripts.get(name);
}

/** vega, then the CSP-safe interpreter (it extends `window.vega`), vega-lite, vega-embed. */
async function vegaEmbed() {
  for (const name of ['vega.min.js', 'vega-interpreter.min.js', 'vega-lite.min.js', 'vega-embed.min.js']) await script(name);
  return window.vegaEmbed;
}

async function plotly() {
  await script('plotly.min.js');
  return window.Plotly;
}

/** `vega` for a Vega spec, `vega-lite` otherwise (altair and most loggers write Vega-Lite). */
function vegaMode(figure) {
  const schema = String(figure.$schema || '');
  if (schema.includes('/vega-lite/')) return 'vega-lite';
  if (schema.includes('/vega/') || (Array.isArray(figure.marks) && !figure.mark)) return 'vega';
  return 'vega-lite';
}

/** Draws `chart` (`{kind, figure}`) in `plot`; answers a cleanup function. */
async function draw(plot, chart) {
  const figure = chart.figure || {};
  if (chart.kind === 'vega') {
    const embed = await vegaEmbed();
    const result = await embed(plot, figure, {
      mode: vegaMode(figure), renderer: 'svg', actions: false, ast: true, expr: window.vega.expressionInterpreter,
    });
    return () => result.finalize();
  }
  if (chart.kind === 'plotly') {
    const Plotly = await plotly();
    const data = Array.isArray(figure.data) ? figure.data : [];
    await Plotly.newPlot(plot, data, figure.layout || {}, { displaylogo: false, responsive: true });
    return () => Plotly.purge(plot);
  }
  throw new Error(`${chart.kind || 'this'} figures are not rendered by the dashboard (vega and plotly are)`);
}

/** One logged chart: its figure at a chosen step. */
function chartFigure(grid, series) {
  const charts = series.data.chart || [];
  const steps = series.data.step || [];
  const plot = h('div', { class: 'plot' });
  const note = h('p', { class: 'chart-note muted' });
  const el = h('figure', { class: 'chart logged-chart', dataset: { name: series.name } }, h('figcaption', { text: series.name }), plot, note);
  grid.append(el);
  let cleanup = null;
  let seq = 0;
  async function show(i) {
    const mine = ++seq;
    if (cleanup) { cleanup(); cleanup = null; }
    replace(plot);
    const chart = charts[i] || {};
    el.dataset.kind = chart.kind || '';
    delete el.dataset.rendered;
    delete el.dataset.error;
    try {
      const done = await draw(plot, chart);
      if (mine !== seq) { done(); return; }
      cleanup = done;
      el.dataset.rendered = 'true';
    } catch (err) {
      if (mine !== seq) return;
      el.dataset.error = 'true';
      replace(plot, h('p', { class: 'error', text: `Cannot draw this chart: ${err.message}` }));
    }
  }
  const last = charts.length - 1;
  if (charts.length > 1) {
    const picker = h('select', { 'aria-label': `Step of ${series.name}`, onchange: (e) => show(Number(e.target.value)) },
      charts.map((c, i) => h('option', { value: String(i), selected: i === last, text: `step ${steps[i] ?? i}` })));
    replace(note, `${charts.length} versions · `, picker);
  } else if (steps[0] !== null && steps[0] !== undefined) {
    note.textContent = `step ${steps[0]}`;
  }
  show(last);
  return () => { seq += 1; if (cleanup) cleanup(); };
}

/** Mounts the tab in `panel`; answers `{ destroy() }`. */
export function figuresView(panel, { owner, project, uuid, signal }) {
  const status = h('p', { class: 'muted', id: 'logged-charts-status', text: 'Loading charts…' });
  const grid = h('div', { class: 'charts', id: 'logged-charts' });
  panel.append(status, grid);
  const cleanups = [];
  call(`${paths.streams(owner, project, uuid)}/events/chart`, { query: { orient: 'dict' }, signal })
    .then((body) => {
      const list = (body.data || []).filter((s) => s.data && (s.data.chart || []).length);
      if (!list.length) {
        status.textContent = 'No chart logged. Log Vega-Lite (altair) or Plotly figures with traceml `log_chart`.';
        return;
      }
      status.remove();
      for (const s of list) cleanups.push(chartFigure(grid, s));
    })
    .catch((err) => {
      if (aborted(err)) return;
      status.className = 'error';
      status.textContent = `Cannot load charts: ${err.message}`;
    });
  return { destroy: () => cleanups.forEach((c) => c()) };
}
