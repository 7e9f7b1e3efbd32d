/**
 * BullMQ's keys of one job in a queue, as BullMQ 6.7 lays them out under a
 * prefix (`<prefix>:<queue>:…`, `queue.keys.delayed`, `queue.toKey(id)`):
 * what Lotse needs to remove a delayed job itself, cheaper than BullMQ's
 * removeJob (src/store/delayed-jobs.ts, and the commit for a ticket's timer
 * cancelled by a change it carries out itself). The six job keys are the
 * ones BullMQ's `removeJobKeys` deletes. test/integration/timer-cancel.test.ts
 * holds them against BullMQ's own Queue.
 */
const JOB_KEY_SUFFIXES = ['', ':logs', ':dependencies', ':processed', ':failed', ':unsuccessful'] as const;

export interface DelayedJobKeys {
  /** The queue's delayed set. */
  delayedKey: string;
  /** The job's hash first, then its other keys: six in all. */
  jobKeys: string[];
}

export function delayedJobKeys(prefix: string, queue: string, jobId: string): DelayedJobKeys {
  const base = `${prefix}:${queue}:`;
  return { delayedKey: `${base}delayed`, jobKeys: JOB_KEY_SUFFIXES.map((s) => `${base}${jobId}${s}`) };
}
