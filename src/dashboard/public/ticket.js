// The ticket page: what the ticket is, where it stands, how it got there, and what an operator may do now.
import { $, facts, fill, getJson, h, landName, levelText, orgName, replace, say, sendJson, serviceName, session, setTitle, startPage, statusText, t, when } from './console.js';
import { businessLeft, fmtDateTime } from './format.js';
import { fieldErrorText, viaText } from './readable.js';

const ticketId = decodeURIComponent(location.pathname.replace(/^\/dashboard\/tickets\//, ''));
let data = null;
let backlogItems = [];

const section = (title, id, ...body) => h('section', { class: 'panel', id }, h('h2', {}, title), h('div', { class: 'body' }, ...body.flat(2)));
const quote = (text) => (text ? h('p', { class: 'quote' }, text) : null);

/** The words of one history entry: "an Dataport übergeben", "Empfang bestätigt", "SLA verletzt (Erstreaktion)". */
function sentence(e, prev) {
  const d = e.details ?? {};
  let what = t.timeline[e.type] ?? e.type;
  if (e.type === 'ACCEPT' && e.from?.endsWith('handoffPending')) what = t.timeline.RECEIPT;
  if ((e.type === 'SLA_WARNING' || e.type === 'SLA_BREACHED') && d.clock) what += ` (${t.clock[d.clock] ?? d.clock})`;
  if (e.type === 'CHANGE_PRIORITY') what += ` (${t.action.impact} ${t.grade[d.impact] ?? d.impact}, ${t.action.urgency} ${t.grade[d.urgency] ?? d.urgency})`;
  if (e.type === 'BACKLOG_DECIDED' && d.outcome) what += ` (${t.backlogStatus[d.outcome === 'done' ? 'done' : 'rejected']})`;
  const parts = [what];
  const moved = e.assignee && e.assignee !== prev?.assignee;
  if (moved) {
    const handedOn = e.to.endsWith('handoffPending');
    parts.push(fill(handedOn ? t.timeline.handedTo : t.timeline.assignedTo, { org: orgName(e.assignee) }));
  } else if (e.type === 'RECEIPT_OVERDUE' && e.to.endsWith('handoffPending')) {
    parts.push(fill(t.timeline.handedTo, { org: orgName(e.assignee) }));
  }
  if (e.level !== null && e.level !== prev?.level) parts.push(levelText(e.level));
  return parts.join(' · ');
}

function renderTimeline(history) {
  return h('ol', { class: 'timeline' }, history.map((e, i) => {
    const d = e.details ?? {};
    const who = e.actor.system ? t.ticket.system : `${t.ticket.by} ${orgName(e.actor.orgId)}`;
    const text = d.reason ?? d.answer ?? d.resolution ?? d.question ?? d.info ?? d.note ?? d.text ?? d.title ?? null;
    // A change from another ticket system: where it came from and how it was matched, in words (the connector's `via`).
    const via = viaText(d.via);
    return h('li', { class: `event ev-${e.type.toLowerCase()}`, dataset: { type: e.type, version: String(e.version) } },
      h('time', { datetime: e.at, class: 'at' }, fmtDateTime(e.at)),
      h('div', { class: 'what' }, h('span', { class: 'sentence' }, sentence(e, history[i - 1])), h('span', { class: 'actor' }, ` – ${who}`), via ? h('p', { class: 'via muted', title: JSON.stringify(d.via) }, via) : null, quote(text)),
    );
  }));
}

/** Handoffs from the history: when each left, and when (or whether) its receipt came. */
function handoffRows(history) {
  const rows = [];
  for (const [i, e] of history.entries()) {
    const sent = e.to.endsWith('handoffPending') && (e.from !== e.to || e.type === 'RECEIPT_OVERDUE');
    if (sent) rows.push({ org: e.assignee, at: e.at, answer: null, answerAt: null, resend: e.type === 'RECEIPT_OVERDUE' });
    const last = rows.at(-1);
    if (last && !last.answer && e.from?.endsWith('handoffPending') && !e.to.endsWith('handoffPending') && i > 0) {
      last.answer = e.type === 'ACCEPT' ? t.timeline.RECEIPT : t.timeline[e.type] ?? e.type;
      last.answerAt = e.at;
    }
  }
  return rows;
}

function renderHandoffs() {
  const rows = handoffRows(data.history);
  const pending = data.handoff
    ? h('p', { class: 'warn' }, `${t.ticket.handoffWaiting} ${orgName(data.handoff.orgId)} · ${t.ticket.receiptDue} ${fmtDateTime(data.handoff.receiptDueAt)} · ${t.ticket.attempts}: ${data.handoff.attempts}`)
    : h('p', { class: 'muted' }, t.ticket.noHandoff);
  const table = rows.length === 0 ? null : h('table', { class: 'data rows' },
    h('thead', {}, h('tr', {}, [t.ticket.handoff, t.ticket.handedAt, t.ticket.outcome].map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((r, i) => h('tr', {},
      h('td', { class: 'wrap' }, orgName(r.org)),
      h('td', { class: 'nowrap' }, fmtDateTime(r.at)),
      h('td', { class: r.answer ? '' : 'warn' }, r.answer ? `${r.answer} ${fmtDateTime(r.answerAt)}` : i === rows.length - 1 && data.handoff ? t.ticket.receiptPending : t.ticket.noReceipt),
    ))),
  );
  return [pending, table];
}

function renderClocks() {
  const clocks = data.sla.clocks;
  if (clocks.length === 0) return h('p', { class: 'muted' }, t.ticket.noClocks);
  const now = Date.parse(data.at);
  return h('table', { class: 'data rows clocks' },
    h('thead', {}, h('tr', {}, [t.ticket.clock, t.ticket.holder, t.ticket.due, t.ticket.left, t.ticket.outcome].map((c) => h('th', { title: c === t.ticket.left ? t.ticket.leftLong : undefined }, c)))),
    h('tbody', {}, clocks.map((c) => {
      const left = c.businessMsLeft === null ? null : businessLeft(c.businessMsLeft, c.dueAt, now, t.words.atOpening);
      const cls = c.outcome === 'breached' ? 'bad' : left?.due ? 'bad' : '';
      return h('tr', { dataset: { clock: c.name, outcome: c.outcome } },
        h('td', {}, h('span', { class: 'nowrap' }, t.clock[c.name] ?? c.name), h('br'), h('span', { class: 'muted' }, levelText(c.level))),
        h('td', { title: `${t.ticket.calendar}: ${c.calendar}` }, orgName(c.holder)),
        h('td', { class: 'nowrap' }, fmtDateTime(c.dueAt)),
        h('td', { class: `nowrap ${left?.due ? 'bad' : ''}` }, left ? left.text : '–'),
        h('td', { class: cls }, t.outcome[c.outcome] ?? c.outcome),
      );
    })),
  );
}

function renderBacklog() {
  const mine = backlogItems.filter((b) => b.tickets?.includes(ticketId));
  if (mine.length === 0) return h('p', { class: 'muted' }, t.ticket.noBacklog);
  return h('ul', { class: 'plain' }, mine.map((b) => h('li', {}, h('a', { href: `/dashboard/backlog/${encodeURIComponent(b.id)}` }, b.title), ` · ${t.backlogStatus[b.status] ?? b.status}`)));
}

function renderJobs() {
  if (data.jobs.length === 0) return h('p', { class: 'muted' }, t.ticket.noJobs);
  const board = (url) => (session.readOnly ? url.replace(/^\/admin\/queues/, session.board) : url);
  return h('ul', { class: 'plain' }, data.jobs.map((j) => h('li', {}, h('a', { href: board(j.url), title: j.jobId ?? j.queue }, j.label === 'timer' ? t.ticket.timer : `${t.ticket.handoff} ${orgName(j.orgId)}`), j.at ? ` · ${fmtDateTime(j.at)}` : '')));
}

// ---- Actions: each one the machine allows now, sent over the API like any caller's event.

const GRADES = ['low', 'medium', 'high'];
const ACTIONS = [
  { key: 'TAKE_OVER', offered: (d) => d.allowedEvents.includes('ASSIGN') && d.ticket.assignee !== session.orgId, fields: [{ name: 'reason' }], build: (v) => ({ type: 'ASSIGN', assignee: session.orgId, reason: v.reason }) },
  { key: 'ACCEPT', fields: [{ name: 'note', optional: true }] },
  { key: 'ESCALATE', fields: [{ name: 'reason' }] },
  { key: 'RETURN', fields: [{ name: 'answer' }] },
  { key: 'ASSIGN', fields: [{ name: 'assignee', kind: 'org' }, { name: 'reason' }] },
  { key: 'CHANGE_PRIORITY', fields: [{ name: 'impact', kind: 'grade' }, { name: 'urgency', kind: 'grade' }, { name: 'reason' }] },
  { key: 'REQUEST_INFO', fields: [{ name: 'question', optional: true }] },
  { key: 'INFO_RECEIVED', fields: [{ name: 'info', optional: true }] },
  { key: 'RESOLVE', fields: [{ name: 'resolution' }] },
  { key: 'REOPEN', fields: [{ name: 'reason' }] },
  { key: 'NOTE', fields: [{ name: 'text' }] },
  { key: 'CLOSE', fields: [] },
  { key: 'SUGGEST_IMPROVEMENT', fields: [{ name: 'title' }, { name: 'description', optional: true }] },
];

function field(f) {
  const id = `f-${f.name}`;
  let input;
  if (f.kind === 'org') {
    // Only organisations that work tickets (never the steering committee), and not the holder.
    const orgs = data.assignable.map((oid) => [oid, orgName(oid)]).sort((a, b) => a[1].localeCompare(b[1], 'de'));
    input = h('select', { id, name: f.name, required: true }, orgs.map(([oid, name]) => h('option', { value: oid }, name)));
  } else if (f.kind === 'grade') {
    input = h('select', { id, name: f.name, required: true }, GRADES.map((g) => h('option', { value: g, selected: g === data.ticket[f.name] }, t.grade[g])));
  } else {
    input = h('textarea', { id, name: f.name, rows: f.name === 'title' ? 1 : 3, maxlength: f.name === 'title' ? 200 : 5000, required: !f.optional });
  }
  return h('label', { class: 'field', for: id }, h('span', {}, t.action[f.name] ?? f.name), input);
}

function openAction(action) {
  const form = h('form', { id: 'action-form', class: 'action-form', dataset: { action: action.key } },
    h('h3', {}, t.action[action.key]),
    action.fields.map(field),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, t.action.send),
      h('button', { type: 'button', class: 'small', onclick: () => renderActions() }, t.action.cancel),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(action, form);
  });
  replace($('action-area'), form);
  form.querySelector('textarea, select')?.focus();
}

async function submit(action, form) {
  const values = Object.fromEntries(new FormData(form));
  for (const f of action.fields) if (f.optional && !values[f.name]?.trim()) delete values[f.name];
  const payload = action.build ? action.build(values) : { type: action.key, ...values };
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  say(t.action.sending);
  const res = await sendJson(`/v1/tickets/${encodeURIComponent(ticketId)}/events`, payload, data.ticket.version);
  if (res.ok) {
    await load();
    return say(t.action.done, 'ok');
  }
  if (res.status === 401) return say(t.action.sessionEnded, 'error');
  if (res.status === 412 || res.status === 409) {
    await load();
    return say(t.action.race, 'warn');
  }
  if (res.status === 403) {
    await load();
    return say(t.action.refused, 'error');
  }
  if (res.status === 400 || res.status === 422) {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
    const errors = res.body?.errors ?? [];
    // A refusal the machine gives (a state moved on): the page shows where the ticket stands now.
    if (errors.length === 0) {
      await load();
      return say(`${t.action.refused} ${res.body?.detail ?? ''}`.trim(), 'error');
    }
    // In German, naming the field (the problem document names it); the API's own words stay on hover.
    const field = (path) => String(path ?? '').replace(/^body\./, '');
    say(`${t.fieldError.intro} ${errors.map((e) => fieldErrorText(e, t.action[field(e.path)] ?? field(e.path))).join('; ')}.`, 'error');
    $('message').title = errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    return;
  }
  for (const b of form.querySelectorAll('button')) b.disabled = false;
  say(t.action.failed, 'error');
}

function renderActions() {
  const offered = ACTIONS.filter((a) => (a.offered ? a.offered(data) : data.allowedEvents.includes(a.key)));
  // Steps only the holder may take: said in words, with taking the ticket over offered first.
  const holderOnly = data.holderOnly.map((e) => t.action[e] ?? t.pages.holderSteps[e]).filter(Boolean);
  const notice = holderOnly.length > 0 && data.ticket.assignee !== session.orgId
    ? h('p', { class: 'notice', id: 'holder-only' }, fill(t.pages.holderOnly, { org: orgName(data.ticket.assignee) }), ' (', holderOnly.join(', '), ')')
    : null;
  if (offered.length === 0) return replace($('action-area'), notice, h('p', { class: 'muted' }, t.ticket.noActions));
  replace($('action-area'), notice, h('div', { class: 'action-buttons' }, offered.map((a) => h('button', { type: 'button', class: a.key === 'TAKE_OVER' && notice ? 'action primary' : 'action', dataset: { action: a.key }, onclick: () => openAction(a) }, t.action[a.key]))));
}

// ---- The page.

function render() {
  const v = data.ticket;
  setTitle(`${t.ticket.title} ${v.subject}`);
  const head = h('div', { class: 'page-head' },
    h('h1', { id: 'subject' }, v.subject),
    h('p', { class: 'muted' }, h('span', { class: 'mono', id: 'ticket-id' }, v.id), ' · ', h('span', { id: 'status', class: `pill status-${v.status}` }, statusText(v.status)), ' · ', h('span', { class: `pill prio-${v.priority}`, id: 'priority' }, v.priority), ' · ', h('span', { id: 'holder' }, `${orgName(v.assignee)} · ${levelText(v.level)}`)),
  );
  const left = h('div', { class: 'col' },
    section(t.ticket.facts, 'facts', facts([
      [t.ticket.service, serviceName(v.service)],
      [t.ticket.land, landName(v.land)],
      [t.ticket.holder, orgName(v.assignee)],
      [t.ticket.level, levelText(v.level)],
      [t.ticket.priority, `${v.priority} (${t.action.impact} ${t.grade[v.impact]}, ${t.action.urgency} ${t.grade[v.urgency]})`],
      [t.ticket.status, statusText(v.status)],
      [t.ticket.category, t.category[v.category] ?? v.category],
      [t.ticket.channel, t.channel[v.channel] ?? v.channel],
      [t.ticket.externalRef, v.externalRef],
      [t.ticket.createdBy, orgName(v.createdBy)],
      // When the desk received it: the clocks count from here, so a due time before "Angelegt" reads right.
      v.receivedAt ? [h('span', { title: t.receivedHint }, t.ticketReceived), h('span', { id: 'received-at' }, when(v.receivedAt))] : null,
      [t.ticket.createdAt, when(v.createdAt)],
      [t.ticket.updatedAt, when(v.updatedAt)],
      [t.ticket.handledBy, v.handledBy.map(orgName).join(', ')],
    ])),
    section(t.ticket.description, 'description', v.description ? h('p', { class: 'prose' }, v.description) : h('p', { class: 'muted' }, t.ticket.noDescription)),
    section(t.ticket.timeline, 'timeline', renderTimeline(data.history)),
  );
  const right = h('div', { class: 'col' },
    session.readOnly ? null : section(t.ticket.actions, 'actions', h('div', { id: 'action-area' })),
    section(t.ticket.clocks, 'clocks', renderClocks()),
    section(t.ticket.handoffs, 'handoffs', renderHandoffs()),
    section(t.ticket.backlog, 'backlog-links', renderBacklog()),
    section(t.ticket.jobs, 'jobs', renderJobs()),
  );
  replace($('content'), head, h('div', { class: 'two-col' }, left, right));
  if (!session.readOnly) renderActions();
  $('content').setAttribute('aria-busy', 'false');
  document.body.dataset.version = String(v.version);
}

async function load() {
  const res = await getJson(`/dashboard/api/tickets/${encodeURIComponent(ticketId)}`);
  if (!res.ok) {
    replace($('content'), h('p', { class: 'empty' }, t.ticket.notFound));
    $('content').setAttribute('aria-busy', 'false');
    return;
  }
  data = res.body;
  render();
}

/** Another change to this ticket (a desk, a provider, a timer, another operator): the page follows without a reload. */
function follow() {
  const source = new EventSource('/v1/stream');
  let pending = null;
  source.onmessage = (m) => {
    let subject = null;
    try {
      subject = JSON.parse(m.data).subject;
    } catch {
      subject = null;
    }
    if (subject !== ticketId || pending) return;
    // Keep an open form as it is: the operator is writing; the version check catches what moved meanwhile.
    pending = setTimeout(async () => {
      pending = null;
      if (!$('action-form')) await load();
    }, 200);
  };
}

async function start() {
  await startPage('tickets', t.ticket.title);
  await load();
  // The items of the ticket's service its Land asks for: the sets the backlog keeps per service and Land, not the whole backlog.
  const v = data?.ticket;
  const narrow = v ? `&${new URLSearchParams({ service: v.service, land: v.land })}` : '';
  getJson(`/v1/backlog?sort=score&limit=200${narrow}`).then((res) => {
    backlogItems = res.body?.items ?? [];
    if (data) replace($('backlog-links').querySelector('.body'), renderBacklog());
  }).catch(() => undefined);
  follow();
}

start();
