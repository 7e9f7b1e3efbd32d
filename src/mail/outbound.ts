import type { CloudEvent } from '../domain/cloudevent.js';
import { HANDOFF_EVENT_TYPES } from '../domain/cloudevent.js';
import type { HistoryEntry, TicketView } from '../domain/ticket.js';
import type { MailMessageKind } from './compose.js';

/**
 * Mail out, deciding: which mail a handoff event (the same CloudEvent a
 * provider's queue or webhook gets) becomes. Pure. The event already holds
 * the ticket as that organisation may see it (the reporter only where the
 * service allows it), so the mail says no more than the queue would.
 *
 * - `handoff.requested` → a handoff (Übergabe), automatic;
 * - `ticket.updated` → an update (Aktualisierung), or a request for
 *   information (Rückfrage) when the change asks for one; automatic unless
 *   it passes on a person's words (a note, an answer, information), so a
 *   mailbox's vacation rule may answer it (and that answer is never answered);
 * - `ticket.withdrawn` → an update that the handoff is withdrawn;
 * - nothing for an update made by Lotse's own NOTE (what mail in wrote down
 *   from an automatic reply or a non-holder): mail in never causes mail out.
 */

export type OutboundDecision =
  | { send: true; message: MailMessageKind; automatic: boolean; ticket: TicketView | null; ticketId: string }
  | { send: false; why: string; ticketId: string };

interface HandoffData {
  ticket?: TicketView;
  history?: HistoryEntry[];
  reason?: string;
  change?: string;
  ticketId?: string;
}

const PERSON_WORDS = new Set(['NOTE', 'RETURN', 'INFO_RECEIVED', 'REOPEN', 'ESCALATE', 'ASSIGN']);
const TEXT_FIELDS = ['text', 'note', 'answer', 'info', 'question', 'reason', 'resolution'] as const;

const GERMAN: Record<string, string> = {
  NOTE: 'Notiz', RETURN: 'Antwort', INFO_RECEIVED: 'Information eingegangen', REQUEST_INFO: 'Rückfrage', REOPEN: 'wieder geöffnet', ESCALATE: 'eskaliert',
  ASSIGN: 'zugewiesen', CHANGE_PRIORITY: 'Priorität geändert', SLA_WARNING: 'SLA-Warnung', SLA_BREACHED: 'SLA verletzt', RECEIPT_OVERDUE: 'Eingangsbestätigung überfällig',
  RESOLVE: 'gelöst', CLOSE: 'geschlossen', ACCEPT: 'angenommen', BACKLOG_DECIDED: 'Backlog entschieden',
};

export function decideOutbound(event: CloudEvent): OutboundDecision {
  const data = (event.data ?? {}) as HandoffData;
  const ticketId = data.ticket?.id ?? data.ticketId ?? event.subject;
  if (event.type === HANDOFF_EVENT_TYPES.requested) {
    if (!data.ticket) return { send: false, why: 'the event carries no ticket', ticketId };
    return { send: true, message: { kind: 'handoff', ...(data.reason ? { reason: data.reason } : {}) }, automatic: true, ticket: data.ticket, ticketId };
  }
  if (event.type === HANDOFF_EVENT_TYPES.withdrawn) {
    return { send: true, message: { kind: 'update', summary: `Die Übergabe wurde zurückgenommen${data.reason ? `: ${data.reason}` : '.'}` }, automatic: true, ticket: null, ticketId };
  }
  if (event.type === HANDOFF_EVENT_TYPES.updated) {
    if (!data.ticket) return { send: false, why: 'the event carries no ticket', ticketId };
    const last = data.history?.at(-1);
    if (last && last.type === 'NOTE' && 'system' in last.actor) return { send: false, why: "Lotse's own note (mail in) is never mailed back", ticketId };
    const change = data.change ?? last?.type ?? 'update';
    const words = last ? TEXT_FIELDS.map((f) => last.details?.[f]).filter((v): v is string => typeof v === 'string' && v.trim() !== '') : [];
    const heading = GERMAN[change] ?? change;
    const summary = [`Änderung: ${heading}`, ...words].join('\n\n');
    const message: MailMessageKind = change === 'REQUEST_INFO' ? { kind: 'request-info', question: words.join('\n\n') || heading } : { kind: 'update', summary };
    return { send: true, message, automatic: !(PERSON_WORDS.has(change) && words.length > 0), ticket: data.ticket, ticketId };
  }
  return { send: false, why: `no mail for ${event.type}`, ticketId };
}
