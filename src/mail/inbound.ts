import { messageKey } from '../store/mail-seen.js';
import { classifyMail, mayAnswer, type Classification, type ClassifyContext } from './classify.js';
import { matchTicket, type MatchLookups, type TicketMatch } from './match.js';
import { parseMail, type InboundMail, type ParseLimits } from './parse.js';
import { readReply, type ReadReply } from './reply.js';

/**
 * One inbound mail read end to end, without taking it: parse, the key it is
 * taken under, what it is, which ticket it belongs to and what a person's
 * reply says. The caller (after the merge: the mail worker) turns this into
 * an event and commits it with the seen mark (mail-seen.ts).
 */
export interface ReadMail {
  mailbox: string;
  key: string;
  mail: InboundMail;
  classification: Classification;
  match: TicketMatch;
  /** Only for a person's mail. */
  reply: ReadReply | undefined;
  /** False for automatic replies, bounces, lists and Lotse's own mail: never answered. */
  mayAnswer: boolean;
}

export interface ReadMailDeps extends ClassifyContext {
  lookups: MatchLookups;
  limits?: Partial<ParseLimits>;
  /** The organisation's `resolvedWhen`, compiled, by organisation id. */
  resolvedWhen?: ReadonlyMap<string, RegExp>;
}

export async function readInboundMail(raw: Buffer | string, where: { mailbox: string; envelopeFrom?: string }, deps: ReadMailDeps): Promise<ReadMail> {
  const mail = await parseMail(raw, { ...(where.envelopeFrom !== undefined ? { envelopeFrom: where.envelopeFrom } : {}), ...(deps.limits ? { limits: deps.limits } : {}) });
  const classification = classifyMail(mail, deps);
  const match = await matchTicket(mail, deps.lookups, classification);
  const reply = classification.kind === 'person' ? readReply(mail.text, match.senderOrgId ? deps.resolvedWhen?.get(match.senderOrgId) : undefined) : undefined;
  return { mailbox: where.mailbox, key: messageKey(mail.messageId, mail.hash), mail, classification, match, reply, mayAnswer: mayAnswer(classification) };
}
