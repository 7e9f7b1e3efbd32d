import type { MailboxConfig } from '../domain/topology.js';
import type { ReadMail } from './inbound.js';

/**
 * Mail in, meaning: what one classified and matched mail does to its
 * ticket. Pure: the worker (workers/mail-in.ts) carries it out, each event
 * at most once (its idempotency record is written in the event's commit).
 *
 * - a person's reply from the organisation that holds the ticket is its
 *   answer: while the handoff waits for its receipt, the first one is the
 *   receipt (ACCEPT, its text the note); later ones are notes (NOTE); a
 *   line `Status: gelöst` (or the organisation's `resolvedWhen`) resolves
 *   (RESOLVE, the rest of the text the resolution);
 * - an automatic reply from the holder that names the holder's own ticket
 *   number is the receipt while one is awaited; any other automatic reply
 *   is a note of Lotse's own and is never answered;
 * - a permanent bounce of Lotse's mail marks the address undeliverable and,
 *   while the handoff to that address waits, rejects it as undeliverable
 *   (the ticket goes back to operations); another bounce is a note;
 * - mail from anyone who is not the holder is a note of Lotse's own (actor
 *   system) and changes no state;
 * - a person's mail that matches no ticket and was sent to an intake
 *   mailbox creates a ticket there; anything else unmatched is only taken;
 * - list mail and Lotse's own mail coming back are only taken.
 */

/** The events mail in sends as the holder (a subset of the machine's; mail does not import the machines). */
export type MailEvent = { type: 'ACCEPT'; note?: string } | { type: 'RESOLVE'; resolution: string } | { type: 'NOTE'; text: string } | { type: 'REJECT_HANDOFF'; reason: string };

export interface TicketFacts {
  id: string;
  holder: string;
  status: string;
}

export type Step =
  | { do: 'event'; as: 'holder'; event: MailEvent }
  | { do: 'note'; text: string }
  | { do: 'undeliverable'; address: string; status: string; diagnostic: string }
  | { do: 'ref'; orgId: string; number: string }
  | { do: 'create'; mailbox: MailboxConfig };

export interface Meaning {
  steps: Step[];
  /** What the mail did, for the mail log: ACCEPT, NOTE, RESOLVE, REJECT_HANDOFF, CREATED, ignored (…). */
  outcome: string;
}

const MAX_NOTE = 4000;

/** Text as the history keeps it: no control characters but tab and newline, bounded. */
export function safeText(text: string, max = MAX_NOTE): string {
  const clean = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ' ').replace(/[\ud800-\udfff]/g, (c, i: number, s: string) => (isPaired(s, i) ? c : ' ')).trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
function isPaired(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c <= 0xdbff ? (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 : (s.charCodeAt(i - 1) & 0xfc00) === 0xd800;
}

/**
 * `resolvedWhen`: the holder's own pattern (organisations[].mail.resolvedWhen). A
 * ticket system's resolution notice is automatic mail: from the holder, when
 * it matches the pattern, it resolves too (never the default line alone).
 */
export function decideInbound(read: ReadMail, ticket: TicketFacts | null, mailboxes: readonly MailboxConfig[], recipients: readonly string[], resolvedWhen?: RegExp): Meaning {
  const { classification: c, match, mail } = read;
  const sender = match.senderOrgId;
  const isHolder = ticket !== null && sender !== null && sender === ticket.holder;
  const awaitingReceipt = ticket?.status === 'handoff-pending';
  const refs: Step[] = ticket && isHolder ? match.externalNumbers.filter((n) => n.orgId === sender).slice(0, 1).map((n) => ({ do: 'ref' as const, orgId: n.orgId, number: n.number })) : [];
  const who = sender ?? 'unbekannt';

  switch (c.kind) {
    case 'own':
      return { steps: [], outcome: "ignored (Lotse's own mail)" };
    case 'list':
      return { steps: [], outcome: 'ignored (list mail)' };
    case 'bounce': {
      const b = c.bounce!;
      const failed = b.severity === 'permanent' ? b.recipients.filter((r) => r.action === 'failed' || r.status.startsWith('5.')) : [];
      const steps: Step[] = failed.map((r) => ({ do: 'undeliverable' as const, address: r.address, status: r.status, diagnostic: safeText(r.diagnostic ?? '', 300) }));
      if (!ticket) return { steps, outcome: `bounce (${b.severity}), no ticket` };
      const holderAddressFailed = failed.length > 0;
      if (b.severity === 'permanent' && holderAddressFailed && awaitingReceipt) {
        const reason = safeText(`Nicht zustellbar: ${failed.map((r) => `${r.address} ${r.status} ${r.diagnostic ?? ''}`.trim()).join('; ')}`, 5000);
        return { steps: [...steps, { do: 'event', as: 'holder', event: { type: 'REJECT_HANDOFF', reason } }], outcome: 'REJECT_HANDOFF' };
      }
      const text = b.severity === 'permanent' ? `Mail nicht zustellbar (${failed.map((r) => `${r.address} ${r.status}`).join(', ') || 'ohne Bericht'}).` : `Mail-Zustellung verzögert oder unklar (${b.severity}).`;
      return { steps: [...steps, { do: 'note', text }], outcome: 'NOTE' };
    }
    case 'auto-reply': {
      if (!ticket) return { steps: [], outcome: 'ignored (automatic reply, no ticket)' };
      if (isHolder && resolvedWhen && resolvedWhen.test(`${mail.subject}\n${mail.text}`) && ticket.status !== 'resolved' && ticket.status !== 'closed') {
        const resolution = safeText(`Lösungsmeldung des Ticketsystems von ${who}: ${mail.subject}\n\n${mail.text}`);
        const accept: Step[] = awaitingReceipt ? [{ do: 'event', as: 'holder', event: { type: 'ACCEPT' } }] : [];
        return { steps: [...refs, ...accept, { do: 'event', as: 'holder', event: { type: 'RESOLVE', resolution } }], outcome: awaitingReceipt ? 'ACCEPT+RESOLVE' : 'RESOLVE' };
      }
      if (isHolder && awaitingReceipt && refs.length > 0) {
        const number = (refs[0] as Extract<Step, { do: 'ref' }>).number;
        return { steps: [...refs, { do: 'event', as: 'holder', event: { type: 'ACCEPT', note: `Automatische Eingangsbestätigung per Mail (Vorgangsnummer ${number}).` } }], outcome: 'ACCEPT' };
      }
      const text = safeText(`Automatische Antwort per Mail von ${who} (${c.rule}): ${mail.subject}\n\n${mail.text}`);
      return { steps: [...refs, { do: 'note', text }], outcome: 'NOTE' };
    }
    case 'person': {
      if (!ticket) {
        const mailbox = mailboxes.find((m) => recipients.includes(m.address.toLowerCase()));
        return mailbox ? { steps: [{ do: 'create', mailbox }], outcome: 'CREATED' } : { steps: [], outcome: 'ignored (no ticket, no intake mailbox)' };
      }
      const reply = read.reply ?? { resolved: false, text: safeText(mail.text) };
      const text = safeText(reply.text);
      if (!isHolder) {
        return { steps: [{ do: 'note', text: safeText(`Mail von ${who}, nicht von der bearbeitenden Stelle: ${mail.subject}\n\n${text}`) }], outcome: 'NOTE' };
      }
      const steps: Step[] = [...refs];
      const outcomes: string[] = [];
      if (awaitingReceipt) {
        steps.push({ do: 'event', as: 'holder', event: { type: 'ACCEPT', ...(text && !reply.resolved ? { note: text } : {}) } });
        outcomes.push('ACCEPT');
      }
      if (reply.resolved) {
        steps.push({ do: 'event', as: 'holder', event: { type: 'RESOLVE', resolution: text || 'Per Mail als gelöst gemeldet.' } });
        outcomes.push('RESOLVE');
      } else if (!awaitingReceipt && text) {
        steps.push({ do: 'event', as: 'holder', event: { type: 'NOTE', text } });
        outcomes.push('NOTE');
      }
      return { steps, outcome: outcomes.join('+') || 'ignored (empty reply)' };
    }
  }
}
