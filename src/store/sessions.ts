import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';

/**
 * Dashboard sessions: `sess:<id>`, one string each (the session as JSON,
 * without its id), every one with an expiry, so they cannot grow Redis
 * without bound.
 */
export async function writeSession(redis: RedisClient, keys: Keys, id: string, stored: string, ttlSeconds: number): Promise<void> {
  await redis.set(keys.session(id), stored, 'EX', ttlSeconds);
}

/** The stored session, its expiry renewed with the read (GETEX), so a session slides while it is used; null when gone. */
export async function readSession(redis: RedisClient, keys: Keys, id: string, ttlSeconds: number): Promise<string | null> {
  return redis.getex(keys.session(id), 'EX', ttlSeconds);
}

export async function deleteSession(redis: RedisClient, keys: Keys, id: string): Promise<void> {
  await redis.del(keys.session(id));
}

/** The session functions bound to one client and prefix: what the dashboard is handed instead of the client. */
export function createSessionStore(redis: RedisClient, keys: Keys) {
  return {
    write: (id: string, stored: string, ttlSeconds: number) => writeSession(redis, keys, id, stored, ttlSeconds),
    read: (id: string, ttlSeconds: number) => readSession(redis, keys, id, ttlSeconds),
    delete: (id: string) => deleteSession(redis, keys, id),
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
