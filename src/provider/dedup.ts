import type { RedisClient } from '../store/redis-client.js';
import { COMPARE_AND_DELETE, COMPARE_AND_PEXPIRE } from '../store/scripts.js';

/**
 * Deduplication of handoff events by CloudEvent id, crash-safe:
 *
 * - before the handler: claim the id with a lease (`SET key <token> NX PX`),
 *   renewed while the handler runs;
 * - after it succeeded: mark it done for days (`SET key done EX`);
 * - when it failed: release the claim (only if still ours), so the job's retry
 *   runs the handler again.
 *
 * A process that dies mid-handler leaves a claim that lapses with its lease;
 * BullMQ's stalled-job check then re-delivers, and the handler runs again. A
 * delivery that finds another's live claim waits and looks again rather than
 * skipping, so an event is never dropped because a crashed claim lingered.
 * Dying between the handler's success and the done mark runs the handler a
 * second time: handlers must be idempotent per event id, and the kit's answers
 * are (deterministic job ids). At least once, never lost; with two deliveries
 * of one event at a time, only one runs its handler.
 */
export type Claim = { status: 'claimed'; token: string } | { status: 'done' } | { status: 'busy' };

const DONE = 'done';

// Compare-and-extend (and compare-and-delete to release): never touch a claim another delivery took after ours lapsed.
const EXTEND = COMPARE_AND_PEXPIRE;

export interface Dedup {
  claim(eventId: string, token: string): Promise<Claim>;
  /** Keeps a claim alive while a long handler runs; returns a stop function. */
  hold(eventId: string, token: string): () => void;
  done(eventId: string): Promise<void>;
  release(eventId: string, token: string): Promise<void>;
}

export function createDedup(redis: RedisClient, opts: { prefix: string; orgId: string; leaseMs: number; ttlSeconds: number; onError: (err: unknown) => void }): Dedup {
  const key = (eventId: string) => `${opts.prefix}:provider:${opts.orgId}:seen:${eventId}`;
  return {
    async claim(eventId, token) {
      const k = key(eventId);
      if ((await redis.set(k, token, 'PX', opts.leaseMs, 'NX')) === 'OK') return { status: 'claimed', token };
      // Released between the two calls reads as busy: the delivery looks again shortly.
      return (await redis.get(k)) === DONE ? { status: 'done' } : { status: 'busy' };
    },
    hold(eventId, token) {
      const every = Math.max(100, Math.floor(opts.leaseMs / 3));
      const timer = setInterval(() => {
        redis.eval(EXTEND, 1, key(eventId), token, opts.leaseMs).catch(opts.onError);
      }, every);
      timer.unref();
      return () => clearInterval(timer);
    },
    async done(eventId) {
      await redis.set(key(eventId), DONE, 'EX', opts.ttlSeconds);
    },
    async release(eventId, token) {
      await redis.eval(COMPARE_AND_DELETE, 1, key(eventId), token);
    },
  };
}
