import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';

/**
 * Mail health per organisation, for the board and /metrics: when mail last
 * went out and came in, how many failed in a row (0 once one succeeds) and
 * the last failure's reason (the SMTP server's words, never a mail's text),
 * and running counts. A small hash per organisation, written beside each
 * send and each mail taken.
 */

export interface MailHealth {
  lastSentAt: number | null;
  lastReceivedAt: number | null;
  lastFailureAt: number | null;
  lastFailure: string | null;
  /** Sends that failed since the last success. */
  failing: number;
  sent: number;
  received: number;
  deadLettered: number;
}

export async function noteSent(redis: RedisClient, prefix: string, orgId: string, at: number): Promise<void> {
  await redis.multi().hset(mailKeys(prefix).health(orgId), 'lastSentAt', String(at), 'failing', '0').hincrby(mailKeys(prefix).health(orgId), 'sent', 1).exec();
}

export async function noteSendFailure(redis: RedisClient, prefix: string, orgId: string, at: number, reason: string, deadLettered: boolean): Promise<void> {
  const key = mailKeys(prefix).health(orgId);
  const m = redis.multi().hset(key, 'lastFailureAt', String(at), 'lastFailure', reason.slice(0, 300)).hincrby(key, 'failing', 1);
  if (deadLettered) m.hincrby(key, 'deadLettered', 1);
  await m.exec();
}

export async function noteReceived(redis: RedisClient, prefix: string, orgId: string | null, at: number): Promise<void> {
  const key = orgId ? mailKeys(prefix).health(orgId) : mailKeys(prefix).inbound;
  await redis.multi().hset(key, 'lastReceivedAt', String(at)).hincrby(key, 'received', 1).exec();
}

const num = (v: string | null | undefined) => (v == null ? null : Number(v));

export async function readMailHealth(redis: RedisClient, prefix: string, orgIds: readonly string[]): Promise<Map<string, MailHealth>> {
  const out = new Map<string, MailHealth>();
  if (orgIds.length === 0) return out;
  const p = redis.pipeline();
  for (const id of orgIds) p.hgetall(mailKeys(prefix).health(id));
  const results = (await p.exec()) ?? [];
  orgIds.forEach((id, i) => {
    const h = (results[i]?.[1] ?? {}) as Record<string, string>;
    out.set(id, {
      lastSentAt: num(h.lastSentAt), lastReceivedAt: num(h.lastReceivedAt), lastFailureAt: num(h.lastFailureAt), lastFailure: h.lastFailure ?? null,
      failing: Number(h.failing ?? 0), sent: Number(h.sent ?? 0), received: Number(h.received ?? 0), deadLettered: Number(h.deadLettered ?? 0),
    });
  });
  return out;
}
