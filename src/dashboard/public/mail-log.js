/**
 * A ticket's mail log on its page (issue 17): every mail in and out, how it
 * was classified (the rule that decided) and matched (the rule that found
 * the ticket), and what it did. From GET /v1/tickets/{id}/mail; shown only
 * when the ticket has mail. Organisations by name, codes in German words
 * (the code on hover). Every text goes in as text (dom.js).
 */
import t from './i18n/de.js';
import { h, table } from './dom.js';
import { fmtDateTime } from './format.js';
import { mailOutcome, mailParty, mailWord } from './readable.js';

const ticketId = decodeURIComponent(location.pathname.replace(/^\/dashboard\/tickets\//, ''));
const accept = { credentials: 'same-origin', headers: { accept: 'application/json' } };

/** A word with its code on hover. */
const coded = (text, code) => h('span', { class: 'coded', title: code ?? '' }, text);

async function show() {
  const [res, who] = await Promise.all([fetch(`/v1/tickets/${encodeURIComponent(ticketId)}/mail`, accept), fetch('/dashboard/api/session', accept)]);
  if (!res.ok) return;
  const { items } = await res.json();
  if (items.length === 0) return;
  const names = who.ok ? (await who.json()).names?.orgs ?? {} : {};
  const orgName = (id) => names[id] ?? id;
  const w = t.mailLog;
  const section = h('section', { class: 'panel', id: 'mail-log' },
    h('h2', {}, w.title),
    h('div', { class: 'body' }, table(w.columns,
      items.map((e) => [
        h('time', { datetime: e.at, class: 'nowrap' }, fmtDateTime(e.at)),
        w.direction[e.direction] ?? e.direction,
        coded(mailParty(e.party, orgName), e.party),
        coded(mailWord('kind', e.kind), e.kind),
        e.rule ? coded(mailWord('rule', e.rule), e.rule) : '–',
        e.match ? coded(mailWord('match', e.match), e.match) : '–',
        coded(mailOutcome(e.outcome), e.detail ? `${e.outcome} – ${e.detail}` : e.outcome),
      ]),
      { class: 'data rows mail-log-table' })),
  );
  document.getElementById('page')?.append(section);
}

void show();
