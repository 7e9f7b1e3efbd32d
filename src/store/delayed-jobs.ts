import type { RedisClient } from './redis-client.js';
import { REMOVE_DELAYED_JOB } from './scripts.js';

type RemoveFn = (...args: string[]) => Promise<number>;

/**
 * BullMQ delayed jobs removed cheaply (the tickets' timers): one script of
 * 3 commands for a job that is still delayed, where BullMQ's removeJob takes
 * 17. `remove(delayedKey, jobKeys, jobId)` is true when the job was delayed
 * and is gone now; a job in any other state (about to run, running,
 * finished, gone) is left alone: false. The keys come from
 * src/queue/job-keys.ts. The script is defined on the connection now, not at
 * the first call: on an auto-pipelining client a command defined while a
 * pipeline is filled is missing from it.
 */
export function createDelayedJobRemover(redis: RedisClient) {
  redis.defineCommand('lotseRemoveDelayedJob', { lua: REMOVE_DELAYED_JOB });
  const fn = (redis as unknown as { lotseRemoveDelayedJob: RemoveFn }).lotseRemoveDelayedJob.bind(redis);
  return async (delayedKey: string, jobKeys: readonly string[], jobId: string): Promise<boolean> =>
    (await fn(String(1 + jobKeys.length), delayedKey, ...jobKeys, jobId)) === 1;
}
