import { QueueKeys } from 'bullmq';
import type { RedisClient } from './connections.js';

/** What a queue holds for its workers to take now, as far as a worker's watchdog needs it. */
export interface QueueFront {
  /** The job a worker takes next from `wait` (its right end), or null when none waits. */
  next: string | null;
  /** The prioritized job taken first, or null. */
  prioritized: string | null;
  /** When the earliest delayed job is due (ms), or null when none is delayed. */
  dueAt: number | null;
  /** Paused, or at its global concurrency: waiting jobs are then not to be taken. */
  held: boolean;
}

/**
 * The front of a BullMQ queue, read in one pipeline of five reads on one
 * slot (the queue's keys share its prefix's hash tag): LINDEX wait -1,
 * ZRANGE prioritized 0 0, ZRANGE delayed 0 0 WITHSCORES, HMGET meta paused
 * concurrency, LLEN active. The keys are BullMQ's own (QueueKeys); a delayed
 * job's score is its due time × 0x1000 plus a counter (BullMQ's
 * getDelayedScore), and a queue is held as BullMQ's isQueuePausedOrMaxed
 * says. `client` is a worker's own connection (`worker.getBackend().client`,
 * BullMQ's wrapper of the ioredis client). Lotse's queues have no rate
 * limiter; a queue with one would need its limiter's TTL read too, or its
 * jobs waiting out a limit would look held by nobody.
 */
export async function readQueueFront(client: unknown, prefix: string, name: string): Promise<QueueFront> {
  const keys = new QueueKeys(prefix).getKeys(name);
  const redis = client as RedisClient;
  const answers = await redis
    .pipeline()
    .lindex(keys.wait!, -1)
    .zrange(keys.prioritized!, 0, 0)
    .zrange(keys.delayed!, 0, 0, 'WITHSCORES')
    .hmget(keys.meta!, 'paused', 'concurrency')
    .llen(keys.active!)
    .exec();
  const results = (answers ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const [next, prioritized, delayed, meta, active] = results as [string | null, string[], string[], (string | null)[], number];
  const [paused, concurrency] = meta;
  return {
    next,
    prioritized: prioritized[0] ?? null,
    dueAt: delayed[1] === undefined ? null : Math.floor(Number(delayed[1]) / 0x1000),
    held: paused !== null || (concurrency !== null && active >= Number(concurrency)),
  };
}
