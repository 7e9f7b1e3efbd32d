import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { CloudEvent } from '../domain/cloudevent.js';
import { handoffQueueName, QUEUE } from './names.js';
import type { BacklogSuggestionJob, TimerJob } from './jobs.js';

const DAY_S = 86_400;

/** Kept after completion so a re-run effect with the same job id is a no-op, then dropped. */
const KEEP: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: 7 * DAY_S },
  removeOnFail: { age: 30 * DAY_S },
};

/**
 * The only place that adds jobs. Queues are opened on first use and shared;
 * every one has an error listener.
 */
export function createQueues(connection: ConnectionOptions, prefix: string, logger: Logger) {
  const open = new Map<string, Queue>();
  const queue = (name: string): Queue => {
    let q = open.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix });
      q.on('error', (err) => logger.error({ err, queue: name }, 'queue error'));
      open.set(name, q);
    }
    return q;
  };

  return {
    queue,
    /** A ticket's timer: a delayed job whose id names the ticket and the arming. */
    async armTimer(jobId: string, data: TimerJob, fireAt: number, now: number) {
      await queue(QUEUE.sla).add('timer', data, {
        jobId,
        delay: Math.max(0, fireAt - now),
        attempts: 10,
        backoff: { type: 'exponential', delay: 1000 },
        // A fired timer's id is never reused (epochs only grow), so it need not be kept.
        removeOnComplete: true,
        removeOnFail: { age: 30 * DAY_S },
      });
    },
    async cancelTimer(jobId: string) {
      // 0 when the job already runs or is gone: either way it will change nothing.
      await queue(QUEUE.sla).remove(jobId);
    },
    async handOff(orgId: string, event: CloudEvent) {
      await queue(handoffQueueName(orgId)).add(event.type, event, {
        jobId: event.id,
        attempts: 8,
        backoff: { type: 'exponential', delay: 2000 },
        ...KEEP,
      });
    },
    async suggest(jobId: string, data: BacklogSuggestionJob) {
      await queue(QUEUE.backlog).add('suggest', data, { jobId, attempts: 10, backoff: { type: 'exponential', delay: 1000 }, ...KEEP });
    },
    async close() {
      await Promise.all([...open.values()].map((q) => q.close()));
      open.clear();
    },
  };
}

export type Queues = ReturnType<typeof createQueues>;
