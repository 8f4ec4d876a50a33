// A run's artifacts: one directory level at a time (`GET .../artifacts/tree?path=`), and a preview of
// the chosen file (`GET .../artifact?path=`) fetched with the token: images as blob URLs, HTML in a
// sandboxed iframe (no script, no same origin), CSV/TSV as a table, text as text, anything else as a
// download. The directory and the file live in the page URL (`path=`, `file=`).

import { aborted, call, paths } from '../api.js';
import { fmtBytes, h, replace } from '../dom.js';

const IMAGE = /\.(png|jpe?g|gif|webp|bmp|svg|ico|avif)$/i;
const HTML = /\.html?$/i;
const CSV = /\.(csv|tsv)$/i;
const TEXT = /\.(txt|log|json|jsonl|ya?ml|md|py|toml|cfg|ini|sh|out|err|plx|xml|js|ts|rs|r|sql|ipynb)$|(^|\/)[^.]+$/i;
/** Bytes of a text file shown at most. */
const TEXT_LIMIT = 512 * 1024;
const CSV_ROWS = 500;

/** Renders the browser for `dir` with `file` previewed; `href(dir, file)` builds the page URL. */
export function artifactsView(parent, { owner, project, uuid, dir, file, href, signal }) {
  const base = paths.streams(owner, project, uuid);
  const listing = h('div', { class: 'tree', id: 'artifacts-tree', text: 'Loading…' });
  const preview = h('div', { class: 'preview', id: 'artifact-preview' });
  parent.append(crumbs(dir, href), h('div', { class: 'artifacts' }, listing, preview));

  call(`${base}/artifacts/tree`, { query: { path: dir || undefined }, signal }).then((tree) => {
    const rows = [];
    const join = (name) => (dir ? `${dir}/${name}` : name);
    if (dir) rows.push(h('li', { class: 'dir' }, h('a', { href: href(parent_(dir), null), text: '..' })));
    for (const name of tree.dirs || []) {
      rows.push(h('li', { class: 'dir' }, h('a', { href: href(join(name), null), text: `${name}/` })));
    }
    for (const [name, size] of Object.entries(tree.files || {})) {
      const path = join(name);
      rows.push(h('li', { class: path === file ? 'file selected' : 'file' },
        h('a', { href: href(dir, path), dataset: { path }, text: name }), h('span', { class: 'muted', text: fmtBytes(size) })));
    }
    replace(listing, rows.length ? h('ul', {}, rows) : h('p', { class: 'muted', text: 'This run has no artifacts here.' }));
  }).catch((err) => {
    if (!aborted(err)) replace(listing, h('p', { class: 'error', text: `Cannot list artifacts: ${err.message}` }));
  });

  if (file) showFile(preview, base, file, signal);
}

function parent_(dir) {
  const i = dir.lastIndexOf('/');
  return i < 0 ? '' : dir.slice(0, i);
}

function crumbs(dir, href) {
  const parts = dir ? dir.split('/') : [];
  return h('p', { class: 'path' }, h('a', { href: href('', null), text: 'artifacts' }),
    parts.map((p, i) => [' / ', h('a', { href: href(parts.slice(0, i + 1).join('/'), null), text: p })]));
}

async function showFile(preview, base, path, signal) {
  const name = path.split('/').pop();
  const title = h('h3', {}, name, ' ');
  replace(preview, title, h('p', { class: 'muted', text: 'Loading…' }));
  try {
    const res = await call(`${base}/artifact`, { query: { path, stream: true }, raw: true, signal, headers: { Accept: '*/*' } });
    const size = Number(res.headers.get('content-length'));
    const download = h('a', { class: 'button', text: 'Download', download: name, href: '#' });
    title.append(download);
    let body;
    if (IMAGE.test(name)) {
      const blob = await res.blob();
      download.href = URL.createObjectURL(blob);
      body = h('img', { src: download.href, alt: name, class: 'artifact-image' });
    } else if (HTML.test(name)) {
      const text = await res.text();
      download.href = URL.createObjectURL(new Blob([text], { type: 'text/html' }));
      body = h('iframe', { sandbox: '', srcdoc: text, class: 'artifact-html', title: name, referrerpolicy: 'no-referrer' });
    } else if (CSV.test(name) || TEXT.test(name)) {
      const { text, truncated } = await readText(res, TEXT_LIMIT);
      download.removeAttribute('download');
      download.href = '#';
      download.onclick = (e) => { e.preventDefault(); saveWhole(base, path, name, signal); };
      const note = truncated ? h('p', { class: 'muted', text: `First ${fmtBytes(TEXT_LIMIT)} of ${fmtBytes(size)}.` }) : null;
      body = [note, CSV.test(name) ? csvTable(text, name.toLowerCase().endsWith('.tsv') ? '\t' : ',', truncated) : h('pre', { class: 'artifact-text', text })];
    } else {
      const blob = await res.blob();
      download.href = URL.createObjectURL(blob);
      body = h('p', { class: 'muted', text: `No preview for this kind of file (${fmtBytes(blob.size)}).` });
    }
    replace(preview, title, body);
  } catch (err) {
    if (!aborted(err)) replace(preview, title, h('p', { class: 'error', text: `Cannot read ${path}: ${err.message}` }));
  }
}

async function saveWhole(base, path, name, signal) {
  const res = await call(`${base}/artifact`, { query: { path }, raw: true, signal, headers: { Accept: '*/*' } });
  const a = h('a', { href: URL.createObjectURL(await res.blob()), download: name });
  a.click();
}

/** Reads at most `limit` bytes of a response as UTF-8. */
async function readText(res, limit) {
  const reader = res.body.getReader();
  const chunks = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= limit) {
      truncated = true;
      reader.cancel().catch(() => {});
      break;
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return { text: new TextDecoder().decode(bytes.subarray(0, Math.min(size, limit))), truncated };
}

/** RFC 4180 fields (quotes, doubled quotes, separators and newlines inside quotes). */
export function parseCsv(text, sep = ',') {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === sep) { row.push(field); field = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function csvTable(text, sep, truncated) {
  const rows = parseCsv(text, sep);
  if (truncated && rows.length > 1) rows.pop();
  if (!rows.length) return h('p', { class: 'muted', text: 'Empty file.' });
  const [head, ...rest] = rows;
  return h('div', { class: 'table-scroll' }, h('table', { class: 'grid csv', id: 'artifact-csv' },
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { text: c })))),
    h('tbody', {}, rest.slice(0, CSV_ROWS).map((r) => h('tr', {}, r.map((c) => h('td', { text: c })))))),
  rest.length > CSV_ROWS ? h('p', { class: 'muted', text: `First ${CSV_ROWS} of ${rest.length} rows.` }) : null);
}
