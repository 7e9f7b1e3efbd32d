// What the console's pages share: the session, reading and sending JSON with it, the top bar, names.
import t from './i18n/de.js';
import { h, replace } from './dom.js';
import { fmtDateTime } from './format.js';

export const $ = (id) => document.getElementById(id);
export let session = null;

/** A GET with the session cookie; 401 sends the browser to the login. */
export async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.assign('/dashboard/login');
    throw new Error('not logged in');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, ok: res.ok, body, etag: res.headers.get('etag') };
}

/** A change over the API, with the session's CSRF token and the version the page shows (412 when it moved on). */
export async function sendJson(url, payload, version) {
  const headers = { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': session.csrf };
  if (version !== undefined) headers['if-match'] = `"${version}"`;
  const res = await fetch(url, { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(payload) });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, ok: res.ok, body };
}

export const orgName = (id) => (id ? session.names.orgs[id] ?? id : '–');
export const landName = (code) => (code ? session.names.lands[code] ?? code : '–');
export const serviceName = (id) => (id ? session.names.services[id] ?? id : '–');
/** A ticket id as the engine makes them (src/engine/ticket/ids.ts): `T`, ten characters of time, ten random. */
export const TICKET_ID = /^T[0-9A-HJKMNP-TV-Z]{20}(?:-[1-9][0-9]?)?$/;
export const ticketHref = (id) => `/dashboard/tickets/${encodeURIComponent(id)}`;
export const levelText = (level) => (level === null || level === undefined ? t.ticket.level0 : t.level[level] ?? String(level));
export const statusText = (status) => t.status[status] ?? status;

/** A cell that wraps its text in full rather than cutting it. */
export const textCell = (text, cls = 'wrap') => h('span', { class: cls }, text ?? '');

function navLink(href, label, current) {
  return h('a', { href, 'aria-current': current ? 'page' : undefined }, label);
}

/** The top bar of every console page: where one is, the way back to the board, the search, the logout. */
function topbar(current) {
  const search = h('form', { class: 'search', id: 'search-form', role: 'search' },
    h('input', { id: 'search-id', name: 'id', type: 'search', placeholder: t.pages.searchBox, 'aria-label': t.pages.searchBox, maxlength: '100', spellcheck: 'false' }),
  );
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('search-id').value.trim();
    // A ticket id opens the ticket; anything else searches the subjects (GET /v1/tickets?q=).
    if (TICKET_ID.test(text)) location.assign(ticketHref(text));
    else if (text) location.assign(`/dashboard/tickets?${new URLSearchParams({ q: text })}`);
  });
  const logout = h('form', { method: 'post', action: '/dashboard/logout' },
    h('input', { type: 'hidden', name: '_csrf', value: session.csrf ?? '' }),
    h('button', { type: 'submit', class: 'link-button' }, t.header.logout),
  );
  return [
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), h('span', {}, 'Lotse')),
    h('nav', { class: 'console-nav' },
      navLink('/dashboard', t.nav.board, current === 'board'),
      session.readOnly ? null : navLink('/dashboard/tickets?active=true', t.nav.tickets, current === 'tickets'),
      navLink('/dashboard/backlog', t.nav.backlog, current === 'backlog'),
      navLink(`/dashboard/reports/cost-split?year=${new Date().getFullYear()}`, t.nav.report, current === 'report'),
    ),
    session.readOnly ? null : search,
    h('div', { class: 'who' }, h('span', { class: 'who-name', title: session.orgName }, session.orgName), session.readOnly ? h('span', { class: 'badge' }, t.header.readOnly) : null),
    h('nav', { class: 'actions' }, logout),
  ];
}

/** Reads the session and draws the top bar; every page starts here. */
export async function startPage(current, title) {
  const res = await getJson('/dashboard/api/session');
  session = res.body;
  replace($('topbar'), topbar(current));
  setTitle(title);
  return session;
}

export function setTitle(title) {
  document.title = `${title} · Lotse`;
}

/** A message above the page's content: for results of actions and refusals (role=status, read out). */
export function say(text, kind = 'info') {
  const box = $('message');
  box.removeAttribute('title');
  box.hidden = !text;
  box.className = `message ${kind}`;
  box.textContent = text ?? '';
}

/** A definition list of label → value pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '–')]));
}

export const when = (iso) => h('time', { datetime: iso ?? '' }, fmtDateTime(iso));

/** Words with `{name}` placeholders filled (as text, never markup). */
export const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));

/** Tables whose header click sorts the rows shown, by the value each row keeps for that column. */
export function sortableTable(columns, rows, opts = {}) {
  let sortBy = opts.sortBy ?? null;
  let dir = 1;
  const tbody = h('tbody');
  const draw = () => {
    const sorted = sortBy === null ? rows : [...rows].sort((a, b) => {
      const x = a.keys[sortBy];
      const y = b.keys[sortBy];
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    replace(tbody, sorted.map((r) => h('tr', {}, r.cells.map((c, i) => h('td', { class: columns[i].num ? 'num' : undefined }, c)))));
  };
  const heads = columns.map((c, i) => {
    const th = h('th', { class: c.num ? 'num' : undefined, scope: 'col' });
    if (c.sortable === false) th.textContent = c.label;
    else {
      th.append(h('button', { type: 'button', class: 'sort', onclick: () => {
        dir = sortBy === i ? -dir : 1;
        sortBy = i;
        for (const other of heads) other.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
        draw();
      } }, c.label));
    }
    return th;
  });
  draw();
  return h('table', { class: opts.class ?? 'data rows console-table' }, h('thead', {}, h('tr', {}, heads)), tbody);
}

export { t, h, replace };
