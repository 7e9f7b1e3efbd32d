import { domainOf, ticketIdFromMessageId, ticketIdFromSubject } from './ids.js';
import type { Classification } from './classify.js';
import type { InboundMail } from './parse.js';

/**
 * Mail in, matching to a ticket, in the contract's fixed order:
 * 1. Lotse's own Message-IDs in `In-Reply-To`, then `References` (newest
 *    first; for a bounce, the returned mail's Message-ID before them);
 * 2. the `[Lotse#<id>]` tag in the decoded subject;
 * 3. the other side's own ticket number, by the pattern of the organisation
 *    the sender belongs to (its mail address, or the same domain), looked
 *    up in that organisation's references (src/store/mail-refs.ts).
 * The first step that names a ticket decides; every step tried is kept, so
 * the ticket's history can say why a mail landed where it did.
 */

export interface MatchOrganisation {
  orgId: string;
  address: string;
  /** `ticketNumber` of its mail settings, compiled. */
  ticketNumber?: RegExp;
}

export interface MatchLookups {
  ownDomain: string;
  organisations: readonly MatchOrganisation[];
  /** The ticket an organisation's own number is kept for (mail-refs.ts), or null. */
  findByExternalNumber(orgId: string, number: string): Promise<string | null>;
  /** Optional: whether a ticket exists, so a forged or stale id matches nothing. */
  ticketExists?(ticketId: string): Promise<boolean>;
}

export type MatchRule = 'message-id' | 'bounce-original' | 'subject-tag' | 'ticket-number' | 'none';

export interface MatchStep {
  rule: MatchRule;
  outcome: string;
}

export interface TicketMatch {
  ticketId: string | null;
  rule: MatchRule;
  steps: MatchStep[];
  /** The sender's organisation, when its address or domain is configured. */
  senderOrgId: string | null;
  /** Numbers of the other side the mail names (for its organisation), to keep as the ticket's external reference. */
  externalNumbers: { orgId: string; number: string }[];
}

export async function matchTicket(mail: InboundMail, lookups: MatchLookups, classification?: Classification): Promise<TicketMatch> {
  const steps: MatchStep[] = [];
  const senderOrgs = organisationsOf(mail, lookups.organisations);
  const externalNumbers = numbersIn(mail, senderOrgs);
  const done = (ticketId: string | null, rule: MatchRule): TicketMatch => ({ ticketId, rule, steps, senderOrgId: senderOrgs[0]?.orgId ?? null, externalNumbers });
  const exists = async (id: string) => (lookups.ticketExists ? lookups.ticketExists(id) : true);

  const original = classification?.bounce?.originalMessageId;
  if (original) {
    const id = ticketIdFromMessageId(original, lookups.ownDomain);
    if (id && (await exists(id))) {
      steps.push({ rule: 'bounce-original', outcome: `${original} is Lotse's mail on ${id}` });
      return done(id, 'bounce-original');
    }
    steps.push({ rule: 'bounce-original', outcome: `${original} is not Lotse's mail on a known ticket` });
  }

  const ids = [...mail.inReplyTo, ...[...mail.references].reverse()];
  for (const messageId of ids) {
    const id = ticketIdFromMessageId(messageId, lookups.ownDomain);
    if (id && (await exists(id))) {
      steps.push({ rule: 'message-id', outcome: `${messageId} is Lotse's mail on ${id}` });
      return done(id, 'message-id');
    }
  }
  steps.push({ rule: 'message-id', outcome: ids.length ? `none of ${ids.length} referenced Message-IDs is Lotse's` : 'no In-Reply-To or References' });

  const tagged = ticketIdFromSubject(mail.subject);
  if (tagged && (await exists(tagged))) {
    steps.push({ rule: 'subject-tag', outcome: `subject tag [Lotse#${tagged}]` });
    return done(tagged, 'subject-tag');
  }
  steps.push({ rule: 'subject-tag', outcome: tagged ? `subject tag names ${tagged}, which is not known` : 'no subject tag' });

  for (const { orgId, number } of externalNumbers) {
    const id = await lookups.findByExternalNumber(orgId, number);
    if (id && (await exists(id))) {
      steps.push({ rule: 'ticket-number', outcome: `${orgId}'s number ${number} is kept on ${id}` });
      return done(id, 'ticket-number');
    }
  }
  steps.push({
    rule: 'ticket-number',
    outcome: externalNumbers.length ? `no ticket keeps ${externalNumbers.map((n) => n.number).join(', ')}` : senderOrgs.length ? 'no number of the sender\'s organisation in subject or text' : 'the sender belongs to no configured organisation',
  });
  return done(null, 'none');
}

/** Organisations whose mail address is the sender's, then those on the sender's domain. */
export function organisationsOf(mail: InboundMail, organisations: readonly MatchOrganisation[]): MatchOrganisation[] {
  const from = mail.from?.address;
  if (!from) return [];
  const exact = organisations.filter((o) => o.address.toLowerCase() === from);
  const domain = from.includes('@') ? domainOf(from) : '';
  const sameDomain = organisations.filter((o) => !exact.includes(o) && domainOf(o.address) === domain);
  return [...exact, ...sameDomain];
}

/** The numbers a mail names, subject first, then text; at most 5 per organisation. */
export function numbersIn(mail: InboundMail, organisations: readonly MatchOrganisation[]): { orgId: string; number: string }[] {
  const out: { orgId: string; number: string }[] = [];
  for (const o of organisations) {
    if (!o.ticketNumber) continue;
    const global = new RegExp(o.ticketNumber.source, o.ticketNumber.flags.includes('g') ? o.ticketNumber.flags : `${o.ticketNumber.flags}g`);
    const seen = new Set<string>();
    for (const source of [mail.subject, mail.text]) {
      for (const m of source.matchAll(global)) {
        if (seen.size >= 5) break;
        if (m[0] && !seen.has(m[0])) {
          seen.add(m[0]);
          out.push({ orgId: o.orgId, number: m[0] });
        }
      }
    }
  }
  return out;
}
