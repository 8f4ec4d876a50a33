// The overview of a run: the status timeline (conditions from `GET .../statuses`), inputs, outputs,
// tags, lineage (artifacts, upstream and downstream runs) and, for a pipeline (DAG, matrix, tuner,
// schedule), its children with their statuses.

import { aborted, call, paths } from '../api.js';
import { DONE, fmtDuration, fmtTime, fmtValue, h, kvTable, replace, runLabel, statusBadge } from '../dom.js';

const PIPELINES = new Set(['dag', 'matrix', 'tuner', 'schedule']);

/** The status timeline: a bar of the time spent in each status, then every condition. */
export function timeline(conditions, run) {
  const list = [...(conditions || [])].filter((c) => c.last_transition_time || c.last_update_time);
  if (!list.length) return h('p', { class: 'muted', text: 'No status condition yet.' });
  const at = (c) => new Date(c.last_transition_time || c.last_update_time).getTime();
  list.sort((a, b) => at(a) - at(b));
  const end = DONE.has(run.status) ? at(list[list.length - 1]) : Date.now();
  const start = at(list[0]);
  const span = Math.max(1, end - start);
  const bar = h('div', { class: 'timeline-bar', role: 'img', 'aria-label': 'Time spent in each status' },
    list.map((c, i) => {
      const next = i + 1 < list.length ? at(list[i + 1]) : end;
      const width = Math.max(0.5, ((next - at(c)) / span) * 100);
      return h('span', {
        class: `seg status-${c.type}`, style: `width:${width}%`,
        title: `${c.type}: ${fmtDuration((next - at(c)) / 1000)}`,
      });
    }));
  const rows = list.map((c) => h('tr', { class: 'condition', dataset: { type: c.type } },
    h('td', {}, statusBadge(c.type)),
    h('td', { text: fmtTime(c.last_transition_time || c.last_update_time) }),
    h('td', { text: c.reason || '' }),
    h('td', { class: 'message', text: c.message || '' })));
  return h('div', { class: 'timeline', id: 'timeline' }, bar,
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['Status', 'Since', 'Reason', 'Message'].map((t) => h('th', { text: t })))),
      h('tbody', {}, rows)));
}

/** Renders the overview sections into `parent`; answers `refresh(run, conditions)`. */
export function overview(parent, { owner, project, run, signal }) {
  const status = h('div', { id: 'status-timeline' });
  const inputs = h('div', { id: 'inputs' });
  const outputs = h('div', { id: 'outputs' });
  const meta = h('div', { class: 'meta' });
  const lineage = h('div', { id: 'lineage', text: 'Loading…' });
  const children = h('div', { id: 'children' });
  parent.append(
    h('section', {}, h('h2', { text: 'Status' }), status),
    h('div', { class: 'columns2' },
      h('section', {}, h('h2', { text: 'Inputs' }), inputs),
      h('section', {}, h('h2', { text: 'Outputs' }), outputs)),
    h('section', {}, h('h2', { text: 'Details' }), meta),
    h('section', {}, h('h2', { text: 'Lineage' }), lineage));
  if (PIPELINES.has(run.kind)) parent.append(h('section', {}, h('h2', { text: 'Children' }), children));

  loadLineage(lineage, owner, project, run.uuid, signal);

  return (latest, conditions) => {
    replace(status, timeline(conditions, latest));
    replace(inputs, kvTable(latest.inputs));
    replace(outputs, kvTable(latest.outputs));
    replace(meta, kvTable({
      uuid: latest.uuid, kind: latest.kind, user: latest.user, managed_by: latest.managed_by,
      created: fmtTime(latest.created_at), started: fmtTime(latest.started_at),
      finished: fmtTime(latest.finished_at), wait_time: fmtDuration(latest.wait_time),
      pipeline: latest.pipeline ? latest.pipeline.uuid : null,
      original: latest.original ? `${latest.original.kind} of ${latest.original.uuid}` : null,
      description: latest.description,
    }));
    if (PIPELINES.has(latest.kind)) loadChildren(children, owner, project, latest.uuid, signal);
  };
}

async function loadLineage(el, owner, project, uuid, signal) {
  const base = paths.run(owner, project, uuid);
  try {
    const [artifacts, upstream, downstream] = await Promise.all([
      call(`${base}/lineage/artifacts`, { query: { limit: 200 }, signal }),
      call(`${base}/lineage/upstream`, { signal }),
      call(`${base}/lineage/downstream`, { signal }),
    ]);
    const runLink = (r) => h('a', { href: `/ui/${owner}/${project}/runs/${r.uuid}`, text: runLabel(r) });
    const edges = (title, list, pick) => (list.results.length
      ? h('p', {}, `${title}: `, list.results.map((e, i) => [i ? ', ' : '', runLink(pick(e)), ' ', statusBadge(pick(e).status)]))
      : null);
    replace(el,
      artifacts.results.length
        ? h('table', { class: 'grid' },
          h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Path', 'Direction'].map((t) => h('th', { text: t })))),
          h('tbody', {}, artifacts.results.map((a) => h('tr', {},
            h('td', { text: a.name }), h('td', { text: a.kind || '' }), h('td', { text: a.path || '' }),
            h('td', { text: a.is_input ? 'input' : 'output' })))))
        : h('p', { class: 'muted', text: 'No lineage artifact.' }),
      edges('Upstream runs', upstream, (e) => e.upstream),
      edges('Downstream runs', downstream, (e) => e.downstream));
  } catch (err) {
    if (!aborted(err)) replace(el, h('p', { class: 'error', text: `Cannot read the lineage: ${err.message}` }));
  }
}

async function loadChildren(el, owner, project, uuid, signal) {
  try {
    const page = await call(paths.runs(owner, project), {
      query: { query: `pipeline:${uuid}`, sort: 'created_at', limit: 200 }, signal,
    });
    if (!page.results.length) {
      replace(el, h('p', { class: 'muted', text: 'No child run yet.' }));
      return;
    }
    const counts = {};
    for (const r of page.results) counts[r.status] = (counts[r.status] || 0) + 1;
    replace(el,
      h('p', {}, `${page.count} runs: `, Object.entries(counts).map(([s, n]) => [statusBadge(s), ` ${n} `])),
      h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, ['Status', 'Name', 'Inputs'].map((t) => h('th', { text: t })))),
        h('tbody', {}, page.results.map((r) => h('tr', {},
          h('td', {}, statusBadge(r.status)),
          h('td', {}, h('a', { href: `/ui/${owner}/${project}/runs/${r.uuid}`, text: runLabel(r) })),
          h('td', { class: 'muted', text: Object.entries(r.inputs || {}).map(([k, v]) => `${k}=${fmtValue(v)}`).join(' ') }))))));
  } catch (err) {
    if (!aborted(err)) replace(el, h('p', { class: 'error', text: `Cannot list the children: ${err.message}` }));
  }
}
