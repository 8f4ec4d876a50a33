// `/ui` and `/ui/{owner}`: the owner's projects (`GET /api/v1/{owner}/projects/list`), newest first,
// paged with `?offset=`, each linking to its runs.

import { aborted, call, paths } from '../api.js';
import { fmtTime, h, replace } from '../dom.js';

const LIMIT = 50;

export function mount(root, ctx) {
  const { owner } = ctx;
  ctx.title('Projects');
  ctx.crumbs([[owner, `/ui/${encodeURIComponent(owner)}`], ['projects']]);
  const body = h('div', { class: 'loading', text: 'Loading projects…' });
  root.append(h('section', { class: 'projects' }, h('h1', { text: `Projects of ${owner}` }), body));

  async function load(query) {
    const offset = Math.max(0, Number(query.get('offset')) || 0);
    try {
      const page = await call(paths.projects(owner), {
        query: { limit: LIMIT, offset, sort: '-updated_at' }, signal: ctx.signal,
      });
      replace(body, table(page.results), pager(page.count, offset));
    } catch (err) {
      if (aborted(err)) return;
      replace(body, h('p', { class: 'error', role: 'alert', text: `Cannot list projects: ${err.message}` }));
    }
  }

  function table(projects) {
    if (!projects.length) {
      return h('p', { class: 'muted' }, 'No project yet. Create one with ', h('code', { text: 'myelin project create NAME' }),
        ' or ', h('code', { text: `POST /api/v1/${owner}/projects/create` }), '.');
    }
    const base = `/ui/${encodeURIComponent(owner)}`;
    return h('table', { class: 'grid', id: 'projects-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Description', 'Tags', 'Created', 'Updated'].map((t) => h('th', { text: t })))),
      h('tbody', {}, projects.map((p) => h('tr', { dataset: { project: p.name } },
        h('td', {}, h('a', { href: `${base}/${encodeURIComponent(p.name)}/runs`, class: 'project-link', text: p.name })),
        h('td', { class: 'muted', text: p.description || '' }),
        h('td', {}, (p.tags || []).map((t) => h('span', { class: 'tag', text: t }))),
        h('td', { text: fmtTime(p.created_at) }),
        h('td', { text: fmtTime(p.updated_at) })))));
  }

  function pager(count, offset) {
    if (count <= LIMIT) return h('p', { class: 'muted', text: `${count} project${count === 1 ? '' : 's'}` });
    const href = (o) => `/ui/${encodeURIComponent(owner)}?offset=${o}`;
    return h('p', { class: 'pager' },
      `${offset + 1}–${Math.min(count, offset + LIMIT)} of ${count} `,
      offset > 0 ? h('a', { href: href(Math.max(0, offset - LIMIT)), text: '‹ Previous' }) : null, ' ',
      offset + LIMIT < count ? h('a', { href: href(offset + LIMIT), text: 'Next ›' }) : null);
  }

  load(ctx.query);
  return { update: load };
}
