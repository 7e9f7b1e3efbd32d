/**
 * A ticket's mail log on its page (issue 17): every mail in and out, how it
 * was classified (the rule that decided) and matched (the rule that found
 * the ticket), and what it did. From GET /v1/tickets/{id}/mail; shown only
 * when the ticket has mail. Every text goes in as text (dom.js).
 */
import { h, table } from './dom.js';

const ticketId = decodeURIComponent(location.pathname.replace(/^\/dashboard\/tickets\//, ''));
const DIRECTION = { in: 'eingegangen', out: 'gesendet' };

async function show() {
  const res = await fetch(`/v1/tickets/${encodeURIComponent(ticketId)}/mail`, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (!res.ok) return;
  const { items } = await res.json();
  if (items.length === 0) return;
  const section = h('section', { class: 'panel', id: 'mail-log' },
    h('h2', {}, 'Mail-Verlauf'),
    table(['Zeit', 'Richtung', 'Gegenseite', 'Art', 'Regel', 'Zuordnung', 'Ergebnis'],
      items.map((e) => [new Date(e.at).toLocaleString('de-DE'), DIRECTION[e.direction] ?? e.direction, e.party ?? '–', e.kind, e.rule ?? '–', e.match ?? '–', e.outcome])),
  );
  document.getElementById('page')?.append(section);
}

void show();
