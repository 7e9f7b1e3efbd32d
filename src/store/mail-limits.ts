import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';

/**
 * Issue 17, "no loops, no floods": at most a configured number of mails per
 * recipient and ticket per day, and no mail to an address that bounced for
 * good. The day's count is a set of effect ids, so a retry of an effect that
 * was counted is still allowed and counts once.
 */

export type QuotaResult = { allowed: true; count: number } | { allowed: false; count: number };

/** Counts this effect for (recipient, ticket, UTC day of `at`); allowed while the day holds at most `max` effects. */
export async function countMail(redis: RedisClient, prefix: string, recipient: string, ticketId: string, effectId: string, at: number, max: number): Promise<QuotaResult> {
  const key = mailKeys(prefix).quota(recipient, ticketId, new Date(at).toISOString().slice(0, 10));
  if ((await redis.sismember(key, effectId)) === 1) return { allowed: true, count: await redis.scard(key) };
  const results = await redis.multi().sadd(key, effectId).scard(key).pexpire(key, 2 * 86_400_000).exec();
  const count = Number(results?.[1]?.[1] ?? 0);
  if (count <= max) return { allowed: true, count };
  // Over the limit: this effect is not sent, so it does not hold a place.
  await redis.srem(key, effectId);
  return { allowed: false, count: count - 1 };
}

export interface Undeliverable {
  address: string;
  at: number;
  status: string;
  diagnostic: string;
  ticketId: string | null;
}

export async function markUndeliverable(redis: RedisClient, prefix: string, entry: Undeliverable): Promise<void> {
  await redis.hset(mailKeys(prefix).undeliverable, entry.address.toLowerCase(), JSON.stringify({ ...entry, address: entry.address.toLowerCase() }));
}

export async function undeliverable(redis: RedisClient, prefix: string, address: string): Promise<Undeliverable | null> {
  const stored = await redis.hget(mailKeys(prefix).undeliverable, address.toLowerCase());
  return stored === null ? null : (JSON.parse(stored) as Undeliverable);
}

/** Every address marked undeliverable, for the operators' board. */
export async function listUndeliverable(redis: RedisClient, prefix: string): Promise<Undeliverable[]> {
  const all = await redis.hvals(mailKeys(prefix).undeliverable);
  return all.map((v) => JSON.parse(v) as Undeliverable).sort((a, b) => b.at - a.at);
}

/** An operator fixed the address (or the other side its mailbox): mail may go there again. */
export async function clearUndeliverable(redis: RedisClient, prefix: string, address: string): Promise<boolean> {
  return (await redis.hdel(mailKeys(prefix).undeliverable, address.toLowerCase())) === 1;
}
