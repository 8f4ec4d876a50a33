// DOM and formatting helpers shared by every page: an element builder, and how times, durations,
// numbers, sizes and statuses are shown.

/**
 * Builds an element. `attrs`: `class`, `text`, `html` is not supported on purpose (no markup from
 * data), `on<event>` handlers, `dataset` (object), `value`/`checked`/`disabled`/`hidden` as
 * properties, anything else as an attribute (skipped when null, undefined or false).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (['value', 'checked', 'disabled', 'hidden', 'selected'].includes(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Removes every child of `el` and appends `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Statuses after which a run never changes again (Polyaxon's `LifeCycle.DONE_VALUES`). */
export const DONE = new Set(['failed', 'upstream_failed', 'stopped', 'skipped', 'succeeded']);

/** A status badge. */
export function statusBadge(status) {
  const s = status || 'unknown';
  return h('span', { class: `status status-${s}`, dataset: { status: s }, text: s.replace('_', ' ') });
}

const pad = (n) => String(n).padStart(2, '0');

/** `2026-12-04 20:21:06` in local time, or `—`. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `1h 02m`, `3m 04s`, `4.2s`, or `—`. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

/** A run's duration: the server's once done, else counted live from `started_at`. */
export function runDuration(run) {
  if (run.duration !== null && run.duration !== undefined) return run.duration;
  if (run.started_at && !DONE.has(run.status)) return (Date.now() - new Date(run.started_at).getTime()) / 1000;
  return null;
}

/** Numbers with at most 6 significant digits; other values as compact JSON. */
export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-4 || a >= 1e7) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
  }
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** `1.2 MB`. */
export function fmtBytes(n) {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** The first 8 hex digits of a uuid. */
export const shortUuid = (uuid) => String(uuid || '').replaceAll('-', '').slice(0, 8);

/** A run's display name. */
export const runLabel = (run) => run.name || shortUuid(run.uuid);

/** A key/value table of an object (inputs, outputs), or a muted `none`. */
export function kvTable(obj, cls = 'kv') {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('p', { class: 'muted', text: 'none' });
  return h('table', { class: cls },
    h('tbody', {}, entries.map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: fmtValue(v) })))));
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Series colours (colour-blind friendly first). */
export const COLORS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000',
  '#7f3c8d', '#11a579', '#3969ac', '#f2b701', '#e73f74', '#80ba5a'];
