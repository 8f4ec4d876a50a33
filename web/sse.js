// Server-Sent Events over `fetch`, so the stream carries the `Authorization` header (`EventSource`
// cannot). Parses `event:`/`data:`/`id:` fields, answers a 401 with the login form, and reconnects
// after a dropped connection with `Last-Event-ID` so no line is lost or repeated.

import { authHeaders, requireLogin } from './auth.js';

/**
 * Follows `path` until `onEvent` returns (or resolves to) `'stop'` or `signal` aborts. `onEvent({event, data, id})`;
 * `onState(text)` reports `connecting`, `live`, `reconnecting` or an error message.
 */
export async function follow(path, { onEvent, onState = () => {}, signal }) {
  let lastId = null;
  let failures = 0;
  while (!signal.aborted) {
    onState(failures ? 'reconnecting' : 'connecting');
    try {
      const headers = { Accept: 'text/event-stream', ...authHeaders() };
      if (lastId) headers['Last-Event-ID'] = lastId;
      const res = await fetch(path, { headers, signal });
      if (res.status === 401) {
        await requireLogin();
        continue;
      }
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        onState(body.message || `HTTP ${res.status}`);
        if (res.status < 500) return;
        throw new Error(`HTTP ${res.status}`);
      }
      onState('live');
      failures = 0;
      const result = await read(res.body, (event) => {
        if (event.id) lastId = event.id;
        return onEvent(event);
      });
      if (result === 'stop') return;
    } catch (err) {
      if (signal.aborted || err.name === 'AbortError') return;
      onState(`connection lost (${err.message})`);
    }
    failures += 1;
    await sleep(Math.min(10000, 500 * 2 ** Math.min(failures, 5)), signal);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/** Reads one stream of events; answers `'stop'` when a handler asked to stop. */
async function read(body, dispatch) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = { event: 'message', data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return 'eof';
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (event.data.length) {
          const stop = await dispatch({ event: event.event, data: event.data.join('\n'), id: event.id });
          if (stop === 'stop') {
            reader.cancel().catch(() => {});
            return 'stop';
          }
        }
        event = { event: 'message', data: [], id: null };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? '' : line.slice(colon + 1);
      if (text.startsWith(' ')) text = text.slice(1);
      if (field === 'event') event.event = text;
      else if (field === 'data') event.data.push(text);
      else if (field === 'id') event.id = text;
    }
  }
}
