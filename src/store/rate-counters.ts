import type { RedisClient } from './redis-client.js';

/**
 * The API's rate-limit counters: `ratelimit:<role>:<orgId>`, each expiring
 * with its window, written by @fastify/rate-limit's own Redis store (its
 * script counts and sets the expiry in one step). This module names where
 * they lie and on which client, so the HTTP layer is handed that and never
 * the client itself.
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
