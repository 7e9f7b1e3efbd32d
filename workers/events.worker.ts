import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { AppError, fieldErrors } from '../src/errors.js';
import { stateInfo, type TicketEngine } from '../src/engine/ticket/index.js';
import { EventsJobSchema } from '../src/queue/jobs.js';
import { eventsQueueName, QUEUE } from '../src/queue/names.js';
import type { PrincipalResolver } from '../src/config/principals.js';
import { asQueueOwner, describe, invalidPayload, makeWorker, withoutStack, type WorkerDeps } from './worker-kit.js';

export type EventsJobResult = { ticketId: string; version: number; state: string; replayed?: true };
type EventsDeps = { engine: TicketEngine; principals: PrincipalResolver };

/**
 * `events`: `{ ticketId, orgId, event }` from desks and providers, through
 * the same engine call as HTTP. With `owner`, the organisation's own
 * `events-<owner>` queue: applied as the owner, whatever `orgId` says (one
 * that names another organisation fails the job).
 */
export function createEventsWorker(deps: WorkerDeps & EventsDeps, concurrency?: number, owner?: string) {
  const queueName = owner === undefined ? QUEUE.events : eventsQueueName(owner);
  return makeWorker<unknown, EventsJobResult>(queueName, makeEventsProcessor(deps, owner), deps, concurrency === undefined ? {} : { concurrency });
}

/**
 * One events job, applied at most once however often it runs: BullMQ runs a
 * job again when its worker died after the commit but before completing it
 * (a stall), so the job's id is the event's idempotency key, like HTTP's
 * `Idempotency-Key` (per organisation and ticket). A re-run finds the key's
 * record and answers with the ticket as it is now (`replayed`).
 */
export function makeEventsProcessor(deps: EventsDeps, owner?: string) {
  return async (job: Job<unknown, EventsJobResult>, log: Logger): Promise<EventsJobResult> => {
    const data = owner === undefined ? job.data : asQueueOwner('events job', job.data, owner, eventsQueueName(owner));
    const parsed = EventsJobSchema.safeParse(data);
    if (!parsed.success) throw invalidPayload('events job', fieldErrors(parsed.error.issues));
    const { ticketId, orgId, event, ifMatch } = parsed.data;
    const principal = deps.principals.forOrg(orgId);
    if (!principal) throw invalidPayload('events job', [{ path: 'orgId', message: 'unknown organisation' }]);
    // Once applied or refused for good, the event's texts live in the ticket's history (or nowhere):
    // the job keeps only what it was, so finished jobs hold no personal data a desk typed.
    const minimal = { ticketId, orgId, event: { type: event.type }, ...(ifMatch !== undefined ? { ifMatch } : {}) };
    const key = eventsJobKey(job);
    // A job refused for good whose run could not record the failure (its lock was lost: a starved process, a
    // stall) runs again without its texts: it fails with the refusal it had, not with a check of what was dropped.
    if (job.attemptsStarted > 1 && typeof event.refused === 'string' && Object.keys(event).length === 2) throw withoutStack(new UnrecoverableError(event.refused));
    // A job that lost its texts was applied before: a re-run answers from the key, never refused.
    const before = Object.keys(event).length === 1 ? await deps.engine.appliedUnder(principal, ticketId, key) : null;
    if (before) return { ticketId, version: before.version, state: stateInfo(before.state.value).path, replayed: true };
    let applied;
    try {
      applied = await deps.engine.applyEventOnce(principal, ticketId, event, { ifMatch, idempotencyKey: key });
    } catch (err) {
      // The reason names fields and states, never their texts (it is the failed job's reason all the same).
      if (err instanceof AppError && !err.retryable) await job.updateData({ ...minimal, event: { ...minimal.event, refused: describe(err) } }).catch(() => undefined);
      throw err;
    }
    await job.updateData(minimal);
    const { record, replayed } = applied;
    const state = stateInfo(record.state.value).path;
    log.info({ ticketId, type: event.type, version: record.version, state, replayed }, replayed ? 'event already applied' : 'event applied');
    return { ticketId, version: record.version, state, ...(replayed ? { replayed: true as const } : {}) };
  };
}

/**
 * A job id the sender chose is the key itself, in the same space as HTTP's
 * `Idempotency-Key` (the provider kit sends `receipt-<event id>` either way).
 * BullMQ's own ids are a per-queue counter that starts again with a new
 * queue: with the job's creation time they name this one job, re-runs included.
 */
export function eventsJobKey(job: Pick<Job, 'id' | 'timestamp'>): string {
  return job.id === undefined || /^\d+$/.test(job.id) ? `bullmq-job-${job.id ?? ''}-${job.timestamp}` : job.id;
}
