import { AppError, fieldErrors } from '../src/errors.js';
import type { Engine } from '../src/engine/engine.js';
import { stateInfo } from '../src/engine/ticket-record.js';
import { EventsJobSchema } from '../src/queue/jobs.js';
import { QUEUE } from '../src/queue/names.js';
import type { PrincipalResolver } from '../src/config/principals.js';
import { invalidPayload, makeWorker, type WorkerDeps } from './worker-kit.js';

/** `events`: `{ ticketId, orgId, event }` from desks and providers, through the same engine call as HTTP. */
export function createEventsWorker(deps: WorkerDeps & { engine: Engine; principals: PrincipalResolver }, concurrency?: number) {
  return makeWorker<unknown, { ticketId: string; version: number; state: string }>(
    QUEUE.events,
    async (job, log) => {
      const parsed = EventsJobSchema.safeParse(job.data);
      if (!parsed.success) throw invalidPayload('events job', fieldErrors(parsed.error.issues));
      const { ticketId, orgId, event, ifMatch } = parsed.data;
      const principal = deps.principals.forOrg(orgId);
      if (!principal) throw invalidPayload('events job', [{ path: 'orgId', message: 'unknown organisation' }]);
      // Once applied or refused for good, the event's texts live in the ticket's history (or nowhere):
      // the job keeps only what it was, so finished jobs hold no personal data a desk typed.
      const minimal = { ticketId, orgId, event: { type: event.type }, ...(ifMatch !== undefined ? { ifMatch } : {}) };
      let record;
      try {
        record = await deps.engine.applyEvent(principal, ticketId, event, { ifMatch });
      } catch (err) {
        if (err instanceof AppError && !err.retryable) await job.updateData(minimal).catch(() => undefined);
        throw err;
      }
      await job.updateData(minimal);
      const state = stateInfo(record.state.value).path;
      log.info({ ticketId, type: event.type, version: record.version, state }, 'event applied');
      return { ticketId, version: record.version, state };
    },
    deps,
    concurrency === undefined ? {} : { concurrency },
  );
}
