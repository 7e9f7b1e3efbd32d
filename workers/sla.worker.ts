import { fieldErrors } from '../src/errors.js';
import type { TicketEngine } from '../src/engine/ticket/index.js';
import { TimerJobSchema } from '../src/queue/jobs.js';
import { QUEUE } from '../src/queue/names.js';
import { DelayedError } from 'bullmq';
import { invalidPayload, makeWorker, type WorkerDeps } from './worker-kit.js';

/**
 * `sla`: a ticket's timer fired. It carries the epoch it was armed for; a
 * ticket that has moved on since ignores it.
 */
export function createSlaWorker(deps: WorkerDeps & { engine: TicketEngine }, concurrency?: number) {
  return makeWorker<unknown, { applied: boolean; event?: string; rescheduleAt?: number }>(
    QUEUE.sla,
    async (job, log, token) => {
      const parsed = TimerJobSchema.safeParse(job.data);
      if (!parsed.success) throw invalidPayload('timer job', fieldErrors(parsed.error.issues));
      const result = await deps.engine.fireTimer(parsed.data.ticketId, parsed.data.epoch);
      if (result.rescheduleAt !== undefined && token) {
        // Moved later while this job was already due: wait again, same job, same epoch.
        await job.moveToDelayed(result.rescheduleAt, token);
        // Meanwhile the deadline may have moved earlier again: the relay leaves a running job alone, so
        // the job, now delayed, catches up itself (a later move finds it delayed and moves it).
        const timer = await deps.engine.timerOf(parsed.data.ticketId);
        if (timer && timer.epoch === parsed.data.epoch && timer.at < result.rescheduleAt) {
          await job.changeDelay(Math.max(0, timer.at - Date.now())).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'timer could not be moved earlier'));
        }
        throw new DelayedError();
      }
      log.debug({ ...parsed.data, ...result }, result.applied ? 'timer fired' : 'stale timer ignored');
      return result;
    },
    deps,
    { concurrency: concurrency ?? 16 },
  );
}
