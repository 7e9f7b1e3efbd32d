import type { RedisClient } from './redis-client.js';
import { COMPARE_AND_DELETE } from './scripts.js';

/**
 * Short locks: a key set only if absent, holding the holder's token, that
 * expires by itself (a holder that dies gives it back after `ms`), released
 * only by the token that took it.
 */
export async function acquireLock(redis: RedisClient, key: string, token: string, ms: number): Promise<boolean> {
  return (await redis.set(key, token, 'PX', ms, 'NX')) === 'OK';
}

/** Gives a lock back if it is still this token's (one that expired and was taken by another stays theirs). */
export async function releaseLock(redis: RedisClient, key: string, token: string): Promise<void> {
  await redis.eval(COMPARE_AND_DELETE, 1, key, token);
}

/** The lock functions bound to a client: what the backlog feed is given. */
export interface Locks {
  acquire(key: string, token: string, ms: number): Promise<boolean>;
  release(key: string, token: string): Promise<void>;
}

export const makeLocks = (redis: RedisClient): Locks => ({
  acquire: (key, token, ms) => acquireLock(redis, key, token, ms),
  release: (key, token) => releaseLock(redis, key, token),
});
