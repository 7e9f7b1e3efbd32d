import type { Keys } from './keys.js';
import type { RedisClient } from './redis-client.js';

/**
 * The backlog's listing sets (`bix:score:<scope>`, `bix:rank:<scope>`): item
 * ids scored by score or rank, one set per scope (all, a service, a status,
 * a Land asking). The commit keeps them (backlogIndexSetOps); these read them.
 */
export interface ListingEntry {
  id: string;
  /** The item's score or rank in the set. */
  value: number;
}

/**
 * Up to `count` entries of one listing set from a sort value on: by rank
 * lowest first (from `from` up), by score highest first (from `from` down).
 * An infinite `from` starts at the set's start.
 */
export async function readListing(redis: RedisClient, keys: Keys, sort: 'score' | 'rank', scope: string, from: number, count: number): Promise<ListingEntry[]> {
  const key = keys.backlogIndex(`${sort}:${scope}`);
  const flat = sort === 'rank'
    ? await redis.zrangebyscore(key, Number.isFinite(from) ? from : '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, count)
    : await redis.zrevrangebyscore(key, Number.isFinite(from) ? from : '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, count);
  const out: ListingEntry[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, value: Number(flat[i + 1]) });
  return out;
}

/** The listing reads bound to a client and keys: what the backlog engine is given. */
export interface BacklogListing {
  read(sort: 'score' | 'rank', scope: string, from: number, count: number): Promise<ListingEntry[]>;
}

export const makeBacklogListing = (redis: RedisClient, keys: Keys): BacklogListing => ({
  read: (sort, scope, from, count) => readListing(redis, keys, sort, scope, from, count),
});
