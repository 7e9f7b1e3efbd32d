// One backlog item: why its tickets were linked, and the decisions its machine allows the caller now.
import { $, facts, getJson, h, landName, replace, say, sendJson, serviceName, session, setTitle, startPage, t, ticketHref, when } from './console.js';
import { fmtDateTime, fmtNumber } from './format.js';

const itemId = decodeURIComponent(location.pathname.replace(/^\/dashboard\/backlog\//, ''));
let item = null;
const score = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 2 });

const DECISIONS = {
  PRIORITIZE: [{ name: 'rank', kind: 'number' }, { name: 'comment', optional: true }],
  ACCEPT: [{ name: 'note', optional: true }],
  REJECT: [{ name: 'reason' }],
  SCHEDULE: [{ name: 'release' }, { name: 'comment', optional: true }],
  COMPLETE: [{ name: 'note', optional: true }],
  MERGE: [{ name: 'into' }, { name: 'comment', optional: true }],
};
const LABEL = { rank: 'backlogPage.rank', note: 'backlogPage.comment', comment: 'pages.commentOptional', reason: 'backlogPage.reason', release: 'backlogPage.release', into: 'backlogPage.into' };
const labelOf = (name) => LABEL[name].split('.').reduce((o, k) => o[k], t);
/** The linked tickets as the item's reader may see them (subject, Land, date, status), by id. */
let linked = new Map();
let removed = new Set();

/** The title the recurring-problem window gives an item (src/engine/backlog/feed.ts) before the subject it was opened with. */
const RECURRING_TITLE = /^Wiederkehrendes Problem: /;
const plain = (text) => text.normalize('NFKC').toLocaleLowerCase('de').replace(/\s+/g, ' ').trim();

/** Why a ticket was linked, in words: the same subject, or the words the ticket and the item share. */
function why(l) {
  const source = t.backlogPage.sources[l.source] ?? l.source;
  const words = l.words.length > 8 ? `${l.words.slice(0, 8).join(', ')}, …` : l.words.join(', ');
  // Alike in full: the ticket a suggestion's item was made of; a ticket whose subject is the item's; or the same terms in other words.
  if (l.identical && l.source !== 'recurring') return `${source} · ${t.backlogPage.origin}`;
  const ticket = linked.get(l.ticketId);
  if (l.identical && ticket && plain(ticket.subject) === plain(item.title.replace(RECURRING_TITLE, ''))) return `${source} · ${t.pages.identical}`;
  if (l.identical && words) return `${source} · ${t.pages.sameTerms}: ${words}`;
  if (words) return `${source} · ${t.pages.sharedWords}: ${words}`;
  return `${source} · ${t.backlogPage.noShared}`;
}

function subjectCell(l) {
  const ticket = linked.get(l.ticketId);
  const text = ticket ? ticket.subject : removed.has(l.ticketId) ? t.words.none : '…';
  // Operators open the ticket; the steering committee reads what it asks, and no more.
  return session.readOnly
    ? h('span', { class: 'wrap subject-text', title: l.ticketId }, text)
    : h('a', { href: ticketHref(l.ticketId), class: 'subject-link', title: l.ticketId }, text);
}

function links() {
  if (item.why.length === 0) return h('p', { class: 'muted' }, t.words.none);
  return h('table', { class: 'data rows links-table' },
    h('thead', {}, h('tr', {}, [t.columns.subject, t.columns.land, t.pages.ticketDate, t.columns.status, t.backlogPage.why, t.backlogPage.similarity].map((c) => h('th', {}, c)))),
    h('tbody', {}, item.why.map((l) => {
      const ticket = linked.get(l.ticketId);
      return h('tr', { dataset: { ticket: l.ticketId } },
        h('td', { class: 'wrap' }, subjectCell(l)),
        h('td', {}, landName(l.land)),
        h('td', { class: 'nowrap' }, fmtDateTime(ticket?.createdAt ?? l.linkedAt)),
        h('td', {}, ticket ? t.status[ticket.status] ?? ticket.status : '–'),
        h('td', { class: 'wrap why' }, why(l)),
        h('td', { class: 'num' }, score.format(l.score)),
      );
    })),
  );
}

/** Every linked ticket in reach, page by page (an item links at most a few hundred). */
async function loadLinked() {
  const next = new Map();
  const gone = new Set();
  let cursor = null;
  for (let i = 0; i < 20; i++) {
    const query = new URLSearchParams({ limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const res = await getJson(`/v1/backlog/${encodeURIComponent(itemId)}/tickets?${query}`);
    if (!res.ok) break;
    for (const tk of res.body.items) next.set(tk.id, tk);
    for (const id of res.body.removed) gone.add(id);
    cursor = res.body.next;
    if (!cursor) break;
  }
  linked = next;
  removed = gone;
}

function openDecision(type) {
  const fields = DECISIONS[type];
  const form = h('form', { id: 'decision-form', class: 'action-form', dataset: { action: type } },
    h('h3', {}, t.backlogAction[type]),
    fields.map((f) => h('label', { class: 'field' }, h('span', {}, labelOf(f.name)),
      f.kind === 'number'
        ? h('input', { name: f.name, type: 'number', min: '1', step: '1', required: true, value: item.rank ?? '' })
        : h('textarea', { name: f.name, rows: 2, maxlength: '5000', required: !f.optional }))),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, t.action.send),
      h('button', { type: 'button', class: 'small', onclick: renderDecisions }, t.action.cancel),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    for (const f of fields) if (f.optional && !values[f.name]?.trim()) delete values[f.name];
    if (values.rank !== undefined) values.rank = Number(values.rank);
    say(t.action.sending);
    const res = await sendJson(`/v1/backlog/${encodeURIComponent(itemId)}/events`, { type, ...values }, item.version);
    await load();
    const named = (res.body?.errors ?? []).map((er) => `${LABEL[er.path] ? labelOf(er.path) : er.path} (${er.message})`).join(', ');
    if (res.ok) say(t.action.done, 'ok');
    else if (res.status === 422 && named) say(`${t.pages.refusedField} ${named}`, 'error');
    else if (res.status === 409 || res.status === 412) say(t.action.race, 'warn');
    else if (res.status === 403) say(t.action.refused, 'error');
    else if (res.status === 400 || res.status === 422) say(t.action.invalid, 'error');
    else say(t.action.failed, 'error');
  });
  replace($('decision-area'), form);
}

function renderDecisions() {
  const allowed = item.allowedEvents.filter((e) => DECISIONS[e]);
  replace($('decision-area'), allowed.length === 0
    ? h('p', { class: 'muted' }, t.backlogPage.noDecisions)
    : h('div', { class: 'action-buttons' }, allowed.map((e) => h('button', { type: 'button', class: 'action', dataset: { action: e }, onclick: () => openDecision(e) }, t.backlogAction[e]))));
}

function historyList() {
  return h('ol', { class: 'timeline' }, item.history.map((e) => {
    const d = e.details ?? {};
    const text = [d.reason, d.note, d.release, d.comment].filter((x) => typeof x === 'string' && x !== '').join(' · ') || null;
    const who = e.actor.system ? t.ticket.system : `${t.ticket.by} ${session.names.orgs[e.actor.orgId] ?? e.actor.orgId}`;
    return h('li', {},
      h('time', { class: 'at', datetime: e.at }, fmtDateTime(e.at)),
      h('div', { class: 'what' }, h('span', { class: 'sentence' }, t.backlogDone[e.type] ?? t.backlogStatus[e.to] ?? e.type, typeof d.rank === 'number' ? ` (${t.backlogPage.rank} ${fmtNumber(d.rank)})` : ''), h('span', { class: 'muted' }, ` – ${who}`), text ? h('p', { class: 'quote' }, text) : null),
    );
  }));
}

function render() {
  const p = t.backlogPage;
  setTitle(`${p.item} ${item.title}`);
  const parts = Object.entries(item.scoreParts).map(([k, v]) => `${p.scoreParts[k] ?? k} ${score.format(v)}`).join(' + ');
  replace($('content'),
    h('div', { class: 'page-head' }, h('h1', { id: 'title' }, item.title), h('p', { class: 'muted' }, `${serviceName(item.service)} · ${t.backlogStatus[item.status] ?? item.status}`)),
    h('div', { class: 'two-col' },
      h('div', { class: 'col' },
        h('section', { class: 'panel' }, h('h2', {}, p.description), h('div', { class: 'body' }, h('p', { class: 'prose', id: 'description' }, item.description))),
        h('section', { class: 'panel', id: 'links' }, h('h2', {}, `${p.links} (${fmtNumber(item.ticketCount)})`), h('div', { class: 'body' }, links())),
        h('section', { class: 'panel' }, h('h2', {}, p.history), h('div', { class: 'body' }, historyList())),
      ),
      h('div', { class: 'col' },
        h('section', { class: 'panel', id: 'decisions' }, h('h2', {}, p.decisions), h('div', { class: 'body' }, h('div', { id: 'decision-area' }))),
        h('section', { class: 'panel' }, h('h2', {}, t.ticket.facts), h('div', { class: 'body' }, facts([
          [t.columns.service, serviceName(item.service)],
          [t.columns.status, t.backlogStatus[item.status] ?? item.status],
          [p.rank, item.rank === null ? '–' : fmtNumber(item.rank)],
          [t.columns.score, `${score.format(item.score)} (${parts})`],
          [t.columns.tickets, fmtNumber(item.ticketCount)],
          [p.lands, item.lands.map(landName).join(', ')],
          [p.population, fmtNumber(item.population)],
          [p.firstSeen, when(item.firstSeen)],
          [p.lastSeen, when(item.lastSeen)],
          item.release ? [p.release_, item.release] : null,
          item.reason ? [p.reason, item.reason] : null,
        ]))),
      ),
    ),
  );
  renderDecisions();
  $('content').setAttribute('aria-busy', 'false');
}

async function load() {
  const res = await getJson(`/v1/backlog/${encodeURIComponent(itemId)}`);
  if (!res.ok) {
    replace($('content'), h('p', { class: 'empty' }, t.backlogPage.notFound));
    return;
  }
  item = res.body;
  render();
}

async function start() {
  await startPage('backlog', t.backlogPage.item);
  await Promise.all([load(), loadLinked()]);
  if (item) render();
}

start();
