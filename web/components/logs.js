// A run's log, followed live: the SSE tail (`GET .../logs/tail`) sends the history then each new line
// (`event: log`, data `{timestamp, value, ...}`) until `event: done` (`{status}`) or `event: error`.
// Lines are appended in animation frames; the view sticks to the bottom unless the reader scrolled up.

import { paths } from '../api.js';
import { h } from '../dom.js';
import { follow } from '../sse.js';

/** Lines kept in the view; older ones are dropped from the top. */
const MAX_LINES = 20000;

export function logsView(parent, { owner, project, uuid, signal }) {
  const state = h('span', { class: 'log-state muted', id: 'log-state', text: 'connecting…' });
  const count = h('span', { class: 'muted', id: 'log-count', text: '' });
  const pre = h('pre', { class: 'logs', id: 'logs', tabindex: '0' });
  const wrap = h('label', { class: 'inline' }, h('input', {
    type: 'checkbox', onchange: (e) => pre.classList.toggle('wrap', e.target.checked),
  }), ' wrap lines');
  parent.append(h('div', { class: 'toolbar' }, state, count, wrap), pre);

  let pending = [];
  let lines = 0;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (!pending.length) return;
    const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 24;
    const frag = document.createDocumentFragment();
    for (const line of pending) {
      frag.append(h('div', { class: 'log-line' },
        h('span', { class: 'log-time', text: shortTime(line.timestamp) }), line.value));
    }
    pending = [];
    pre.append(frag);
    while (pre.childElementCount > MAX_LINES) pre.firstElementChild.remove();
    count.textContent = `${lines.toLocaleString()} line${lines === 1 ? '' : 's'}`;
    if (stick) pre.scrollTop = pre.scrollHeight;
  };

  const push = (line) => {
    pending.push(line);
    lines += 1;
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  };

  follow(`${paths.streams(owner, project, uuid)}/logs/tail`, {
    signal,
    onState: (text) => { if (!state.dataset.final) state.textContent = text === 'live' ? 'following live…' : text; },
    onEvent: ({ event, data }) => {
      if (event === 'log') {
        try {
          push(JSON.parse(data));
        } catch {
          push({ timestamp: null, value: data });
        }
        return undefined;
      }
      if (event === 'done' || event === 'error') {
        let info = {};
        try { info = JSON.parse(data); } catch { info = { message: data }; }
        flush();
        state.dataset.final = event;
        state.textContent = event === 'done'
          ? `run ${info.status || 'done'}: end of log`
          : `log stream failed: ${info.message || 'unknown error'}`;
        return 'stop';
      }
      return undefined;
    },
  });
}

function shortTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toTimeString().slice(0, 8);
}
