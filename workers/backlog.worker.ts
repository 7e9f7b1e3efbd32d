import { DelayedError } from 'bullmq';
import { fieldErrors } from '../src/errors.js';
import { ServiceBusy, type BacklogFeed } from '../src/engine/backlog/index.js';
import { BacklogJobSchema } from '../src/queue/jobs.js';
import { QUEUE } from '../src/queue/names.js';
import { invalidPayload, makeWorker, type WorkerDeps } from './worker-kit.js';

/** How long a job waits when another worker is matching for the same service. */
const BUSY_RETRY_MS = 250;

/**
 * `backlog`: the feed into the backlog (suggestions, improvements, recurring
 * problems) and the backlog's own effects (merge, split, the decided item's
 * notices), each through the one path of change of its record.
 */
export function createBacklogWorker(deps: WorkerDeps & { feed: BacklogFeed }, concurrency?: number) {
  return makeWorker<unknown, unknown>(
    QUEUE.backlog,
    async (job, log, token) => {
      const parsed = BacklogJobSchema.safeParse(job.data);
      if (!parsed.success) throw invalidPayload('backlog job', fieldErrors(parsed.error.issues));
      try {
        const result = await deps.feed.run(parsed.data);
        log.info({ type: parsed.data.type, result }, 'backlog job done');
        return result ?? null;
      } catch (err) {
        if (err instanceof ServiceBusy && token) {
          // Not a failure: no attempt is used, the job runs again in a moment.
          await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
          throw new DelayedError();
        }
        throw err;
      }
    },
    deps,
    concurrency === undefined ? {} : { concurrency },
  );
}
