import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';
import { COUNT_RANGE } from './scripts.js';

/**
 * Entries of a stream between two times, counted inside Redis (only the
 * number travels), at most `cap`: the dashboard's throughput per minute.
 */
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

/** The board's chart series (`dash:series`) and the events stream it counts, bound to one client and prefix. */
export function createChartSamples(redis: RedisClient, keys: Keys, partitionKeys: readonly Keys[] = [keys]) {
  return {
    /** Ticket events published in [fromMs, toMs), at most `cap` in each partition's stream (LOTSE_PARTITIONS), summed. */
    countEvents: async (fromMs: number, toMs: number, cap: number) =>
      (await Promise.all(partitionKeys.map((k) => countStreamEntries(redis, k.events, fromMs, toMs, cap)))).reduce((a, b) => a + b, 0),
    /** Writes the minute's sample unless another process wrote it; false then. */
    append: (minute: number, sample: string, keep: number) => appendSample(redis, keys.dashboardSeries, minute, sample, keep),
    read: () => readSamples(redis, keys.dashboardSeries),
  };
}

export type ChartSamples = ReturnType<typeof createChartSamples>;
