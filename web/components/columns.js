// The columns of the runs table: the fixed ones (status, name, created, duration) and the chosen ones,
// `inputs.<key>` (a param) and `metrics.<name>` (its last value) or `metrics.<name>.min|max|mean`,
// each with the PQL sort key the server orders by.

import { fmtDuration, fmtTime, fmtValue, h, runDuration, runLabel, statusBadge } from '../dom.js';

const AGGREGATES = ['min', 'max', 'mean'];

/** The columns every table shows. */
export const FIXED = [
  { key: 'status', label: 'Status', sort: 'status', cell: (run) => statusBadge(run.status) },
  {
    key: 'name', label: 'Name', sort: 'name',
    cell: (run, _s, base) => h('a', { href: `${base}/runs/${run.uuid}`, class: 'run-link', text: runLabel(run) }),
  },
  { key: 'created', label: 'Created', sort: 'created_at', cell: (run) => fmtTime(run.created_at) },
  { key: 'duration', label: 'Duration', sort: 'duration', cell: (run) => fmtDuration(runDuration(run)) },
];

/** The column of a chosen `spec` (`inputs.lr`, `metrics.loss`, `metrics.loss.min`), or null. */
export function column(spec) {
  if (spec.startsWith('inputs.') && spec.length > 7) {
    const key = spec.slice(7);
    return {
      key: spec, label: key, kind: 'param', sort: spec,
      cell: (run) => fmtValue(run.inputs ? run.inputs[key] : undefined),
      raw: (run) => (run.inputs ? run.inputs[key] : undefined),
    };
  }
  if (spec.startsWith('metrics.') && spec.length > 8) {
    let name = spec.slice(8);
    let agg = 'last';
    const dot = name.lastIndexOf('.');
    if (dot > 0 && AGGREGATES.includes(name.slice(dot + 1))) {
      agg = name.slice(dot + 1);
      name = name.slice(0, dot);
    }
    const raw = (_run, summaries) => {
      const m = summaries && summaries.get(name);
      return m ? m[agg] : undefined;
    };
    return {
      key: spec, label: agg === 'last' ? name : `${name} (${agg})`, kind: 'metric', metric: name, agg, sort: spec,
      cell: (run, summaries) => fmtValue(raw(run, summaries)),
      raw,
    };
  }
  return null;
}

/** The params and metrics most runs of a page have: `inputs.*` (up to 4) then `metrics.*` (up to 3). */
export function defaultColumns(runs, summaries) {
  const counts = (lists) => {
    const n = new Map();
    for (const list of lists) for (const k of list) n.set(k, (n.get(k) || 0) + 1);
    return [...n.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
  };
  const params = counts(runs.map((r) => Object.keys(r.inputs || {}))).slice(0, 4);
  const metrics = counts(runs.map((r) => [...(summaries.get(r.uuid) || new Map()).keys()])).slice(0, 3);
  return [...params.map((k) => `inputs.${k}`), ...metrics.map((m) => `metrics.${m}`)];
}

/** The next sort after a click on a header sorted by `key`: ascending, then descending, then again. */
export function nextSort(current, key) {
  return current === key ? `-${key}` : key;
}

/** `▲`/`▼` when the table is sorted by `key`. */
export function sortMark(current, key) {
  if (current === key) return ' ▲';
  if (current === `-${key}`) return ' ▼';
  return '';
}
