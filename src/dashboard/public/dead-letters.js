// Every dead letter, paged (the board's count "Fehlzustellungen" opens this): webhook, mail and connector, each to replay.
import { $, fill, getJson, h, orgName, replace, session, startPage, t, ticketHref } from './console.js';
import { fmtDateTime, fmtNumber, shortId } from './format.js';
import { channelText, deadChannel, deadReason, replayedText, replayInPlace } from './readable.js';

const PAGE = 50;
const params = new URLSearchParams(location.search);
const orgFilter = params.get('orgId');
const rows = [];
let next = null;
let total = null;

const replay = (d, button, force = false) => replayInPlace(h, d.id, button, session.csrf, force);

/**
 * A mail in doubt may already be with its recipient: sending it again is an
 * operator's explicit decision (the API wants ?force=true), so it takes two
 * clicks, the second on a button that says what it does.
 */
function inDoubtButton(d) {
  const button = h('button', { type: 'button', class: 'small', title: t.words.inDoubtHint, dataset: { step: 'ask' } }, t.words.replayAnyway);
  button.onclick = () => {
    if (button.dataset.step === 'ask') {
      button.dataset.step = 'confirm';
      button.textContent = t.words.replayAnywayConfirm;
      button.classList.add('danger');
      return;
    }
    void replay(d, button, true);
  };
  return button;
}

function eventCell(d) {
  const type = String(d.event?.type ?? '').replace(/^lotse\./, '');
  const ticket = d.event?.subject;
  return h('span', {}, h('span', { title: d.id }, t.eventType[type] ?? type), ' ', ticket ? h('a', { href: ticketHref(ticket), class: 'ticket-id', title: ticket }, shortId(ticket)) : null);
}

function toRow(d) {
  const reason = deadReason(d);
  return h('tr', { dataset: { id: d.id, channel: deadChannel(d) } },
    h('td', {}, eventCell(d)),
    h('td', {}, h('span', { class: 'channel' }, channelText(d))),
    h('td', {}, h('span', { class: 'name', title: d.orgId }, orgName(d.orgId))),
    h('td', {}, h('span', { class: 'reason', title: `${t.deadList.rawHint}: ${reason.raw}` }, reason.text)),
    h('td', { class: 'num' }, fmtNumber(d.attempts)),
    h('td', {}, h('span', { class: 'nowrap' }, fmtDateTime(d.failedAt))),
    h('td', {}, h('span', { class: 'dead-action' },
      d.replayedAt ? h('span', { class: 'replayed again', title: t.words.failedAgain }, `${replayedText(d.replayedAt)}, ${t.words.failedAgainShort}`) : null,
      d.inDoubt ? h('span', { class: 'bad in-doubt', title: t.words.inDoubtHint }, t.words.inDoubt) : null,
      d.inDoubt ? inDoubtButton(d) : h('button', { type: 'button', class: 'small', onclick: (e) => replay(d, e.currentTarget) }, t.words.replay))),
  );
}

function render() {
  const head = [t.columns.event, t.deadList.channel, t.deadList.recipient, t.columns.reason, t.columns.attempts, t.columns.failedAt, t.columns.action];
  replace($('list'),
    rows.length === 0 ? h('p', { class: 'empty' }, t.deadList.empty) : h('table', { class: 'data rows console-table dead-letter-table', id: 'dead-table' },
      h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: i === 4 ? 'num' : undefined }, c)))),
      h('tbody', {}, rows),
    ),
    h('div', { class: 'pager' },
      h('span', { class: 'muted', id: 'loaded' }, fill(t.deadList.shown, { n: fmtNumber(rows.length) })),
      next ? h('button', { type: 'button', class: 'small', id: 'more', onclick: more }, t.words.nextPage) : null,
    ),
  );
}

async function more() {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (orgFilter) query.set('orgId', orgFilter);
  if (next) query.set('cursor', next);
  const res = await getJson(`/v1/dead-letters?${query}`);
  if (!res.ok) {
    replace($('list'), h('p', { class: 'empty' }, res.status === 403 ? t.list.restricted : t.words.replayFailed));
    return;
  }
  rows.push(...res.body.items.map(toRow));
  next = res.body.next;
  render();
}

async function start() {
  await startPage('dead-letters', t.deadList.title);
  // The same count as the board's (GET /v1/stats): this list holds exactly that many.
  if (!orgFilter) {
    const stats = await getJson('/v1/stats');
    total = stats.ok ? stats.body.deadLetters.count : null;
  }
  replace($('content'),
    h('div', { class: 'page-head' }, h('h1', {}, t.deadList.title), total === null ? null : h('p', { class: 'muted', id: 'total', dataset: { total: String(total) } }, fill(t.deadList.total, { n: fmtNumber(total) }))),
    h('section', { class: 'panel', id: 'dead-panel' },
      h('h2', {}, orgFilter ? `${t.deadList.recipient}: ${orgName(orgFilter)}` : t.deadList.title),
      h('div', { class: 'body' }, h('p', { class: 'muted hint' }, t.deadList.intro), h('div', { id: 'list' }, t.words.loading)),
    ),
  );
  await more();
  $('content').setAttribute('aria-busy', 'false');
}

start();
