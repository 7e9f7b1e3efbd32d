import type { TicketView } from '../domain/ticket.js';
import { bracketed, domainOf, messageIdFor, subjectTag } from './ids.js';

/**
 * Mail out, composition: a pure function of the effect, the ticket view,
 * the kind of message, the organisation's mail settings and the thread so
 * far. No clock, no randomness: the effect's id and time make the
 * Message-ID and the Date, so a retried send is the same message byte for
 * byte (see render.ts).
 */

export type MailMessageKind =
  | { kind: 'handoff'; reason?: string }
  | { kind: 'update'; summary: string }
  | { kind: 'request-info'; question: string };

export interface ComposeMailInput {
  /** The outbox effect's id: the Message-ID and the never-twice record come from it. */
  effectId: string;
  /** The effect's time (ISO): the Date header. */
  at: string;
  ticket: TicketView;
  /** Whether the service lets this organisation see the reporter's personal data (src/domain/access.ts decides). */
  personalData: boolean;
  message: MailMessageKind;
  recipient: { orgId: string; name?: string; address: string };
  /** LOTSE_MAIL_FROM and an optional display name. */
  sender: { address: string; name?: string };
  /** Message-IDs of this conversation so far (Lotse's and the other side's), oldest first. */
  thread: readonly string[];
  /** RFC 3834: mail Lotse makes on its own is `auto-generated` (default); false for a person's words passed on. */
  automatic?: boolean;
}

export interface ComposedMail {
  ticketId: string;
  messageId: string;
  date: string;
  from: { name: string; address: string };
  to: { name: string; address: string };
  subject: string;
  inReplyTo: string | undefined;
  references: string[];
  headers: Record<string, string>;
  text: string;
  /** SMTP envelope: the return path gets the bounces. */
  envelope: { from: string; to: string[] };
}

/** References keep the first message and the latest ones (RFC 5322 3.6.4 allows trimming): headers stay bounded. */
export const MAX_REFERENCES = 20;

export function composeMail(input: ComposeMailInput): ComposedMail {
  const { ticket } = input;
  const domain = domainOf(input.sender.address);
  const thread = input.thread.map(bracketed);
  const references = thread.length <= MAX_REFERENCES ? thread : [thread[0]!, ...thread.slice(-(MAX_REFERENCES - 1))];
  const headers: Record<string, string> = { 'X-Lotse-Ticket': ticket.id };
  if (input.automatic !== false) {
    headers['Auto-Submitted'] = 'auto-generated';
    // Asks Exchange (and Sieve vacation) not to answer with out-of-office notes; ticket systems' acknowledgements still come.
    headers['X-Auto-Response-Suppress'] = 'OOF';
  }
  return {
    ticketId: ticket.id,
    messageId: messageIdFor(input.effectId, ticket.id, domain),
    date: input.at,
    from: { name: input.sender.name ?? 'Lotse', address: input.sender.address },
    to: { name: oneLine(input.recipient.name ?? ''), address: input.recipient.address },
    subject: `${subjectTag(ticket.id)} ${SUBJECT_PREFIX[input.message.kind]}: ${oneLine(ticket.subject).slice(0, 150)}`,
    inReplyTo: thread.at(-1),
    references,
    headers,
    text: bodyOf(input),
    envelope: { from: input.sender.address, to: [input.recipient.address] },
  };
}

export const composeHandoffMail = (input: Omit<ComposeMailInput, 'message'> & { reason?: string }): ComposedMail =>
  composeMail({ ...input, message: { kind: 'handoff', ...(input.reason ? { reason: input.reason } : {}) } });
export const composeUpdateMail = (input: Omit<ComposeMailInput, 'message'> & { summary: string }): ComposedMail =>
  composeMail({ ...input, message: { kind: 'update', summary: input.summary } });
export const composeInfoRequestMail = (input: Omit<ComposeMailInput, 'message'> & { question: string }): ComposedMail =>
  composeMail({ ...input, message: { kind: 'request-info', question: input.question } });

const SUBJECT_PREFIX: Record<MailMessageKind['kind'], string> = {
  handoff: 'Übergabe',
  update: 'Aktualisierung',
  'request-info': 'Rückfrage',
};

/** The line that resolves a ticket when it stands alone in a reply (the default of `resolvedWhen`). */
export const RESOLVED_LINE = 'Status: gelöst';

function bodyOf(input: ComposeMailInput): string {
  const { ticket, message } = input;
  const lines: string[] = ['Guten Tag,', ''];
  switch (message.kind) {
    case 'handoff':
      lines.push('Lotse übergibt Ihnen den folgenden Vorgang zur Bearbeitung.');
      if (message.reason) lines.push('', `Grund der Übergabe: ${oneLine(message.reason)}`);
      break;
    case 'update':
      lines.push('der folgende Vorgang wurde aktualisiert:', '', indent(message.summary));
      break;
    case 'request-info':
      lines.push('zum folgenden Vorgang wird um weitere Informationen gebeten:', '', indent(message.question));
      break;
  }
  lines.push(
    '',
    `Vorgang:     ${ticket.id}`,
    `Dienst:      ${ticket.service}`,
    `Land:        ${ticket.land}`,
    `Priorität:   ${ticket.priority}`,
    `Kategorie:   ${ticket.category}`,
    `Betreff:     ${oneLine(ticket.subject)}`,
  );
  if (ticket.sla.resolutionDueAt) lines.push(`Lösung fällig bis: ${ticket.sla.resolutionDueAt}`);
  if (message.kind === 'handoff' && ticket.description) lines.push('', 'Beschreibung:', indent(ticket.description));
  if (input.personalData && ticket.reporter) {
    const r = ticket.reporter;
    lines.push('', 'Meldende Person (nur zur Bearbeitung dieses Vorgangs):');
    if (r.name) lines.push(`  Name:    ${oneLine(r.name)}`);
    if (r.email) lines.push(`  E-Mail:  ${r.email}`);
    if (r.phone) lines.push(`  Telefon: ${r.phone}`);
  }
  if (ticket.attachments.length > 0) {
    lines.push('', 'Anhänge:');
    for (const a of ticket.attachments) lines.push(`  ${oneLine(a.name)}: ${a.url}`);
  }
  lines.push(
    '',
    '-- So antworten Sie --',
    `Antworten Sie auf diese Nachricht und lassen Sie ${subjectTag(ticket.id)} im Betreff stehen.`,
    'Ihre erste Antwort gilt als Eingangsbestätigung, jede Antwort wird dem Vorgang als Notiz beigefügt.',
    `Eine Zeile „${RESOLVED_LINE}“ in Ihrer Antwort meldet den Vorgang als gelöst; der übrige Text gilt als Lösung.`,
    'Nennen Sie gern Ihre eigene Vorgangsnummer: Antworten, die nur diese tragen, finden den Vorgang ebenfalls.',
    '',
    'Diese Nachricht wurde von Lotse erstellt.',
  );
  return lines.join('\n') + '\n';
}

/** No line breaks or control characters where one line is expected (headers, table rows). */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function indent(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => `  ${l}`)
    .join('\n');
}
