import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConnectorError } from '../src/connectors/connector.js';
import { connectorBackoff, type ConnectorSettings, type ConnectorTarget } from '../src/connectors/settings.js';
import { pollChanges, pushChange, type SyncDeps } from '../src/connectors/sync.js';
import type { PrincipalResolver } from '../src/config/principals.js';
import { IdSchema } from '../src/domain/ids.js';
import { stateInfo, type TicketEngine } from '../src/engine/ticket/index.js';
import { AppError, fieldErrors } from '../src/errors.js';
import { QUEUE } from '../src/queue/names.js';
import type { ConnectorStore } from '../src/store/connector-store.js';
import type { DeadLetters } from '../src/webhooks/dead-letters.js';
import { invalidPayload, makeWorker, type KitWorker, type WorkerDeps } from './worker-kit.js';

/** `connector` jobs: a handoff effect to carry to the remote system, or an organisation's poll for remote changes. */
export const ConnectorJobSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('push'),
    orgId: IdSchema,
    event: z.looseObject({ id: z.string().min(1).max(200), type: z.string(), subject: z.string().min(1).max(100) }),
  }),
  z.strictObject({ type: z.literal('poll'), orgId: IdSchema }),
]);
export type ConnectorJob = z.infer<typeof ConnectorJobSchema>;

export interface ConnectorWorkerDeps extends WorkerDeps {
  targets: ReadonlyMap<string, ConnectorTarget>;
  store: ConnectorStore;
  engine: TicketEngine;
  principals: PrincipalResolver;
  deadLetters: DeadLetters;
  settings: ConnectorSettings;
  now?: () => number;
  /** Test hook: see SyncDeps.afterRemoteCreate. */
  afterRemoteCreate?: (remoteId: string) => void;
}

export type ConnectorResult =
  | { outcome: 'created' | 'found' | 'commented'; remoteId: string }
  | { outcome: 'dead-lettered'; reason: string }
  | { outcome: 'polled'; read: number; applied: number; echoes: number; unmapped: number; ignored: number; cursor: string | null };

/** A poll holds its organisation's lock at most this long (100 changes, each a few requests, fit well inside). */
const POLL_LOCK_MS = 5 * 60_000;

/** A change whose ticket another change is being carried out for waits this long, then tries again. */
const TICKET_BUSY_WAIT_MS = 500;

/** The dead letter of a connector change: `cx-<event id>`, channel `connector`, replayed through the dead-letter API. */
export const connectorDeadLetterId = (eventId: string) => `cx-${eventId}`;

/**
 * `connector`: handoffs out to other ticket systems, and their changes back.
 * A push that fails is retried with the worker's own backoff (a day's worth
 * of attempts by default), then written to the dead letters (channel
 * `connector`) and the job completes; a refusal retrying cannot fix goes
 * there at once. A poll reads the changes after the organisation's cursor
 * and applies each as the organisation's answer through the engine.
 * Health (last success, failing, counts) is kept per organisation.
 */
export function createConnectorWorker(deps: ConnectorWorkerDeps, concurrency?: number): KitWorker<unknown, ConnectorResult> {
  const now = deps.now ?? Date.now;
  const { store } = deps;

  function syncDeps(target: ConnectorTarget, log: Logger): SyncDeps {
    const principal = deps.principals.forOrg(target.orgId, 'provider');
    return {
      orgId: target.orgId,
      config: target.config,
      connector: target.connector,
      store,
      now,
      ...(deps.afterRemoteCreate ? { afterRemoteCreate: deps.afterRemoteCreate } : {}),
      async apply(ticketId, event, key, via) {
        if (!principal) return { refused: `no principal for ${target.orgId}` };
        try {
          const r = await deps.engine.applyEventOnce(principal, ticketId, event, { idempotencyKey: key, via });
          log.info({ ticketId, type: event.type, change: via.change, replayed: r.replayed }, 'remote change applied');
          return r.replayed ? 'replayed' : 'applied';
        } catch (err) {
          if (err instanceof AppError && !err.retryable) return { refused: `${err.code}: ${err.message}` };
          throw err;
        }
      },
      async noteAsSystem(ticketId, text, via) {
        await deps.engine.applyEventOnce('system', ticketId, { type: 'NOTE', text }, { via });
      },
      async awaitsReceipt(ticketId) {
        const record = await deps.engine.findTicket(ticketId);
        if (!record) return null;
        return stateInfo(record.state.value).path.endsWith('.handoffPending') && record.state.context.assignee === target.orgId;
      },
    };
  }

  async function process(job: Job<unknown, ConnectorResult>, jobLog: Logger, jobToken?: string): Promise<ConnectorResult> {
    const parsed = ConnectorJobSchema.safeParse(job.data);
    if (!parsed.success) throw invalidPayload('connector job', fieldErrors(parsed.error.issues));
    const data = parsed.data;
    const target = deps.targets.get(data.orgId);
    const log = jobLog.child({ orgId: data.orgId, type: data.type });

    if (data.type === 'poll') {
      if (!target) return { outcome: 'polled', read: 0, applied: 0, echoes: 0, unmapped: 0, ignored: 0, cursor: null };
      // One poll per organisation at a time: the scheduler may start the next before a slow one ends.
      const token = randomUUID();
      if (!(await store.lockPoll(data.orgId, token, POLL_LOCK_MS))) return { outcome: 'polled', read: 0, applied: 0, echoes: 0, unmapped: 0, ignored: 0, cursor: null };
      try {
        const r = await pollChanges(syncDeps(target, log));
        await store.succeeded(data.orgId, now());
        if (r.read > 0) log.info(r, 'remote changes read');
        return { outcome: 'polled', ...r };
      } catch (err) {
        await store.failed(data.orgId, now(), (err as Error).message);
        throw err;
      } finally {
        await store.unlockPoll(data.orgId, token).catch(() => undefined);
      }
    }

    // The event as it was added (the schema keeps only what it checks).
    const event = (job.data as { event: Parameters<typeof pushChange>[1] }).event;
    const attempt = job.attemptsMade + 1;
    const deadLetter = async (reason: string, status: number | null): Promise<ConnectorResult> => {
      await deps.deadLetters.add({ id: connectorDeadLetterId(event.id), orgId: data.orgId, event, reason, attempts: attempt, lastStatus: status, failedAt: new Date(now()).toISOString(), jobId: job.id!, channel: 'connector' });
      await store.done(data.orgId, event.id);
      log.warn({ eventId: event.id, reason, attempts: attempt }, 'connector change dead-lettered');
      return { outcome: 'dead-lettered', reason };
    };
    if (!target) return deadLetter('no connector configured for the organisation', null);
    // One change of a ticket at a time, in whatever order BullMQ runs them: a second waits (no attempt used).
    const lock = randomUUID();
    if (!(await store.lockTicket(data.orgId, event.subject, lock, deps.settings.timeoutMs * 8))) {
      await job.moveToDelayed(now() + TICKET_BUSY_WAIT_MS, jobToken);
      throw new DelayedError();
    }
    try {
      const r = await pushChange(syncDeps(target, log), event);
      await store.done(data.orgId, event.id);
      await store.succeeded(data.orgId, now());
      log.info({ eventId: event.id, remoteId: r.remoteId, action: r.action }, 'change carried to the remote system');
      return { outcome: r.action, remoteId: r.remoteId };
    } catch (err) {
      const reason = (err as Error).message;
      await store.failed(data.orgId, now(), reason);
      if (err instanceof ConnectorError && !err.retryable) return deadLetter(reason, err.status);
      if (attempt >= (job.opts.attempts ?? 1)) return deadLetter(`${reason}; gave up after ${attempt} attempts`, err instanceof ConnectorError ? err.status : null);
      log.info({ eventId: event.id, attempt, reason }, 'connector attempt failed; retrying');
      throw err;
    } finally {
      await store.unlockTicket(data.orgId, event.subject, lock).catch(() => undefined);
    }
  }

  return makeWorker(QUEUE.connector, process, deps, {
    concurrency: concurrency ?? 4,
    settings: { backoffStrategy: (attemptsMade: number) => connectorBackoff(attemptsMade, deps.settings.backoff) },
  });
}
