// The public REST API, same origin: JSON calls with the token, a 401 answered by the login form then
// the call again, errors as `ApiError` carrying the server's `{code, message}`; and the paths of
// Polyaxon's API v1 and streams routes.

import { authHeaders, requireLogin } from './auth.js';

/** An error answer of the API (`{code, message, request_id, details?}`), or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function url(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== null && v !== undefined && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function errorOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    return new ApiError(res.status, body.code || `http.${res.status}`, body.message || text, body.details);
  } catch {
    return new ApiError(res.status, `http.${res.status}`, text || res.statusText || `HTTP ${res.status}`);
  }
}

/**
 * Calls the API and answers the response (`raw`) or its JSON (null for 204). `body` is sent as JSON;
 * `query` values that are null/empty are left out; `signal` aborts. Throws `ApiError`.
 */
export async function call(path, { method = 'GET', body, query, signal, raw = false, headers = {} } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const init = { method, signal, headers: { Accept: 'application/json', ...headers, ...authHeaders() } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url(path, query), init);
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network', `cannot reach the server: ${err.message}`);
    }
    if (res.status === 401 && attempt < 3) {
      await requireLogin();
      continue;
    }
    if (!res.ok) throw await errorOf(res);
    if (raw) return res;
    return res.status === 204 ? null : res.json();
  }
}

const seg = encodeURIComponent;

/** `/api/v1/{owner}/{project}` paths. */
export const paths = {
  projects: (owner) => `/api/v1/${seg(owner)}/projects/list`,
  runs: (owner, project) => `/api/v1/${seg(owner)}/${seg(project)}/runs`,
  /** Saved views of a project (Polyaxon's project searches). */
  views: (owner, project) => `/api/v1/${seg(owner)}/${seg(project)}/searches`,
  run: (owner, project, uuid) => `/api/v1/${seg(owner)}/${seg(project)}/runs/${seg(uuid)}`,
  /** `/streams/v1/polyaxon/{owner}/{project}/runs/{uuid}` (metric reads, logs, artifacts). */
  streams: (owner, project, uuid) => `/streams/v1/polyaxon/${seg(owner)}/${seg(project)}/runs/${seg(uuid)}`,
  /** Server-Sent Events `run` `{uuid, status, updated_at}` for every run created or changed. */
  changes: (owner, project) => `/streams/v1/polyaxon/${seg(owner)}/${seg(project)}/runs/changes`,
};

/** True for the error of an aborted request (a page was left): nothing to show. */
export const aborted = (err) => err && err.name === 'AbortError';

/**
 * Reads metric series: `names` (array), at most `sample` points each (server-side LTTB), for one run
 * (`uuids` of length 1) or several (the `multi` route). Answers `[{name, uuid, x, y, time}]` with `x`
 * the steps, or (`time: true`) the timestamps in epoch seconds when a point has no step.
 */
export async function metricSeries(owner, project, uuids, names, sample, signal) {
  const multi = uuids.length > 1;
  const base = multi ? paths.streams(owner, project, 'multi') : paths.streams(owner, project, uuids[0]);
  const query = { names: names.join(','), orient: 'dict', sample };
  if (multi) query.runs = uuids.join(',');
  const body = await call(`${base}/events/metric`, { query, signal });
  return (body.data || []).map((s) => {
    const steps = s.data.step || [];
    const y = s.data.metric || [];
    const time = !steps.every((v) => v !== null && v !== undefined);
    const x = time ? (s.data.timestamp || []).map(epochSeconds) : steps;
    return { name: s.name, uuid: s.uuid || uuids[0], x, y, time };
  });
}

/** Python's `str(datetime)` (`2026-12-04 20:21:06.458805+00:00`) as epoch seconds. */
export function epochSeconds(text) {
  return Date.parse(String(text).replace(' ', 'T')) / 1000;
}
