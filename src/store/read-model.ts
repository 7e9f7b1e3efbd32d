import type { RedisClient } from './redis-client.js';
import type { IndexName, Keys } from './keys.js';

/** How many members each index set has, in one pipeline of ZCARDs: O(1) each, whatever the number of tickets. */
export async function countIndexes(redis: RedisClient, keys: Keys, names: readonly IndexName[]): Promise<number[]> {
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.zcard(keys.index(name));
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, n]) => {
    if (err) throw err;
    return Number(n);
  });
}

/** Webhook deliveries that failed for good, all organisations. */
export async function countDeadLetters(redis: RedisClient, keys: Keys): Promise<number> {
  return redis.zcard(keys.deadLetterIndex());
}

/**
 * Entries of a stream between two times, counted inside Redis (only the
 * number travels), at most `cap`: the dashboard's throughput per minute.
 */
const COUNT_RANGE = `return #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])`;

export async function countStreamEntries(redis: RedisClient, key: string, fromMs: number, toMs: number, cap: number): Promise<number> {
  return Number(await redis.eval(COUNT_RANGE, 1, key, `${fromMs}-0`, `${Math.max(fromMs, toMs - 1)}-18446744073709551615`, cap));
}

/**
 * The dashboard's per-minute series: a sorted set by minute, trimmed to the
 * newest `keep`. One process samples each minute (SET NX on the minute), so
 * several API processes do not write it twice.
 */
export async function appendSample(redis: RedisClient, key: string, minute: number, sample: string, keep: number): Promise<boolean> {
  const claimed = await redis.set(`${key}:m:${minute}`, '1', 'EX', 120, 'NX');
  if (claimed !== 'OK') return false;
  await redis.multi().zadd(key, minute, sample).zremrangebyrank(key, 0, -(keep + 1)).exec();
  return true;
}

export async function readSamples(redis: RedisClient, key: string): Promise<string[]> {
  return redis.zrange(key, 0, -1);
}

/**
 * What the cost report puts beside each Land's share: the tickets it created
 * in the year (a counter the commit keeps) and the backlog items its tickets
 * ask for (a set the backlog's commit keeps), per service.
 */
export async function readCostFacts(redis: RedisClient, keys: Keys, year: number, pairs: readonly { service: string; land: string }[]) {
  const pipeline = redis.pipeline();
  pipeline.hmget(keys.stats('created-year'), ...pairs.map((p) => `${year}|${p.service}|${p.land}`));
  for (const p of pairs) pipeline.zcard(keys.backlogIndex(`score:service:${p.service}:land:${p.land}`));
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
  const tickets = (results[0]![1] as (string | null)[]).map((v) => Number(v ?? 0));
  return pairs.map((p, i) => ({ ...p, tickets: tickets[i]!, backlogItems: Number(results[i + 1]![1]) }));
}
