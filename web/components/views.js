// Saved views of a project (the tracker's `/api/v1/{owner}/{project}/searches`, Polyaxon's project
// searches): a "Views" menu on the runs page listing them (each a link `?view=<uuid>` that anyone
// with access can open) and a form saving the table's current state (query, sort, page size,
// columns) under a name. The runs page turns a spec into its URL state and back.

import { aborted, call, paths } from '../api.js';
import { h, replace } from '../dom.js';

/** The runs-table state of a view's `spec`. */
export function stateOfSpec(spec, { defaultSort, limits }) {
  const limit = Number(spec.limit);
  return {
    query: spec.query || '',
    sort: spec.sort || defaultSort,
    offset: 0,
    limit: limits.includes(limit) ? limit : 50,
    cols: spec.columns ? spec.columns.split(',').filter(Boolean) : null,
  };
}

/** The `spec` saving runs-table `state`. */
export function specOfState(state) {
  const spec = { query: state.query || undefined, sort: state.sort, limit: state.limit };
  if (state.cols) spec.columns = state.cols.join(',');
  return spec;
}

/**
 * Mounts the views menu in `el`. `current()` answers the table state to save, `href(uuid)` the page
 * of a view, `saved(view)` is called after a save. Answers `{ refresh(activeUuid) }`.
 */
export function viewsMenu(el, { owner, project, signal, current, href, saved }) {
  const list = h('ul', { class: 'saved-views', id: 'saved-views' });
  const name = h('input', { id: 'view-name', type: 'text', name: 'view-name', placeholder: 'View name', maxlength: '128', required: true });
  const error = h('div', { class: 'error', id: 'view-error', role: 'alert', hidden: true });
  const form = h('form', {
    class: 'save-view', id: 'save-view',
    onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      try {
        const view = await call(paths.views(owner, project), {
          method: 'POST', body: { name: name.value.trim(), spec: specOfState(current()) }, signal,
        });
        name.value = '';
        saved(view);
      } catch (err) {
        if (aborted(err)) return;
        error.textContent = `Cannot save the view: ${err.message}`;
        error.hidden = false;
      }
    },
  }, name, h('button', { type: 'submit', id: 'save-view-button', text: 'Save view' }));
  el.append(h('details', { class: 'columns-picker views-menu', id: 'views-menu' },
    h('summary', { text: 'Views' }),
    h('div', { class: 'picker-body' }, h('h4', { text: 'Saved views' }), list, h('h4', { text: 'Save this view' }), form, error)));

  let active = null;
  async function remove(view) {
    if (!window.confirm(`Delete the view “${view.name}”?`)) return;
    try {
      await call(`${paths.views(owner, project)}/${encodeURIComponent(view.uuid)}`, { method: 'DELETE', signal });
      refresh(active);
    } catch (err) {
      if (!aborted(err)) window.alert(`Cannot delete the view: ${err.message}`);
    }
  }

  async function refresh(activeUuid) {
    active = activeUuid;
    try {
      const { results } = await call(paths.views(owner, project), { query: { limit: 100, sort: 'name' }, signal });
      replace(list, results.length ? results.map((v) => h('li', { dataset: { uuid: v.uuid }, class: v.uuid === active ? 'active' : '' },
        h('a', { href: href(v.uuid), text: v.name, title: v.spec.query || 'all runs' }),
        h('span', { class: 'muted', text: ` · ${v.user || '?'} ` }),
        h('button', { class: 'link', title: 'Delete', 'aria-label': `Delete ${v.name}`, text: '×', onclick: () => remove(v) })))
        : h('li', { class: 'muted', text: 'None yet.' }));
    } catch (err) {
      if (!aborted(err)) replace(list, h('li', { class: 'error', text: `Cannot list views: ${err.message}` }));
    }
  }

  return { refresh };
}
