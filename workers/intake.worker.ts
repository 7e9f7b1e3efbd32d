import { fieldErrors } from '../src/errors.js';
import type { TicketEngine } from '../src/engine/ticket/index.js';
import { IntakeJobSchema } from '../src/queue/jobs.js';
import { intakeQueueName, QUEUE } from '../src/queue/names.js';
import type { PrincipalResolver } from '../src/config/principals.js';
import { asQueueOwner, invalidPayload, makeWorker, type WorkerDeps } from './worker-kit.js';

/**
 * `intake`: desks enqueue tickets; the job id is the idempotency key, the
 * result `{ ticketId }`. With `owner`, the desk's own `intake-<owner>`
 * queue: every job on it is the owner's, and one that names another
 * organisation fails.
 */
export function createIntakeWorker(deps: WorkerDeps & { engine: TicketEngine; principals: PrincipalResolver }, concurrency?: number, owner?: string) {
  const queueName = owner === undefined ? QUEUE.intake : intakeQueueName(owner);
  return makeWorker<unknown, { ticketId: string }>(
    queueName,
    async (job, log) => {
      const data = owner === undefined ? job.data : asQueueOwner('intake job', job.data, owner, queueName);
      const parsed = IntakeJobSchema.safeParse(data);
      if (!parsed.success) throw invalidPayload('intake job', deps.engine.explainCreateInput(data, fieldErrors(parsed.error.issues)));
      const { orgId, ...body } = parsed.data;
      const principal = deps.principals.forOrg(orgId, 'desk');
      if (!principal || (principal.role !== 'desk' && principal.role !== 'operator')) throw invalidPayload('intake job', [{ path: 'orgId', message: 'not a desk or operator organisation' }]);
      const { record, replayed } = await deps.engine.createParsedTicket(principal, body, { idempotencyKey: intakeJobKey(job.id), reserve: false, intakeJobId: job.id });
      log.info({ ticketId: record.id, replayed }, 'intake job done');
      return { ticketId: record.id };
    },
    deps,
    concurrency === undefined ? {} : { concurrency },
  );
}

/** A job id the desk chose is the idempotency key; BullMQ's own numeric ids are not stable, so then externalRef is. */
export function intakeJobKey(jobId: string | undefined): string | undefined {
  return jobId === undefined || /^\d+$/.test(jobId) ? undefined : jobId;
}
