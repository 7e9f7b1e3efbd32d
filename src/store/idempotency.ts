import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';
import { COMPARE_AND_DELETE } from './scripts.js';

/**
 * Idempotency records, scoped to the caller's organisation. A creation first
 * reserves its key with a pending record that expires (so a crashed request
 * frees it); the creating commit replaces it with the done record atomically
 * (see COMMIT). An event on a ticket needs no reservation: the engine looks
 * its key up with every load, and the commit that writes the done record
 * also moves the ticket's version, so a concurrent duplicate fails its
 * version check, loads again and finds the record.
 */
export type IdempotencyRecord =
  | { state: 'pending'; fp: string }
  | { state: 'done'; fp: string; ticketId: string };

export interface IdempotencyStore {
  key(orgId: string, keyHash: string): string;
  /** Reserves the key, or returns the record that holds it. */
  reserve(key: string, fingerprint: string, ttlMs: number): Promise<{ reserved: true } | { reserved: false; record: IdempotencyRecord }>;
  /** The record under a key, if any. */
  get(key: string): Promise<IdempotencyRecord | null>;
  /** Frees a pending reservation this request made, after a failure. */
  release(key: string, fingerprint: string): Promise<void>;
}

/** Compact on purpose: one record stays per ticket. `p:<fp>` in flight, `d:<fp>:<ticketId>` done. */
export const pendingRecord = (fp: string) => `p:${fp}`;
export const doneRecord = (fp: string, ticketId: string) => `d:${fp}:${ticketId}`;

export function parseRecord(stored: string): IdempotencyRecord {
  const [state, fp = '', ticketId = ''] = stored.split(':');
  return state === 'p' ? { state: 'pending', fp } : { state: 'done', fp, ticketId };
}

export function createIdempotencyStore(redis: RedisClient, keys: Keys): IdempotencyStore {
  redis.defineCommand('lotseReleaseIdem', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
  const release = (redis as unknown as { lotseReleaseIdem(key: string, value: string): Promise<number> }).lotseReleaseIdem.bind(redis);
  return {
    key: (orgId, keyHash) => keys.idempotency(orgId, keyHash),
    async reserve(key, fingerprint, ttlMs) {
      for (;;) {
        if ((await redis.set(key, pendingRecord(fingerprint), 'PX', ttlMs, 'NX')) === 'OK') return { reserved: true };
        const existing = await redis.get(key);
        // It expired between the two calls: try again.
        if (existing !== null) return { reserved: false, record: parseRecord(existing) };
      }
    },
    async get(key) {
      const stored = await redis.get(key);
      return stored === null ? null : parseRecord(stored);
    },
    async release(key, fingerprint) {
      await release(key, pendingRecord(fingerprint));
    },
  };
}
