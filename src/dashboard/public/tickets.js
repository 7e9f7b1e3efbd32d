// A list of tickets with the filter of a count on the board: the URL is the filter, so a list can be shared.
import { $, fill, getJson, h, landName, levelText, orgName, replace, serviceName, sortableTable, startPage, statusText, t, ticketHref, TICKET_ID } from './console.js';
import { fmtDateTime, fmtNumber, shortId } from './format.js';

const FILTERS = ['level', 'status', 'assignee', 'land', 'service', 'sla', 'priority', 'active', 'externalRef', 'q'];
/** What one page of a word search reads at most (the API's SEARCH_SCAN_MAX, src/engine/ticket/list.ts). */
const SEARCH_SCAN_MAX = 2000;
const PAGE = 50;
const params = new URLSearchParams(location.search);
const filter = new URLSearchParams([...params].filter(([k]) => FILTERS.includes(k)));
const rows = [];
let next = null;
let searched = 0;

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
  return {
    keys: [v.id, v.subject.toLocaleLowerCase('de'), landName(v.land), serviceName(v.service), v.priority, statusText(v.status), v.level ?? 9, orgName(v.assignee), v.createdAt],
    cells: [
      h('a', { href: ticketHref(v.id), class: 'ticket-id', title: v.id }, shortId(v.id)),
      h('a', { href: ticketHref(v.id), class: 'subject-link' }, v.subject),
      landName(v.land), serviceName(v.service), v.priority, statusText(v.status), levelText(v.level), orgName(v.assignee), h('span', { class: 'nowrap' }, fmtDateTime(v.createdAt)),
    ],
  };
}

function render() {
  const columns = [t.columns.ticket, t.columns.subject, t.columns.land, t.columns.service, t.columns.priority, t.columns.status, t.columns.level, t.columns.holder, t.list.created].map((label) => ({ label }));
  replace($('list'),
    rows.length === 0 ? h('p', { class: 'empty' }, t.list.empty) : sortableTable(columns, rows, { class: 'data rows console-table tickets-table', sortBy: null }),
    h('div', { class: 'pager' },
      h('span', { class: 'muted', id: 'loaded' }, `${fmtNumber(rows.length)} ${t.list.loaded}`),
      filter.has('q') ? h('span', { class: 'muted', id: 'searched' }, ` · ${fmtNumber(searched)} ${t.pages.searched}`) : null,
      next ? h('button', { type: 'button', class: 'small', id: 'more', onclick: more }, filter.has('q') ? t.pages.searchMore : t.words.nextPage) : null,
    ),
  );
  $('sort-hint').textContent = fill(t.pages.sortLoaded, { n: fmtNumber(rows.length) });
}

async function more() {
  const query = new URLSearchParams(filter);
  query.set('limit', String(PAGE));
  if (next) query.set('cursor', next);
  const res = await getJson(`/v1/tickets?${query}`);
  if (!res.ok) {
    const refused = (res.body?.errors ?? []).map((e) => `${e.path.replace(/^querystring\./, '')}: ${e.message}`).join('; ');
    replace($('list'), h('p', { class: 'empty' }, res.status === 403 ? t.list.restricted : res.status === 400 ? `${t.pages.refusedField} ${refused}` : t.list.empty));
    return;
  }
  rows.push(...res.body.items.map(toRow));
  next = res.body.next;
  searched += res.body.searched ?? 0;
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
