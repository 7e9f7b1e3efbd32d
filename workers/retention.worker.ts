import { DelayedError, Queue } from 'bullmq';
import { fieldErrors } from '../src/errors.js';
import type { Retention } from './retention.js';
import { RetentionJobSchema } from '../src/queue/jobs.js';
import { QUEUE } from '../src/queue/names.js';
import { KEEP } from '../src/queue/retention.js';
import { invalidPayload, makeWorker, type WorkerDeps } from './worker-kit.js';

/** The sweep's scheduler: one id for every process, so upserting it again changes nothing but the interval. */
export const SWEEP_SCHEDULER_ID = 'retention-sweep';
/** How soon a purge whose ticket still has outbox entries (or a running job) looks again. */
const PURGE_RETRY_MS = 1000;

/**
 * `retention`: the sweep, run by a BullMQ job scheduler every `everyMs`, and a
 * purge after each erasure. The queue's global concurrency is 1: one sweep
 * or purge runs at a time across every process.
 */
export async function createRetentionWorker(deps: WorkerDeps & { retention: Retention; everyMs: number }) {
  const queue = new Queue(QUEUE.retention, { connection: deps.connection, prefix: deps.prefix });
  queue.on('error', (err) => deps.logger.error({ err, queue: QUEUE.retention }, 'queue error'));
  try {
    await queue.setGlobalConcurrency(1);
    await queue.upsertJobScheduler(SWEEP_SCHEDULER_ID, { every: deps.everyMs }, { name: 'sweep', data: { type: 'sweep' }, opts: { attempts: 3, backoff: { type: 'exponential', delay: 10_000 }, ...KEEP } });
  } finally {
    await queue.close();
  }
  return makeWorker<unknown, unknown>(
    QUEUE.retention,
    async (job, log, token) => {
      const parsed = RetentionJobSchema.safeParse(job.data);
      if (!parsed.success) throw invalidPayload('retention job', fieldErrors(parsed.error.issues));
      if (parsed.data.type === 'sweep') {
        const swept = await deps.retention.sweep();
        // Erasures whose purge job was lost or is still waiting are purged here too.
        const purged = await deps.retention.purge();
        log.info({ erased: swept.erased, more: swept.more, purged: purged.purged.length }, 'retention sweep done');
        return { erased: swept.erased, more: swept.more, purged: purged.purged.length };
      }
      const purged = await deps.retention.purge();
      if (await deps.retention.isPending(parsed.data.ticketId, parsed.data.version)) {
        // Its effects are not all relayed yet, or a job of it is running: look again shortly, without using an attempt.
        await job.moveToDelayed(Date.now() + PURGE_RETRY_MS, token);
        throw new DelayedError();
      }
      return { purged: purged.purged.length, jobs: purged.jobs, streamEvents: purged.streamEvents, deadLetters: purged.deadLetters };
    },
    deps,
    { concurrency: 1 },
  );
}
