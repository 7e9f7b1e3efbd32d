import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';
import { COMPARE_AND_ZREM } from './scripts.js';
import { deleteParkedEntries, fieldOf, outboxLength, outboxRecordIds, type OutboxEntry } from './outbox.js';
import { purgeDeliveries } from './dead-letters.js';

/**
 * What the retention worker reads and removes in Redis: the closed tickets
 * due for erasure (`ix:closed`, scored by closing time), the erased tickets
 * waiting for their purge (`ix:erasing`, scored by the erasure's version),
 * and what of an erased ticket lies outside it: its events on the stream,
 * its parked outbox entries (outbox.ts), its webhook dead letters and replay
 * counts (dead-letters.ts), its recurring-problem observation.
 */

/** Entries read per XRANGE page when the events stream is scanned. */
const PAGE = 1_000;

/** Closed tickets closed at or before `dueMs`, oldest first, at most `limit`. */
export async function closedBefore(redis: RedisClient, keys: Keys, dueMs: number, limit: number): Promise<string[]> {
  return redis.zrangebyscore(keys.index('closed'), '-inf', dueMs, 'LIMIT', 0, limit);
}

/** Forgets a closed ticket that is gone from the store (only its index member was left). */
export async function forgetClosed(redis: RedisClient, keys: Keys, ticketId: string): Promise<void> {
  await redis.zrem(keys.index('closed'), ticketId);
}

/** The first `limit` erased tickets waiting for their purge, with the version of their erasure. */
export async function erasedWaiting(redis: RedisClient, keys: Keys, limit: number): Promise<{ id: string; version: number }[]> {
  const raw = await redis.zrange(keys.index('erasing'), 0, limit - 1, 'WITHSCORES');
  const out: { id: string; version: number }[] = [];
  for (let i = 0; i < raw.length; i += 2) out.push({ id: raw[i]!, version: Number(raw[i + 1]) });
  return out;
}

/** The version of the ticket's erasure that waits for its purge; null when none waits. */
export async function erasureWaiting(redis: RedisClient, keys: Keys, ticketId: string): Promise<number | null> {
  const score = await redis.zscore(keys.index('erasing'), ticketId);
  return score === null ? null : Number(score);
}

const finishers = new WeakMap<RedisClient, (key: string, member: string, score: number) => Promise<number>>();

/** Marks the erasure at `version` purged: removed from `ix:erasing` only while that is still the erasure waiting (a later one stays). */
export async function finishErasure(redis: RedisClient, keys: Keys, ticketId: string, version: number): Promise<boolean> {
  return (await finisher(redis)(keys.index('erasing'), ticketId, version)) === 1;
}

/**
 * The script COMPARE_AND_ZREM, defined once per connection. createRetentionScan
 * defines it when it is made: a command defined on an auto-pipelining client
 * while a pipeline is being filled is missing from that pipeline, and ioredis
 * then throws outside any promise (`results[i] is not iterable`).
 */
function finisher(redis: RedisClient): (key: string, member: string, score: number) => Promise<number> {
  let fn = finishers.get(redis);
  if (!fn) {
    redis.defineCommand('lotseCompareZrem', { numberOfKeys: 1, lua: COMPARE_AND_ZREM });
    fn = (redis as unknown as { lotseCompareZrem(k: string, m: string, s: number): Promise<number> }).lotseCompareZrem.bind(redis);
    finishers.set(redis, fn);
  }
  return fn;
}

/** The time of the events stream's oldest entry (Redis's clock, at publishing); null when the stream is empty. */
export async function oldestEventTime(redis: RedisClient, keys: Keys): Promise<number | null> {
  const first = (await redis.xrange(keys.events, '-', '+', 'COUNT', 1)) as OutboxEntry[];
  return first.length === 0 ? null : Number(first[0]![0].split('-')[0]);
}

/**
 * Deletes the stream's events from `fromMs` on that `isGone(subject, eventId)`
 * picks, page by page to the end (the stream is capped by its MAXLEN). The
 * number deleted.
 */
export async function deleteEvents(redis: RedisClient, keys: Keys, fromMs: number, isGone: (subject: string, eventId: string) => boolean): Promise<number> {
  let deleted = 0;
  for (let start = `${fromMs}-0`; ;) {
    const page = (await redis.xrange(keys.events, start, '+', 'COUNT', PAGE)) as OutboxEntry[];
    const gone = page.flatMap(([entryId, fields]) => (isGone(fieldOf(fields, 'subject') ?? '', fieldOf(fields, 'id') ?? '') ? [entryId] : []));
    if (gone.length > 0) deleted += await redis.xdel(keys.events, ...gone);
    if (page.length < PAGE) return deleted;
    start = `(${page.at(-1)![0]}`;
  }
}

/**
 * Removes the ticket's recurring-problem observation (`rt:<ticket>`). It
 * belongs to the backlog feed's recurring window; it is removed here so the
 * purge needs no more than this module.
 */
export async function forgetRecurringTicket(redis: RedisClient, keys: Keys, ticketId: string): Promise<void> {
  await redis.del(keys.recurringTicket(ticketId));
}

/** Everything the retention worker does in Redis, bound to one client and prefix: what it is handed instead of the client. */
export function createRetentionScan(redis: RedisClient, keys: Keys) {
  finisher(redis);
  return {
    closedBefore: (dueMs: number, limit: number) => closedBefore(redis, keys, dueMs, limit),
    forgetClosed: (ticketId: string) => forgetClosed(redis, keys, ticketId),
    erasedWaiting: (limit: number) => erasedWaiting(redis, keys, limit),
    erasureWaiting: (ticketId: string) => erasureWaiting(redis, keys, ticketId),
    finishErasure: (ticketId: string, version: number) => finishErasure(redis, keys, ticketId, version),
    outboxLength: () => outboxLength(redis, keys),
    outboxRecordIds: () => outboxRecordIds(redis, keys),
    deleteParkedEntries: (ticketIds: ReadonlySet<string>) => deleteParkedEntries(redis, keys, ticketIds),
    purgeDeliveries: (eventIds: readonly string[]) => purgeDeliveries(redis, keys, eventIds),
    oldestEventTime: () => oldestEventTime(redis, keys),
    deleteEvents: (fromMs: number, isGone: (subject: string, eventId: string) => boolean) => deleteEvents(redis, keys, fromMs, isGone),
    forgetRecurringTicket: (ticketId: string) => forgetRecurringTicket(redis, keys, ticketId),
  };
}

export type RetentionScan = ReturnType<typeof createRetentionScan>;
