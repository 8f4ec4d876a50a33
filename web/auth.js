// The API token: kept in localStorage, sent as `Authorization: Bearer <token>`, and asked for with a
// login form (`POST /api/v1/auth/token {username, password}` → `{token}`) whenever the API answers
// 401. A server running without authentication never answers 401, so the form never shows.

import { h, replace } from './dom.js';

const KEY = 'myelin.token';
let prompt = null;

/** The stored token, or null. */
export function token() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** The headers that authenticate a request (none without a token). */
export function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function store(value) {
  try {
    if (value) localStorage.setItem(KEY, value);
    else localStorage.removeItem(KEY);
  } catch {
    // Private mode without storage: the token lives until the page reloads.
  }
  renderSession();
}

/** Forgets the token (sign out). */
export function signOut() {
  store(null);
}

/**
 * Shows the login form (once, however many requests are waiting) and resolves when a token was
 * stored. The stored token, rejected by the server, is forgotten first.
 */
export function requireLogin() {
  if (!prompt) {
    store(null);
    prompt = new Promise((resolve) => showForm(resolve)).finally(() => { prompt = null; });
  }
  return prompt;
}

function showForm(resolve) {
  const error = h('p', { class: 'error', id: 'login-error', role: 'alert', hidden: true });
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
  });
  const submit = h('button', { id: 'login-submit', type: 'submit', text: 'Sign in' });
  const form = h('form', { class: 'login', id: 'login-form' },
    h('h2', { text: 'Sign in to Myelin' }),
    h('label', {}, 'User name', user),
    h('label', {}, 'Password', pass),
    error, submit);
  const overlay = h('div', { class: 'overlay', id: 'login' }, form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const res = await fetch('/api/v1/auth/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ username: user.value, password: pass.value }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok || !body.token) throw new Error(body.message || `sign-in failed (HTTP ${res.status})`);
      store(body.token);
      overlay.remove();
      resolve();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      submit.disabled = false;
      pass.select();
    }
  });
  document.body.append(overlay);
  user.focus();
}

/** Shows "Sign out" in the header while a token is stored. */
export function renderSession() {
  const el = document.getElementById('session');
  if (!el) return;
  if (!token()) {
    replace(el);
    return;
  }
  replace(el, h('button', {
    class: 'link', id: 'sign-out', text: 'Sign out',
    onclick: () => { signOut(); window.location.reload(); },
  }));
}
