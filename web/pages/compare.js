// `/ui/{owner}/{project}/compare?uuids=a,b,...`: N runs side by side. The curves of each metric
// overlaid (one chart per metric, one line per run, read with one multi-run request), parallel
// coordinates of the params against a chosen metric, and a params diff table (`&diff=1`: only the
// rows that differ). While a run is not done, statuses and curves refresh every 5 s.

import { aborted, call, metricSeries, paths } from '../api.js';
import { BASE_SAMPLE, MetricChart } from '../components/chart.js';
import { parallel } from '../components/parallel.js';
import { COLORS, DONE, fmtValue, h, mapLimit, replace, runLabel, statusBadge } from '../dom.js';

export function mount(root, ctx) {
  const { owner, project, signal } = ctx;
  const base = `/ui/${encodeURIComponent(owner)}/${encodeURIComponent(project)}`;
  ctx.title(`Compare · ${project}`);
  ctx.crumbs([[owner, `/ui/${owner}`], [project, `${base}/runs`], ['compare']]);
  const uuids = [...new Set((ctx.query.get('uuids') || '').split(',').map((s) => s.trim()).filter(Boolean))];
  const head = h('div', { class: 'compare-runs', id: 'compare-runs' });
  const charts = h('div', { class: 'charts', id: 'charts' });
  const coords = h('div', { id: 'parallel-box' });
  const diff = h('div', { id: 'params-diff' });
  root.append(h('section', {}, h('h1', { text: `Compare ${uuids.length} run${uuids.length === 1 ? '' : 's'}` }), head),
    h('section', {}, h('h2', { text: 'Metrics' }), charts),
    h('section', {}, h('h2', { text: 'Params against a metric' }), coords),
    h('section', {}, h('h2', { text: 'Params diff' }), diff));
  if (!uuids.length) {
    replace(head, h('p', { class: 'muted' }, 'No run chosen: select runs in the ', h('a', { href: `${base}/runs`, text: 'runs table' }),
      ' and press “Compare selected”, or add ', h('code', { text: '?uuids=UUID1,UUID2' }), ' to this URL.'));
    return {};
  }

  const drawn = new Map();
  let runs = [];
  let sums = [];
  let timer = null;
  let onlyDiff = ctx.query.get('diff') === '1';
  let metricAxis = ctx.query.get('metric') || null;

  const label = (run) => `${runLabel(run)}`;
  const without = (uuid) => `${base}/compare?uuids=${uuids.filter((u) => u !== uuid).join(',')}`;

  async function load() {
    try {
      runs = await Promise.all(uuids.map((u) => call(paths.run(owner, project, u), { signal })));
      sums = await mapLimit(runs, 8, (r) => call(`${paths.run(owner, project, r.uuid)}/metrics/summary`, { signal })
        .then((s) => new Map(s.results.map((m) => [m.name, m]))));
    } catch (err) {
      if (!aborted(err)) replace(head, h('p', { class: 'error', role: 'alert', text: `Cannot load the runs: ${err.message}` }));
      return;
    }
    replace(head, h('ul', { class: 'chips' }, runs.map((r, i) => h('li', { dataset: { uuid: r.uuid } },
      h('span', { class: 'swatch', style: `background:${swatch(i)}` }),
      h('a', { href: `${base}/runs/${r.uuid}`, text: label(r) }), ' ', statusBadge(r.status), ' ',
      uuids.length > 1 ? h('a', { href: without(r.uuid), class: 'remove', title: 'Remove from the comparison', text: '×' }) : null))));
    await drawCharts();
    drawDiff();
    drawParallel();
    if (runs.some((r) => !DONE.has(r.status)) && !signal.aborted) timer = setTimeout(load, 5000);
  }

  async function drawCharts() {
    const names = [...new Set(sums.flatMap((m) => [...m.keys()]))].sort();
    if (!names.length) {
      replace(charts, h('p', { class: 'muted', text: 'None of these runs logged a metric.' }));
      return;
    }
    let series;
    try {
      series = await metricSeries(owner, project, uuids.length > 1 ? runs.map((r) => r.uuid) : [runs[0].uuid], names, BASE_SAMPLE, signal);
    } catch (err) {
      if (!aborted(err)) replace(charts, h('p', { class: 'error', text: `Cannot read the metrics: ${err.message}` }));
      return;
    }
    for (const name of names) {
      const have = runs.filter((_, i) => sums[i].has(name));
      const pick = (list) => have.map((r) => {
        const s = list.find((x) => x.name === name && x.uuid === r.uuid);
        return { label: label(r), color: swatch(runs.indexOf(r)), x: s ? s.x : [], y: s ? s.y : [], time: s ? s.time : false };
      });
      const total = Math.max(...runs.map((_, i) => (sums[i].get(name) || { count: 0 }).count));
      const data = pick(series);
      const existing = drawn.get(name);
      if (existing && existing.have.join() === have.map((r) => r.uuid).join()) {
        existing.chart.setSeries(data, total);
        continue;
      }
      if (existing) { existing.chart.destroy(); existing.chart.el.remove(); }
      const refine = (sample, sig) => metricSeries(owner, project, have.map((r) => r.uuid), [name], sample, sig).then(pick);
      const chart = new MetricChart(charts, { title: name, series: data, total, refine, signal });
      drawn.set(name, { chart, have: have.map((r) => r.uuid) });
    }
  }

  function rowsOf() {
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.inputs || {})))].sort();
    const metrics = [...new Set(sums.flatMap((m) => [...m.keys()]))].sort();
    return [
      ...keys.map((k) => ({ label: k, kind: 'param', values: runs.map((r) => (r.inputs || {})[k]) })),
      ...metrics.map((m) => ({ label: `${m} (last)`, kind: 'metric', values: sums.map((s) => (s.get(m) || {}).last) })),
    ];
  }

  function drawDiff() {
    const rows = rowsOf();
    const differs = (row) => new Set(row.values.map((v) => JSON.stringify(v ?? null))).size > 1;
    const toggle = h('label', { class: 'inline' }, h('input', {
      type: 'checkbox', id: 'only-diff', checked: onlyDiff,
      onchange: (e) => { onlyDiff = e.target.checked; drawDiff(); },
    }), ' only rows that differ');
    const shown = rows.filter((r) => !onlyDiff || differs(r));
    replace(diff, toggle, h('div', { class: 'table-scroll' }, h('table', { class: 'grid diff', id: 'diff-table' },
      h('thead', {}, h('tr', {}, h('th', { text: '' }), runs.map((r) => h('th', { text: label(r) })))),
      h('tbody', {}, shown.map((row) => h('tr', { class: `${row.kind}${differs(row) ? ' differs' : ''}`, dataset: { key: row.label } },
        h('th', { text: row.label }), row.values.map((v) => h('td', { text: fmtValue(v) }))))))));
  }

  function drawParallel() {
    const metrics = [...new Set(sums.flatMap((m) => [...m.keys()]))].sort();
    const params = [...new Set(runs.flatMap((r) => Object.keys(r.inputs || {})))].sort()
      .filter((k) => new Set(runs.map((r) => JSON.stringify((r.inputs || {})[k] ?? null))).size > 1);
    if (runs.length < 2 || !metrics.length || !params.length) {
      replace(coords, h('p', { class: 'muted', text: 'Needs two runs or more whose params differ, and a metric.' }));
      return;
    }
    if (!metrics.includes(metricAxis)) [metricAxis] = metrics;
    const select = h('select', {
      id: 'parallel-metric', 'aria-label': 'Metric',
      onchange: (e) => { metricAxis = e.target.value; drawParallel(); },
    }, metrics.map((m) => h('option', { value: m, selected: m === metricAxis, text: m })));
    replace(coords, h('label', { class: 'inline' }, 'Metric ', select));
    const axes = [...params, metricAxis];
    parallel(coords, {
      axes,
      rows: runs.map((r, i) => ({
        values: Object.fromEntries(axes.map((a, j) => [a, j < params.length ? (r.inputs || {})[a] : (sums[i].get(a) || {}).last])),
      })),
    });
  }

  load();
  return {
    // Another set of runs is another page: answering false makes the router mount it afresh.
    update: (q) => (q.get('uuids') || '') === uuids.join(','),
    unmount: () => {
      clearTimeout(timer);
      drawn.forEach(({ chart }) => chart.destroy());
    },
  };
}

const swatch = (i) => COLORS[i % COLORS.length];
