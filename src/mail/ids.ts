import { createHash } from 'node:crypto';

/**
 * Lotse's names in mail: the subject tag and its own Message-IDs. A
 * Message-ID is derived from the effect id, so a retried send of one effect
 * carries the same Message-ID (a receiver can drop the duplicate, an operator
 * can find it in the MTA's log), and it names the ticket, so a reply's
 * `In-Reply-To`/`References` finds the ticket without a lookup.
 */

/** Lotse's ticket ids (src/engine/ticket/ids.ts: a ULID with a `T` in front); kept here so mail does not import the engine. */
const TICKET_ID = 'T[0-9A-HJKMNP-TV-Z]{20}(?:-[1-9][0-9]?)?';
const TAG = new RegExp(`\\[Lotse#(${TICKET_ID})\\]`, 'i');
const OWN_ID = new RegExp(`^<?lotse\\.(${TICKET_ID})\\.([0-9a-f]{24})@([^>\\s]+)>?$`, 'i');

export const subjectTag = (ticketId: string): string => `[Lotse#${ticketId}]`;

/** The ticket named by a `[Lotse#…]` tag in a (decoded) subject, if any. */
export function ticketIdFromSubject(subject: string): string | null {
  const m = TAG.exec(subject);
  return m ? m[1]!.toUpperCase() : null;
}

/** The domain part of an address such as LOTSE_MAIL_FROM. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0 || at === address.length - 1) throw new Error('an address needs a domain');
  return address.slice(at + 1).replace(/>$/, '').toLowerCase();
}

/** `<lotse.<ticketId>.<24 hex of sha256(effectId)>@<domain>>`: the same for every attempt of one effect. */
export function messageIdFor(effectId: string, ticketId: string, domain: string): string {
  const token = createHash('sha256').update(effectId).digest('hex').slice(0, 24);
  return `<lotse.${ticketId}.${token}@${domain.toLowerCase()}>`;
}

/** The ticket a Message-ID names when it is one of Lotse's own on `domain`; null for anyone else's. */
export function ticketIdFromMessageId(messageId: string, domain: string): string | null {
  const m = OWN_ID.exec(messageId.trim());
  if (!m || m[3]!.toLowerCase() !== domain.toLowerCase()) return null;
  return m[1]!.toUpperCase();
}

export const isOwnMessageId = (messageId: string, domain: string): boolean => ticketIdFromMessageId(messageId, domain) !== null;

/** `<a@b>` with brackets, trimmed; what mailparser gives may lack them. */
export function bracketed(messageId: string): string {
  const id = messageId.trim();
  return id.startsWith('<') ? id : `<${id}>`;
}
