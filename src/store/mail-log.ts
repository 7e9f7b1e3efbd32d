import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';

/**
 * A ticket's mail log: every mail in and out with how it was classified and
 * matched and what it did, for the ticket's readers (GET
 * /v1/tickets/{id}/mail). One hash field per mail (the effect id or the
 * message key), so a mail logged twice (a retried job, a re-run after a
 * kill) is one entry. No addresses and no text: a sender is named by its
 * organisation (or as the reporter), so the log holds no personal data and
 * an erasure leaves nothing here; the text went into the ticket's history.
 * Bounded: at most MAX_LOG entries per ticket (the next is not kept and the
 * writer is told), and the hash expires LOG_TTL_S after its last write.
 */

export const MAX_LOG = 500;
export const LOG_TTL_S = 400 * 86_400;

export interface MailLogEntry {
  at: string;
  direction: 'in' | 'out';
  /** The mail's Message-ID (Lotse's own for mail out; the other side's for mail in). */
  messageId: string | null;
  /** The organisation it came from or went to; `reporter` for intake mail; null when unknown. */
  party: string | null;
  /** Out: handoff, update, request-info, withdrawn. In: person, auto-reply, bounce, list, own. */
  kind: string;
  /** In: the classification rule that decided (src/mail/classify.ts). */
  rule?: string;
  /** In: the match rule that found the ticket, and every step tried. */
  match?: string;
  steps?: string[];
  /** What it did: sent, refused (quota/undeliverable), dead-lettered, an event type (ACCEPT, NOTE, RESOLVE, REJECT_HANDOFF, CREATED), ignored. */
  outcome: string;
  detail?: string;
}

/** Keeps one entry; false when the ticket's log is full (nothing kept). */
export async function logMail(redis: RedisClient, prefix: string, ticketId: string, id: string, entry: MailLogEntry): Promise<boolean> {
  const key = mailKeys(prefix).log(ticketId);
  if ((await redis.hlen(key)) >= MAX_LOG && (await redis.hexists(key, id)) === 0) return false;
  await redis.multi().hset(key, id, JSON.stringify(entry)).expire(key, LOG_TTL_S).exec();
  return true;
}

/** The log, oldest first. */
export async function readMailLog(redis: RedisClient, prefix: string, ticketId: string): Promise<MailLogEntry[]> {
  const all = await redis.hvals(mailKeys(prefix).log(ticketId));
  return all.map((v) => JSON.parse(v) as MailLogEntry).sort((a, b) => a.at.localeCompare(b.at));
}

/** The Message-IDs of one conversation (the ticket with one organisation), oldest first: what a new mail's References carry. */
export async function readThread(redis: RedisClient, prefix: string, ticketId: string, orgId: string): Promise<string[]> {
  return (await readMailLog(redis, prefix, ticketId)).filter((e) => e.party === orgId && e.messageId && (e.direction === 'in' ? e.kind === 'person' || e.kind === 'auto-reply' : e.outcome === 'sent')).map((e) => e.messageId!);
}
