// A list of tickets with the filter of a count on the board: the URL is the filter, so a list can be shared.
import { $, fill, getJson, h, landName, levelText, orgName, replace, serviceName, startPage, statusText, t, ticketHref, TICKET_ID } from './console.js';
import { fmtDateTime, fmtNumber, shortId } from './format.js';

const FILTERS = ['level', 'status', 'assignee', 'land', 'service', 'sla', 'priority', 'active', 'externalRef', 'q'];
/** What one page of a word search reads at most (the API's SEARCH_SCAN_MAX, src/engine/ticket/list.ts). */
const SEARCH_SCAN_MAX = 2000;
/** What a sorted list sorts at most, the newest of the filter (the API's SORT_READ_MAX). */
const SORT_READ_MAX = 2000;
const PAGE = 50;
const params = new URLSearchParams(location.search);
const filter = new URLSearchParams([...params].filter(([k]) => FILTERS.includes(k)));
/** The server sorts over the filtered set (GET /v1/tickets?sort=&order=); the URL says by what, so a sorted list can be shared. */
const SORTS = ['subject', 'land', 'service', 'priority', 'status', 'level', 'assignee', 'createdAt'];
const sort = SORTS.includes(params.get('sort')) ? params.get('sort') : null;
const order = params.get('order') === 'desc' ? 'desc' : 'asc';
const rows = [];
let next = null;
let searched = 0;
let sorted = null;

function filterWords() {
  const value = (k, v) => {
    switch (k) {
      case 'land': return landName(v);
      case 'service': return serviceName(v);
      case 'assignee': return orgName(v);
      case 'status': return statusText(v);
      case 'level': return levelText(Number(v));
      case 'sla': return t.sla[v] ?? v;
      case 'active': return v === 'true' ? t.list.filters.active : v;
      case 'q': return `„${v}“`;
      default: return v;
    }
  };
  const chips = [...filter].map(([k, v]) => h('span', { class: 'chip' }, k === 'active' ? value(k, v) : `${k === 'q' ? t.pages.searchWords : t.list.filters[k] ?? k}: ${value(k, v)}`));
  return chips.length === 0 ? [h('span', { class: 'chip' }, t.list.all)] : chips;
}

function toRow(v) {
  return [
    h('a', { href: ticketHref(v.id), class: 'ticket-id', title: v.id }, shortId(v.id)),
    h('a', { href: ticketHref(v.id), class: 'subject-link' }, v.subject),
    landName(v.land), serviceName(v.service), v.priority, statusText(v.status), levelText(v.level), orgName(v.assignee), h('span', { class: 'nowrap' }, fmtDateTime(v.createdAt)),
  ];
}

/** A column heading that sorts: a link to this list sorted by it (again: the other way round). */
function heading(label, key) {
  if (!key) return h('th', { scope: 'col' }, label);
  const query = new URLSearchParams(filter);
  query.set('sort', key);
  query.set('order', sort === key && order === 'asc' ? 'desc' : 'asc');
  const current = sort === key ? (order === 'asc' ? 'ascending' : 'descending') : undefined;
  return h('th', { scope: 'col', 'aria-sort': current }, h('a', { class: 'sort', href: `/dashboard/tickets?${query}` }, label, current ? (order === 'asc' ? ' ▲' : ' ▼') : ''));
}

function sortWords() {
  if (!sorted) return t.pages.sortServer;
  const by = t.pages.sortBy[sorted.by] ?? sorted.by;
  const text = fill(t.pages.sortedOver, { by, n: fmtNumber(sorted.over) });
  return sorted.complete ? text : `${text} ${fill(t.pages.sortedPart, { max: fmtNumber(SORT_READ_MAX) })}`;
}

function render() {
  const columns = [[t.columns.ticket], [t.columns.subject, 'subject'], [t.columns.land, 'land'], [t.columns.service, 'service'], [t.columns.priority, 'priority'], [t.columns.status, 'status'], [t.columns.level, 'level'], [t.columns.holder, 'assignee'], [t.list.created, 'createdAt']];
  const table = h('table', { class: 'data rows console-table tickets-table' },
    h('thead', {}, h('tr', {}, columns.map(([label, key]) => heading(label, key)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))),
  );
  replace($('list'),
    rows.length === 0 ? h('p', { class: 'empty' }, t.list.empty) : table,
    h('div', { class: 'pager' },
      h('span', { class: 'muted', id: 'loaded' }, `${fmtNumber(rows.length)} ${t.list.loaded}`),
      filter.has('q') ? h('span', { class: 'muted', id: 'searched' }, ` · ${fmtNumber(searched)} ${t.pages.searched}`) : null,
      next ? h('button', { type: 'button', class: 'small', id: 'more', onclick: more }, filter.has('q') ? t.pages.searchMore : t.words.nextPage) : null,
    ),
  );
  $('sort-hint').textContent = sortWords();
}

async function more() {
  const query = new URLSearchParams(filter);
  query.set('limit', String(PAGE));
  if (sort) {
    query.set('sort', sort);
    query.set('order', order);
  }
  if (next) query.set('cursor', next);
  const res = await getJson(`/v1/tickets?${query}`);
  if (!res.ok) {
    const refused = (res.body?.errors ?? []).map((e) => `${e.path.replace(/^querystring\./, '')}: ${e.message}`).join('; ');
    replace($('list'), h('p', { class: 'empty' }, res.status === 403 ? t.list.restricted : res.status === 400 ? `${t.pages.refusedField} ${refused}` : t.list.empty));
    return;
  }
  rows.push(...res.body.items.map(toRow));
  next = res.body.next;
  // A sorted search reads the filtered set once per page: the last page's count, not a sum.
  searched = sort ? res.body.searched ?? 0 : searched + (res.body.searched ?? 0);
  sorted = res.body.sorted ?? null;
  render();
}

function searchBox() {
  const form = h('form', { class: 'toolbar', id: 'search-page' },
    h('label', {}, t.pages.searchWords, h('input', { name: 'q', id: 'find-words', type: 'search', maxlength: '100', value: filter.get('q') ?? '' })),
    h('label', {}, t.list.searchId, h('input', { name: 'id', id: 'find-id', maxlength: '100', spellcheck: 'false' })),
    h('label', {}, t.list.searchRef, h('input', { name: 'externalRef', id: 'find-ref', maxlength: '200', spellcheck: 'false', value: filter.get('externalRef') ?? '' })),
    h('button', { type: 'submit', class: 'action' }, t.nav.go),
    h('p', { class: 'muted hint' }, t.pages.searchHint, ' ', fill(t.pages.searchBound, { max: fmtNumber(SEARCH_SCAN_MAX) })),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const words = $('find-words').value.trim();
    const id = $('find-id').value.trim();
    const ref = $('find-ref').value.trim();
    if (id && TICKET_ID.test(id)) return location.assign(ticketHref(id));
    // A search starts from all tickets in reach, as the search box on every page does.
    const query = new URLSearchParams();
    if (words) query.set('q', words);
    if (ref) query.set('externalRef', ref);
    if (id) query.set('q', id);
    location.assign(`/dashboard/tickets?${query}`);
  });
  return form;
}

async function start() {
  await startPage('tickets', t.list.title);
  replace($('content'),
    h('div', { class: 'page-head' }, h('h1', {}, t.list.title)),
    h('section', { class: 'panel' }, h('h2', {}, t.list.search), h('div', { class: 'body' }, searchBox())),
    h('section', { class: 'panel', id: 'list-panel' },
      h('h2', {}, t.list.filter),
      h('div', { class: 'body' }, h('div', { class: 'chips', id: 'filter' }, filterWords()), h('p', { class: 'muted', id: 'sort-hint' }, t.list.sortHint), h('div', { id: 'list' }, t.words.loading)),
    ),
  );
  await more();
  $('content').setAttribute('aria-busy', 'false');
}

start();
