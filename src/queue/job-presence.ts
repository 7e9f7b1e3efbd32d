import { QueueKeys } from 'bullmq';
import type { RedisClient } from './connections.js';

/**
 * Which of these jobs still exist on their queues. BullMQ has no batched
 * existence check: `getJob` and `getJobState` cost a round trip each (a hash
 * read, a script), and `Queue.remove` answers 1 for a job that is not there
 * as for one it removed, so it cannot tell the two apart. An erased ticket's
 * purge asks about hundreds of possible job ids at once, so this is one
 * pipeline of EXISTS on each job's hash, its key built by BullMQ's own
 * QueueKeys (not by hand), on the queues' connection.
 */
export async function jobsPresent(redis: RedisClient, prefix: string, jobs: readonly { queue: string; jobId: string }[]): Promise<boolean[]> {
  if (jobs.length === 0) return [];
  const layout = new QueueKeys(prefix);
  const pipeline = redis.pipeline();
  for (const j of jobs) pipeline.exists(layout.toKey(j.queue, j.jobId));
  return ((await pipeline.exec()) ?? []).map(([err, n]) => !err && n === 1);
}

/** The same bound to one connection and prefix: what the retention worker is handed instead of the client. */
export const createJobPresence = (redis: RedisClient, prefix: string) => (jobs: readonly { queue: string; jobId: string }[]) => jobsPresent(redis, prefix, jobs);

export type JobPresence = ReturnType<typeof createJobPresence>;
