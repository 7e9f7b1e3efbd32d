import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';

/**
 * Worker heartbeats: one sorted set (`hb`), member `<role>@<host>:<pid>`,
 * scored by the time of its last beat. Readiness reads which roles beat
 * lately; whoever beats drops the members of processes gone for longer than
 * a bound, so the set holds live processes only.
 */
export async function recordBeats(redis: RedisClient, keys: Keys, members: readonly string[], at: number, goneMs: number): Promise<void> {
  await redis
    .multi()
    .zadd(keys.heartbeat, ...members.flatMap((m) => [at, m]))
    .zremrangebyscore(keys.heartbeat, '-inf', `(${at - goneMs}`)
    .exec();
}

/** Members that beat at or after `since`. */
export async function liveMembers(redis: RedisClient, keys: Keys, since: number): Promise<string[]> {
  return redis.zrangebyscore(keys.heartbeat, since, '+inf');
}

/** Removes a stopping process's members at once, rather than when they go stale. */
export async function removeBeats(redis: RedisClient, keys: Keys, members: readonly string[]): Promise<void> {
  if (members.length > 0) await redis.zrem(keys.heartbeat, ...members);
}
