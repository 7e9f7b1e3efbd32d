import type { Keys } from './keys.js';
import type { RedisClient } from './redis-client.js';

/**
 * The recurring-problem window of a service: recent technical tickets by
 * term (`rx:<service>:<term>`, ticket ids scored by creation time, trimmed to
 * the window and to `cap` newest) and each ticket's observation
 * (`rt:<ticketId>`, JSON, living as long as the window).
 */
export interface Observed {
  ticketId: string;
  service: string;
  at: number;
  terms: readonly string[];
  /** The observation itself (JSON-encoded here, decoded by readObservations). */
  observation: unknown;
}

/** Enters a ticket in the window under each of its terms, in one MULTI: the window's old entries leave as it goes. */
export async function enterWindow(redis: RedisClient, keys: Keys, o: Observed, windowMs: number, cap: number): Promise<void> {
  const ttl = Math.ceil(windowMs / 1000);
  const write = redis.multi().set(keys.recurringTicket(o.ticketId), JSON.stringify(o.observation), 'EX', ttl);
  for (const term of o.terms) {
    const key = keys.recurringPosting(o.service, term);
    write.zadd(key, o.at, o.ticketId).zremrangebyscore(key, '-inf', o.at - windowMs).zremrangebyrank(key, 0, -(cap + 1)).expire(key, ttl);
  }
  await write.exec();
}

/** For each ticket seen since `since` under any of the terms (at most `perTerm` newest each): in how many of them. */
export async function countTermHits(redis: RedisClient, keys: Keys, service: string, terms: readonly string[], since: number, perTerm: number): Promise<Map<string, number>> {
  const read = redis.pipeline();
  for (const term of terms) read.zrevrangebyscore(keys.recurringPosting(service, term), '+inf', since, 'LIMIT', 0, perTerm);
  const hits = new Map<string, number>();
  for (const [err, ids] of (await read.exec()) ?? []) {
    if (err) throw err;
    for (const id of ids as string[]) hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}

/** The observations of these tickets still in the window; a ticket whose observation expired is left out. */
export async function readObservations(redis: RedisClient, keys: Keys, ticketIds: readonly string[]): Promise<unknown[]> {
  if (ticketIds.length === 0) return [];
  const stored = await redis.mget(...ticketIds.map((id) => keys.recurringTicket(id)));
  return stored.flatMap((raw) => (raw ? [JSON.parse(raw) as unknown] : []));
}

/** The window's functions bound to a client and keys: what the backlog feed is given. */
export interface RecurringWindow {
  enter(o: Observed, windowMs: number, cap: number): Promise<void>;
  countTermHits(service: string, terms: readonly string[], since: number, perTerm: number): Promise<Map<string, number>>;
  readObservations(ticketIds: readonly string[]): Promise<unknown[]>;
}

export const makeRecurringWindow = (redis: RedisClient, keys: Keys): RecurringWindow => ({
  enter: (o, windowMs, cap) => enterWindow(redis, keys, o, windowMs, cap),
  countTermHits: (service, terms, since, perTerm) => countTermHits(redis, keys, service, terms, since, perTerm),
  readObservations: (ids) => readObservations(redis, keys, ids),
});
