import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/** Keys read and removed per round: UNLINK frees them off Redis's main thread, SCAN never blocks it. */
const BATCH = 500;

/** A prefix as a SCAN pattern: glob characters in it match themselves; `:*` so `lotse-demo` never takes `lotse-demo2`'s keys. */
export function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:*`;
}

/**
 * Removes every key under `prefix` (`<prefix>:…`: Lotse's keys and BullMQ's
 * queues alike) and nothing else; answers how many went. One Redis only: a
 * Cluster's keys lie on several nodes, each to be scanned apart.
 */
export async function removePrefixKeys(redis: RedisClient, prefix: string): Promise<number> {
  if (redis instanceof Cluster) throw new Error('removing a prefix needs one Redis, not a Cluster');
  let removed = 0;
  const stream = redis.scanStream({ match: prefixPattern(prefix), count: BATCH });
  for await (const batch of stream as AsyncIterable<string[]>) {
    if (batch.length > 0) removed += await redis.unlink(...batch);
  }
  return removed;
}

/** How many keys lie under `prefix` (a SCAN, never KEYS). */
export async function countPrefixKeys(redis: RedisClient, prefix: string): Promise<number> {
  if (redis instanceof Cluster) throw new Error('counting a prefix needs one Redis, not a Cluster');
  let n = 0;
  for await (const batch of redis.scanStream({ match: prefixPattern(prefix), count: BATCH }) as AsyncIterable<string[]>) n += batch.length;
  return n;
}
