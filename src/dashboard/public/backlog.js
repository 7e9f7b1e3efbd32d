// The backlog for the steering committee and the backlog owners: items by score or rank, full titles, names.
import { $, fill, getJson, h, landName, replace, serviceName, sortableTable, startPage, t } from './console.js';
import { fmtDateTime, fmtNumber } from './format.js';

const params = new URLSearchParams(location.search);
const sort = params.get('sort') === 'rank' ? 'rank' : 'score';
const rows = [];
let next = null;

const score = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 1 });

/** The Länder by name: up to four, then how many more (all of them on hover and on the item's page). */
function landsCell(lands) {
  const names = lands.map(landName);
  const shown = names.length > 4 ? `${names.slice(0, 4).join(', ')} ${fill(t.pages.moreLands, { n: fmtNumber(names.length - 4) })}` : names.join(', ');
  return h('span', { class: 'wrap', title: names.join(', ') }, shown);
}

function toRow(b) {
  const href = `/dashboard/backlog/${encodeURIComponent(b.id)}`;
  return {
    keys: [b.rank ?? Number.MAX_SAFE_INTEGER, b.score, b.title.toLocaleLowerCase('de'), serviceName(b.service), b.lands.length, b.ticketCount, t.backlogStatus[b.status] ?? b.status, b.lastSeen],
    cells: [
      b.rank === null ? '–' : fmtNumber(b.rank),
      score.format(b.score),
      h('a', { href, class: 'subject-link' }, b.title),
      serviceName(b.service),
      landsCell(b.lands),
      fmtNumber(b.ticketCount),
      t.backlogStatus[b.status] ?? b.status,
      h('span', { class: 'nowrap' }, fmtDateTime(b.lastSeen)),
    ],
  };
}

function render() {
  const p = t.backlogPage;
  const columns = [
    { label: p.rank, num: true }, { label: t.columns.score, num: true }, { label: t.columns.title }, { label: t.columns.service },
    { label: p.lands }, { label: t.columns.tickets, num: true }, { label: t.columns.status }, { label: p.lastSeen },
  ];
  replace($('list'),
    rows.length === 0 ? h('p', { class: 'empty' }, p.empty) : sortableTable(columns, rows),
    h('div', { class: 'pager' },
      h('span', { class: 'muted' }, `${fmtNumber(rows.length)} ${t.list.loaded}`),
      next ? h('button', { type: 'button', class: 'small', id: 'more', onclick: more }, t.words.nextPage) : null,
    ),
  );
}

async function more() {
  const query = new URLSearchParams({ sort, limit: '50' });
  if (next) query.set('cursor', next);
  const res = await getJson(`/v1/backlog?${query}`);
  if (!res.ok) return replace($('list'), h('p', { class: 'empty' }, t.backlogPage.empty));
  rows.push(...res.body.items.map(toRow));
  next = res.body.next;
  render();
}

async function start() {
  await startPage('backlog', t.backlogPage.title);
  const p = t.backlogPage;
  replace($('content'),
    h('div', { class: 'page-head' }, h('h1', {}, p.title)),
    h('section', { class: 'panel' },
      h('h2', {}, p.title),
      h('div', { class: 'body' },
        h('div', { class: 'chips' },
          sort === 'score' ? h('span', { class: 'chip' }, p.sortScore) : h('a', { href: '/dashboard/backlog?sort=score' }, p.sortScore),
          sort === 'rank' ? h('span', { class: 'chip' }, p.sortRank) : h('a', { href: '/dashboard/backlog?sort=rank' }, p.sortRank),
        ),
        h('div', { id: 'list' }, t.words.loading),
      ),
    ),
  );
  await more();
  $('content').setAttribute('aria-busy', 'false');
}

start();
