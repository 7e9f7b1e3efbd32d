import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

/**
 * Idempotency records for ticket creation, scoped to the caller's
 * organisation. A request first reserves its key with a pending record that
 * expires (so a crashed request frees it); the creating commit replaces it
 * with the done record atomically (see COMMIT).
 */
export type IdempotencyRecord =
  | { state: 'pending'; fp: string }
  | { state: 'done'; fp: string; ticketId: string };

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface IdempotencyStore {
  key(orgId: string, keyHash: string): string;
  /** Reserves the key, or returns the record that holds it. */
  reserve(key: string, fingerprint: string, ttlMs: number): Promise<{ reserved: true } | { reserved: false; record: IdempotencyRecord }>;
  /** Frees a pending reservation this request made, after a failure. */
  release(key: string, fingerprint: string): Promise<void>;
}

export const pendingRecord = (fp: string) => JSON.stringify({ state: 'pending', fp } satisfies IdempotencyRecord);
export const doneRecord = (fp: string, ticketId: string) => JSON.stringify({ state: 'done', fp, ticketId } satisfies IdempotencyRecord);

export function createIdempotencyStore(redis: Redis, keys: Keys): IdempotencyStore {
  redis.defineCommand('lotseReleaseIdem', { numberOfKeys: 1, lua: RELEASE });
  const release = (redis as unknown as { lotseReleaseIdem(key: string, value: string): Promise<number> }).lotseReleaseIdem.bind(redis);
  return {
    key: (orgId, keyHash) => keys.idempotency(orgId, keyHash),
    async reserve(key, fingerprint, ttlMs) {
      for (;;) {
        if ((await redis.set(key, pendingRecord(fingerprint), 'PX', ttlMs, 'NX')) === 'OK') return { reserved: true };
        const existing = await redis.get(key);
        // It expired between the two calls: try again.
        if (existing !== null) return { reserved: false, record: JSON.parse(existing) as IdempotencyRecord };
      }
    },
    async release(key, fingerprint) {
      await release(key, pendingRecord(fingerprint));
    },
  };
}
