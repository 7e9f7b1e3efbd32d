import type { RedisClient } from './redis-client.js';

/**
 * The API's rate-limit counters: `ratelimit:<role>:<orgId>`, each expiring
 * with its window, written by @fastify/rate-limit's own Redis store (its
 * script counts and sets the expiry in one step). This module names where
 * they lie and on which client. `redis` IS the client: the plugin needs one
 * for its store, so src/http/limits.ts hands it over. That is the one place
 * outside the Redis rooms (store, queue, provider kit, wiring) that holds a
 * client, and it gets it as this store type, never by importing the client.
 */
export interface RateCounters {
  /** What @fastify/rate-limit's `redis` option takes. */
  readonly redis: RedisClient;
  /** Its `nameSpace`: the counters' key prefix. */
  readonly nameSpace: string;
}

export function createRateCounters(redis: RedisClient, prefix: string): RateCounters {
  return { redis, nameSpace: `${prefix}:ratelimit:` };
}
