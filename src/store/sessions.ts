import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';

/**
 * Dashboard sessions: `sess:<hash>`, one string each (the session as JSON),
 * named by the SHA-256 of the cookie, so a SCAN of Redis yields no working
 * cookie. Each has an expiry, and each organisation's are listed in
 * `sess-org:<orgId>` (a sorted set by expiry, trimmed on every write and
 * expiring with its newest member), so an operator can end them all at once
 * and neither grows Redis without bound.
 */
export async function writeSession(redis: RedisClient, keys: Keys, o: { hash: string; orgId: string; stored: string; ttlSeconds: number; maxSeconds: number; at: number }): Promise<void> {
  const index = keys.sessionsOfOrg(o.orgId);
  await redis
    .multi()
    .set(keys.session(o.hash), o.stored, 'EX', o.ttlSeconds)
    .zremrangebyscore(index, '-inf', o.at)
    .zadd(index, o.at + o.maxSeconds * 1000, o.hash)
    // Every member ends within maxSeconds of now: the index may expire then (no GT/NX, so Redis 6.2 will do).
    .expire(index, o.maxSeconds)
    .exec();
}

/** The stored session, its expiry renewed with the read (GETEX), so a session slides while it is used; null when gone. */
export async function readSession(redis: RedisClient, keys: Keys, hash: string, ttlSeconds: number): Promise<string | null> {
  return redis.getex(keys.session(hash), 'EX', ttlSeconds);
}

export async function deleteSession(redis: RedisClient, keys: Keys, hash: string, orgId?: string): Promise<void> {
  if (orgId === undefined) {
    await redis.del(keys.session(hash));
    return;
  }
  await redis.multi().del(keys.session(hash)).zrem(keys.sessionsOfOrg(orgId), hash).exec();
}

/** Ends every session of an organisation; answers how many were still there. */
export async function deleteSessionsOfOrg(redis: RedisClient, keys: Keys, orgId: string): Promise<number> {
  const index = keys.sessionsOfOrg(orgId);
  let ended = 0;
  for (;;) {
    const hashes = await redis.zrange(index, 0, 499);
    if (hashes.length === 0) break;
    ended += await redis.del(...hashes.map((h) => keys.session(h)));
    await redis.zrem(index, ...hashes);
  }
  return ended;
}

/**
 * Counts a failed login in each scope (a client, a key prefix) for a window;
 * answers each scope's count and the seconds its window has left.
 */
export async function countLoginFailure(redis: RedisClient, keys: Keys, scopes: string[], windowSeconds: number): Promise<{ count: number; retryAfter: number }[]> {
  const tx = redis.multi();
  // SET NX starts the window once; INCR keeps its expiry.
  for (const s of scopes) tx.set(keys.loginFailures(s), 0, 'EX', windowSeconds, 'NX').incr(keys.loginFailures(s)).ttl(keys.loginFailures(s));
  const res = (await tx.exec()) ?? [];
  return scopes.map((_s, i) => ({ count: Number(res[i * 3 + 1]?.[1] ?? 0), retryAfter: Math.max(1, Number(res[i * 3 + 2]?.[1] ?? windowSeconds)) }));
}

/**
 * Each scope's failures in the current window and the seconds it has left.
 * Asked before every keyed API request too, so the common case (no failures)
 * is one MGET; the TTLs are read only for scopes that have failures.
 */
export async function readLoginFailures(redis: RedisClient, keys: Keys, scopes: string[]): Promise<{ count: number; retryAfter: number }[]> {
  const counts = (await redis.mget(...scopes.map((s) => keys.loginFailures(s)))).map((v) => Number(v ?? 0));
  const failing = scopes.filter((_s, i) => counts[i]! > 0);
  const ttls = new Map<string, number>();
  if (failing.length > 0) {
    const tx = redis.pipeline();
    for (const s of failing) tx.ttl(keys.loginFailures(s));
    const res = (await tx.exec()) ?? [];
    failing.forEach((s, i) => ttls.set(s, Number(res[i]?.[1] ?? 1)));
  }
  return scopes.map((s, i) => ({ count: counts[i]!, retryAfter: Math.max(1, ttls.get(s) ?? 1) }));
}

/** The session functions bound to one client and prefix: what the dashboard is handed instead of the client. */
export function createSessionStore(redis: RedisClient, keys: Keys) {
  return {
    write: (o: { hash: string; orgId: string; stored: string; ttlSeconds: number; maxSeconds: number; at: number }) => writeSession(redis, keys, o),
    read: (hash: string, ttlSeconds: number) => readSession(redis, keys, hash, ttlSeconds),
    delete: (hash: string, orgId?: string) => deleteSession(redis, keys, hash, orgId),
    deleteOrg: (orgId: string) => deleteSessionsOfOrg(redis, keys, orgId),
    countLoginFailure: (scopes: string[], windowSeconds: number) => countLoginFailure(redis, keys, scopes, windowSeconds),
    readLoginFailures: (scopes: string[]) => readLoginFailures(redis, keys, scopes),
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
