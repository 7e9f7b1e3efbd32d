import t from './i18n/de.js';
import { barChart, lineChart, setWidth } from './charts.js';
import { h, replace, table } from './dom.js';
import { businessLeft, fmtDateTime, fmtNumber, fmtTime, shortId } from './format.js';
import { applyWords } from './words.js';
import { channelText, deadReason, queueLabel, replayedText, replayInPlace } from './readable.js';

const $ = (id) => document.getElementById(id);
let session = null;
let lastHeard = null;

async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.assign('/dashboard/login');
    throw new Error('not logged in');
  }
  return { status: res.status, body: res.ok ? await res.json() : null };
}

function heard() {
  lastHeard = new Date();
  $('last-heard').textContent = `· ${t.live.lastHeard} ${fmtTime(lastHeard)}`;
}

function setLive(state) {
  $('live').dataset.state = state;
  $('live-text').textContent = t.live[state];
}

/** A count that opens the list it counts (the same read model: the href is the list query). */
/** The console's list page for an API list query: `/v1/tickets?land=HB` → `/dashboard/tickets?land=HB` (a real URL to share). */
const listPage = (list) => (list.startsWith('/v1/tickets') ? list.replace(/^\/v1\/tickets/, '/dashboard/tickets') : list.startsWith('/v1/dead-letters') ? list.replace(/^\/v1\/dead-letters/, '/dashboard/dead-letters') : list);

function countLink(c, label) {
  // The steering committee reaches no ticket: its counts are numbers, not links to lists it may not open.
  if (session.readOnly) return h('span', { class: 'count' }, fmtNumber(c.count));
  return h('a', { href: listPage(c.list), class: 'count-link', dataset: { list: c.list, label } }, fmtNumber(c.count));
}

function kpi(label, c, cls) {
  return h('div', { class: `kpi ${cls ?? ''}` }, h('div', { class: 'kpi-value' }, countLink(c, label)), h('div', { class: 'kpi-label' }, label));
}

function renderKpis(stats) {
  const s = stats.tickets;
  const groups = [
    [kpi(t.total.active, s.total.active, 'lead')],
    Object.keys(s.status).map((k) => kpi(t.statusShort[k] ?? t.status[k], s.status[k], `status-${k}`)),
    Object.keys(s.level).map((k) => kpi(t.level[k], s.level[k])),
    Object.keys(s.priority).map((k) => kpi(k, s.priority[k], `prio-${k}`)),
    [kpi(t.kpi.slaAtRisk, s.sla['at-risk'], 'warn'), kpi(t.kpi.slaBreached, s.sla.breached, 'bad')],
    // The count opens the whole paged list of dead letters (/dashboard/dead-letters), not the board's panel of the newest.
    [kpi(t.panels.deadLettersShort, stats.deadLetters, stats.deadLetters.count > 0 ? 'bad' : '')],
  ];
  replace($('kpis'), groups.map((g) => h('div', { class: 'kpi-group' }, g)));
}

function countTable(rows, nameHeader, label) {
  return table([nameHeader, t.columns.count], rows.map(([name, c, title]) => [h('span', { title: title ?? name }, name), countLink(c, `${label}: ${name}`)]), { numeric: [1], class: 'data compact' });
}

function renderLands(stats) {
  const lands = Object.entries(stats.tickets.land).map(([code, c]) => [`${code} · ${session.names.lands[code] ?? code}`, c]);
  replace($('lands'), countTable(lands, t.columns.land, t.panels.lands));
}

function renderOrgs(stats) {
  const rows = Object.entries(stats.tickets.assignee).filter(([, c]) => c.count > 0).sort((a, b) => b[1].count - a[1].count);
  replace($('orgs'), rows.length === 0 ? h('p', { class: 'empty' }, t.words.none) : countTable(rows.map(([id, c]) => [session.names.orgs[id] ?? id, c, id]), t.columns.name, t.panels.orgs));
}

function renderServices(stats) {
  const rows = Object.entries(stats.tickets.service).map(([id, c]) => [session.names.services[id] ?? id, c, id]);
  replace($('services'), countTable(rows, t.columns.service, t.panels.services));
}

function jobLinks(jobs) {
  return h('span', { class: 'jobs' }, jobs.map((j) => h('a', { href: boardPath(j.url), title: j.jobId ?? j.queue, class: 'job-link' }, j.jobId ? (j.queue === 'sla' ? t.words.timer : t.words.job) : t.words.queueLink)));
}

/** The board's links point at the operators' board; the steering committee reads its own. */
const boardPath = (url) => (session.readOnly ? url.replace(/^\/admin\/queues/, session.board) : url);

/** An organisation by its name (wrapping where it must); the id on hover. */
const orgCell = (id) => h('span', { class: 'name', title: id }, session.names.orgs[id] ?? id);

function ticketCell(r) {
  return h('a', { href: `/dashboard/tickets/${encodeURIComponent(r.id)}`, class: 'ticket-id', title: r.id }, shortId(r.id));
}

function listOrEmpty(target, part, build) {
  if (!part.items.length) {
    replace(target, h('p', { class: 'empty' }, overview.lists ? t.words.none : t.words.listsRestricted));
    return;
  }
  replace(target, build(part.items), part.more ? h('p', { class: 'more muted' }, t.words.more) : null);
}

function leftCell(r) {
  const left = businessLeft(r.businessMsLeft, r.dueAt, Date.now(), t.words.atOpening);
  return h('span', { class: left.due ? 'bad' : 'warn', title: `${t.clock[r.clock] ?? r.clock} · ${t.words.businessTime}: ${r.calendar}` }, r.paused ? `${left.text} (${t.words.paused})` : left.text);
}

function renderAtRisk(part) {
  listOrEmpty($('at-risk'), part, (items) =>
    table(
      [t.columns.ticket, t.columns.subject, t.columns.priority, t.columns.holder, t.columns.left, t.columns.due, t.columns.jobs],
      items.map((r) => [
        ticketCell(r), h('span', { class: 'subject', title: r.subject }, r.subject), r.priority, orgCell(r.holder),
        leftCell(r),
        fmtDateTime(r.dueAt), jobLinks(r.jobs),
      ]),
      { class: 'data rows at-risk-table' },
    ),
  );
}

function renderBreached(part) {
  listOrEmpty($('breached'), part, (items) =>
    table(
      [t.columns.ticket, t.columns.subject, t.columns.priority, t.columns.holder, t.columns.clock, t.columns.breachedAt, t.columns.jobs],
      // The holder now (a breach may have escalated the ticket); who held it when the clock ran out is on the ticket page.
      items.map((r) => [ticketCell(r), h('span', { class: 'subject', title: r.subject }, r.subject), r.priority, orgCell(r.assignee ?? r.holder), t.clock[r.clock] ?? r.clock, h('span', { title: `${t.columns.due}: ${fmtDateTime(r.dueAt)}` }, fmtDateTime(r.breachedAt)), jobLinks(r.jobs)]),
      { class: 'data rows' },
    ),
  );
}

function renderHandoffs(part) {
  const now = Date.now();
  listOrEmpty($('handoffs'), part, (items) =>
    table(
      [t.columns.ticket, t.columns.provider, t.columns.receiptDue, t.columns.jobs],
      items.map((r) => [ticketCell(r), orgCell(r.orgId), h('span', { class: Date.parse(r.receiptDueAt) < now ? 'bad' : '', title: `${t.columns.attempts}: ${r.attempts}` }, fmtDateTime(r.receiptDueAt)), jobLinks(r.jobs)]),
      { class: 'data rows' },
    ),
  );
}

async function replay(id, button) {
  // The row says at once that (and when) it was replayed; the refresh moves it among the replayed ones.
  await replayInPlace(h, id, button, session.csrf);
  scheduleRefresh();
}

/** An event and its ticket, by name: "Übergabe …a1b2c3d4". */
function deadEventCell(d) {
  const type = d.type.replace(/^lotse\./, '');
  return h('span', {}, h('span', { title: d.id }, t.eventType[type] ?? type), ' ', d.subject ? h('a', { href: `/dashboard/tickets/${encodeURIComponent(d.subject)}`, class: 'ticket-id', title: d.subject }, shortId(d.subject)) : null);
}

function renderDeadLetters(part) {
  const replayed = part.replayed ?? [];
  if (!part.items.length && !replayed.length) return listOrEmpty($('dead-letters'), part, () => null);
  const rows = [
    ...part.items.map((d) => ({ d, replayedRow: false })),
    ...replayed.map((d) => ({ d, replayedRow: true })),
  ];
  replace($('dead-letters'), table(
    [t.columns.event, t.deadList.channel, t.columns.provider, t.columns.reason, t.columns.attempts, t.columns.failedAt, t.columns.action],
    rows.map(({ d, replayedRow }) => [
      deadEventCell(d),
      h('span', { class: 'channel' }, channelText(d)),
      orgCell(d.orgId),
      // In German from the stored fields (the attempts have their column); the whole sentence and the worker's own words on hover.
      h('span', { class: 'reason', title: `${deadReason(d).text}\n${t.deadList.rawHint}: ${d.reason}` }, deadReason(d).cause),
      fmtNumber(d.attempts),
      fmtDateTime(d.failedAt),
      replayedRow
        ? h('span', { class: 'replayed', title: t.words.replayedHint }, replayedText(d.replayedAt))
        : h('span', { class: 'dead-action' },
          // Failed again after a replay: says so, and may be replayed once more.
          d.replayedAt ? h('span', { class: 'replayed again', title: t.words.failedAgain }, `${replayedText(d.replayedAt)}, ${t.words.failedAgainShort}`) : null,
          // A mail in doubt is decided on the list page, where sending it again takes an explicit second click.
          d.inDoubt ? h('span', { class: 'bad in-doubt', title: t.words.inDoubtHint }, t.words.inDoubt) : null,
          session.readOnly ? null
            : d.inDoubt ? h('a', { href: '/dashboard/dead-letters', class: 'small' }, t.words.inDoubtOpenList)
              : h('button', { type: 'button', class: 'small', onclick: (e) => replay(d.id, e.currentTarget) }, t.words.replay)),
    ]),
    { class: 'data rows dead-letter-table', numeric: [4] },
  ), h('p', { class: 'more' }, part.more ? h('span', { class: 'muted' }, `${t.words.more} `) : null, h('a', { href: '/dashboard/dead-letters', id: 'dead-letters-all' }, t.deadList.openAll)));
  // The replayed rows after the dead ones: marked for the eye, and for tests.
  const trs = $('dead-letters').querySelectorAll('tbody tr');
  rows.forEach((r, i) => {
    if (r.replayedRow) trs[i]?.classList.add('is-replayed');
  });
}

/** A queue's German name, as in the chart's legend: `handoff-dataport` → "Übergaben Dataport AöR". */
const queueName = (name) => queueLabel(name, (id) => session.names.orgs[id] ?? id);

function renderQueues(stats) {
  const rows = Object.entries(stats.queues).filter(([name, q]) => !name.startsWith('handoff-') || q.waiting + q.active + q.delayed + q.failed > 0);
  replace($('queues'), table(
    [t.columns.name, t.queueShort.waiting, t.queueShort.active, t.queueShort.delayed, t.queueShort.failed],
    rows.map(([name, q]) => [h('a', { href: boardPath(q.list), title: name, class: 'name' }, queueName(name)), fmtNumber(q.waiting + q.prioritized), fmtNumber(q.active), fmtNumber(q.delayed), h('span', { class: q.failed > 0 ? 'bad' : '' }, fmtNumber(q.failed))]),
    { class: 'data compact', numeric: [1, 2, 3, 4] },
  ));
}

const DEPTH_SERIES = ['intake', 'events', 'sla', 'handoff', 'webhook', 'backlog'].map((key, i) => ({ key, cls: `s${i}` }));

function renderCharts(series) {
  if (series.length === 0) {
    replace($('depth'), h('p', { class: 'empty' }, t.words.noSamples));
    replace($('throughput'), h('p', { class: 'empty' }, t.words.noSamples));
    return;
  }
  const legend = h('ul', { class: 'legend' }, DEPTH_SERIES.map((s) => h('li', {}, h('span', { class: `swatch ${s.cls}` }), t.depth[s.key])));
  setWidth($('depth').clientWidth - 20);
  replace($('depth'), lineChart(series, DEPTH_SERIES, t.panels.depth), legend);
  setWidth($('throughput').clientWidth - 20);
  const last = series.at(-1);
  replace($('throughput'), barChart(series, t.panels.throughput), h('p', { class: 'muted chart-note' }, `${fmtNumber(last.events)} ${t.words.perMinute} · ${t.words.refreshed} ${fmtTime(new Date(last.t))}`));
}

const scoreFormat = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 1 });

async function renderBacklog() {
  let items = [];
  try {
    const res = await getJson('/v1/backlog?sort=score&limit=5');
    items = res.status === 200 && Array.isArray(res.body?.items) ? res.body.items : [];
  } catch {
    items = [];
  }
  if (items.length === 0) return replace($('backlog'), h('p', { class: 'empty' }, t.words.noneYet));
  // The service under each title: the panel is narrow, and a service's name is one long word ("Unterhaltsvorschuss").
  replace($('backlog'), table(
    [t.columns.title, t.columns.tickets, t.columns.score],
    items.map((b) => [
      h('div', {},
        h('a', { class: 'subject', title: b.title, href: `/dashboard/backlog/${encodeURIComponent(b.id)}` }, b.title),
        h('span', { class: 'name muted', title: b.service }, session.names.services[b.service] ?? b.service)),
      fmtNumber(b.ticketCount ?? 0), b.score === undefined ? '' : scoreFormat.format(b.score),
    ]),
    { class: 'data rows', numeric: [1, 2] },
  ), h('p', { class: 'more' }, h('a', { href: '/dashboard/backlog' }, t.words.allBacklog)));
}

let overview = null;

async function refresh() {
  const res = await getJson('/dashboard/api/overview');
  if (!res.body) return;
  overview = res.body;
  heard();
  // The steering committee reaches no ticket: the ticket lists are left out rather than shown as refusals.
  for (const id of ['panel-at-risk', 'panel-breached', 'panel-handoffs', 'panel-dead-letters']) $(id).hidden = !overview.lists;
  const { stats } = overview;
  renderKpis(stats);
  renderLands(stats);
  renderOrgs(stats);
  renderServices(stats);
  renderAtRisk(overview.atRisk);
  renderBreached(overview.breached);
  renderHandoffs(overview.handoffs);
  renderDeadLetters(overview.deadLetters);
  renderQueues(stats);
  renderCharts(overview.series);
  document.body.dataset.refreshed = overview.at;
  document.dispatchEvent(new CustomEvent('lotse:overview', { detail: { overview, names: session.names } }));
}

// Events come in bursts: one refresh per burst, at most one every second.
let timer = null;
let lastRun = 0;
function scheduleRefresh() {
  if (timer) return;
  const wait = Math.max(150, 1000 - (Date.now() - lastRun));
  timer = setTimeout(async () => {
    timer = null;
    lastRun = Date.now();
    await refresh().catch(() => setLive('lost'));
  }, wait);
}

/** The live feed: EventSource sends the session cookie and Last-Event-ID on reconnect by itself. */
function connect() {
  const source = new EventSource('/v1/stream?heartbeat=event');
  source.onopen = () => {
    setLive('live');
    heard();
    scheduleRefresh();
  };
  source.onmessage = () => {
    heard();
    scheduleRefresh();
  };
  source.addEventListener('heartbeat', () => heard());
  source.onerror = () => {
    setLive('lost');
    // The browser retries by itself unless the answer was final (e.g. the session ended).
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(async () => {
        await getJson('/dashboard/api/session').catch(() => undefined);
        connect();
      }, 5000);
    }
  };
}

async function openList(url, label) {
  const drawer = $('drawer');
  drawer.hidden = false;
  $('drawer-title').textContent = label;
  replace($('drawer-body'), h('p', { class: 'muted' }, t.words.loading));
  const res = await getJson(`${url}${url.includes('?') ? '&' : '?'}limit=50`);
  const items = res.body?.items ?? [];
  replace($('drawer-body'),
    h('p', {}, h('a', { href: listPage(url), class: 'open-list' }, t.words.openList)),
    items.length === 0 ? h('p', { class: 'empty' }, t.words.listEmpty) : table(
      [t.columns.ticket, t.columns.subject, t.columns.land, t.columns.service, t.columns.priority, t.columns.status, t.columns.level, t.columns.holder],
      items.map((v) => [ticketCell(v), h('span', { class: 'subject', title: v.subject }, v.subject), h('span', { class: 'name', title: v.land }, session.names.lands[v.land] ?? v.land), h('span', { class: 'name', title: v.service }, session.names.services[v.service] ?? v.service), v.priority, t.status[v.status] ?? v.status, v.level ?? '–', v.assignee ? orgCell(v.assignee) : '–']),
      { class: 'data rows' },
    ),
    res.body?.next ? h('p', { class: 'more muted' }, t.words.more) : null,
  );
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a.count-link');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
  const list = a.dataset.list;
  // Only ticket lists open in the drawer; the dead letters have their own page.
  if (!list.startsWith('/v1/tickets')) return;
  e.preventDefault();
  if (!overview?.lists) return;
  openList(list, `${a.dataset.label} (${a.textContent})`);
});

async function start() {
  applyWords(document, t);
  document.title = t.title;
  $('drawer-close').addEventListener('click', () => ($('drawer').hidden = true));
  const res = await getJson('/dashboard/api/session');
  session = res.body;
  $('logout-csrf').value = session.csrf ?? '';
  $('board-link').href = session.board;
  $('tickets-link').hidden = session.readOnly;
  $('report-link').href = `/dashboard/reports/cost-split?year=${new Date().getFullYear()}`;
  replace($('who'), h('span', { class: 'who-name', title: session.orgName }, session.orgName), session.readOnly ? h('span', { class: 'badge' }, t.header.readOnly) : null);
  await refresh();
  renderBacklog();
  setInterval(renderBacklog, 60_000);
  // The charts' minute samples arrive without a ticket event: read them once a minute too.
  setInterval(scheduleRefresh, 30_000);
  connect();
}

start();
