// A list of tickets with the filter of a count on the board: the URL is the filter, so a list can be shared.
import { $, getJson, h, landName, levelText, orgName, replace, serviceName, sortableTable, startPage, statusText, t, ticketHref } from './console.js';
import { fmtDateTime, fmtNumber, shortId } from './format.js';

const FILTERS = ['level', 'status', 'assignee', 'land', 'service', 'sla', 'priority', 'active', 'externalRef'];
const PAGE = 50;
const params = new URLSearchParams(location.search);
const filter = new URLSearchParams([...params].filter(([k]) => FILTERS.includes(k)));
const rows = [];
let next = null;

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
      default: return v;
    }
  };
  const chips = [...filter].map(([k, v]) => h('span', { class: 'chip' }, k === 'active' ? value(k, v) : `${t.list.filters[k] ?? k}: ${value(k, v)}`));
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
    rows.length === 0 ? h('p', { class: 'empty' }, t.list.empty) : sortableTable(columns, rows, { class: 'data rows console-table', sortBy: null }),
    h('div', { class: 'pager' },
      h('span', { class: 'muted', id: 'loaded' }, `${fmtNumber(rows.length)} ${t.list.loaded}`),
      next ? h('button', { type: 'button', class: 'small', id: 'more', onclick: more }, t.words.nextPage) : null,
    ),
  );
}

async function more() {
  const query = new URLSearchParams(filter);
  query.set('limit', String(PAGE));
  if (next) query.set('cursor', next);
  const res = await getJson(`/v1/tickets?${query}`);
  if (!res.ok) {
    replace($('list'), h('p', { class: 'empty' }, res.status === 403 ? t.list.restricted : t.list.empty));
    return;
  }
  rows.push(...res.body.items.map(toRow));
  next = res.body.next;
  render();
}

function searchBox() {
  const form = h('form', { class: 'toolbar', id: 'search-page' },
    h('label', {}, t.list.searchId, h('input', { name: 'id', id: 'find-id', maxlength: '100', spellcheck: 'false' })),
    h('label', {}, t.list.searchRef, h('input', { name: 'externalRef', id: 'find-ref', maxlength: '200', spellcheck: 'false', value: filter.get('externalRef') ?? '' })),
    h('button', { type: 'submit', class: 'action' }, t.nav.go),
    h('span', { class: 'muted' }, t.list.searchHint),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('find-id').value.trim();
    const ref = $('find-ref').value.trim();
    if (id) location.assign(ticketHref(id));
    else if (ref) location.assign(`/dashboard/tickets?${new URLSearchParams({ externalRef: ref })}`);
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
      h('div', { class: 'body' }, h('div', { class: 'chips', id: 'filter' }, filterWords()), h('p', { class: 'muted' }, t.list.sortHint), h('div', { id: 'list' }, t.words.loading)),
    ),
  );
  await more();
  $('content').setAttribute('aria-busy', 'false');
}

start();
