import { randomBytes } from 'node:crypto';
import { DelayedError, Queue, QueueEvents, UnrecoverableError, type ConnectionOptions, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { CloudEvent } from '../domain/cloudevent.js';
import { hasHashTag, parseClusterUrl } from '../config/redis-url.js';
import { createLogger } from '../logger.js';
import { createRedis } from '../queue/connections.js';
import { eventsQueueName, handoffQueueName, QUEUE } from '../queue/names.js';
import { createWatchedWorker, type WatchdogSettings, type WatchedWorker } from '../queue/watched-worker.js';
import { AnswerError, createAnswers, httpTransport, queueTransport, type AnswerResult, type AnswerTransport, type Answers, type HttpAnswerOptions } from './answers.js';
import { createDedup } from './dedup.js';
import { HANDOFF_EVENT_TYPES, parseProviderEvent, type HandoffRequestedEvent, type ProviderEvent, type TicketUpdatedEvent, type TicketWithdrawnEvent } from './events.js';

/** What a handler gets beside the event: answers bound to it, a logger carrying its ids, the BullMQ job. */
export interface HandlerContext extends Answers {
  log: Logger;
  job: Job;
  /** The receipt the kit sent before the handler ran (with `autoReceipt`), if the handoff needed one. */
  receipt?: AnswerResult;
}

export type Handler<E> = (event: E, ctx: HandlerContext) => Promise<void> | void;

export interface ProviderWorkerOptions {
  /** The provider's organisation id in Lotse's topology: `dataport`. */
  orgId: string;
  /**
   * Lotse's Redis: a `redis://` URL, a `redis+cluster://` URL (as Lotse's
   * `REDIS_URL`), or ioredis options. With Redis ACLs, the provider's own
   * user: `redis://dataport:<password>@host:6379` (and `answersQueue: 'own'`).
   */
  connection: string | RedisOptions;
  /**
   * Where answers go as jobs: `own` is the organisation's own
   * `events-<orgId>` queue, the only one its Redis user may add to when
   * Lotse's Redis has ACLs (`lotse redis-acl`); `shared` (the default) is the
   * `events` queue of a Redis with one trusted user.
   */
  answersQueue?: 'own' | 'shared';
  /** Lotse's key prefix (`LOTSE_PREFIX`). */
  prefix?: string;
  onHandoff: Handler<HandoffRequestedEvent>;
  onUpdate?: Handler<TicketUpdatedEvent>;
  onWithdrawn?: Handler<TicketWithdrawnEvent>;
  logger?: Logger;
  /**
   * Send answers over Lotse's HTTP API with this key instead of as jobs on
   * the `events` queue: no BullMQ job per answer, and Lotse's answer comes
   * back on the same request.
   */
  api?: HttpAnswerOptions;
  /** Events handled at once. */
  concurrency?: number;
  /** Send the receipt (ACCEPT) before `onHandoff` runs, when the handoff needs one. Off: the handler calls `accept` or `reject`. */
  autoReceipt?: boolean;
  /** How long a handled event id is remembered. Lotse keeps failed handoff jobs 30 days. */
  dedupTtlSeconds?: number;
  /** Lease of a delivery's claim on an event id; renewed while its handler runs, lapses when the process dies. */
  claimLeaseMs?: number;
  /** How long an answer waits for Lotse to apply it before the handler fails (and is retried). */
  answerTimeoutMs?: number;
  /** Bound on `close()` waiting for running handlers. */
  closeTimeoutMs?: number;
  /**
   * The watchdog's timing (`{ everyMs: 10_000, stuckAfterMs: 30_000 }`): the
   * kit's BullMQ worker is replaced when a handoff waits next in line that
   * long while it takes none. Tests shorten it.
   */
  watchdog?: WatchdogSettings;
}

export interface ProviderWorker {
  /**
   * The kit's BullMQ worker behind a watchdog that replaces it when it stops
   * taking handoffs (src/queue/watched-worker.ts): `current` is the BullMQ
   * worker of the moment; `pause`/`resume` pause it on purpose (never
   * replaced while paused), `on` listens on every worker it will be.
   */
  worker: WatchedWorker<unknown, ProviderJobResult>;
  /** Answers to an event outside its handler: later, from the provider's own system. Same job ids as inside. */
  answersFor(event: Pick<CloudEvent, 'id' | 'subject'>): Answers;
  close(): Promise<void>;
}

export type ProviderJobResult =
  | { handled: true; type: string; receiptVersion?: number }
  | { skipped: 'duplicate' | 'stale-handoff' | 'unknown-type' | 'no-handler' };

const DAY_S = 86_400;
/** How long a delivery that found another's live claim waits before it looks again. */
const BUSY_RETRY_MS = 2000;

/**
 * A BullMQ worker on `handoff-<orgId>` that validates each CloudEvent,
 * handles each event id once (see dedup.ts), sends the receipt a handoff
 * needs, and hands the event to the provider's handler with answers bound to
 * it. A handler that throws fails the job, which Lotse's attempts and backoff
 * retry; a handler may throw BullMQ's `UnrecoverableError` to stop retries.
 */
export function createProviderWorker(opts: ProviderWorkerOptions): ProviderWorker {
  const prefix = opts.prefix ?? 'lotse';
  const logger = (opts.logger ?? createLogger('info')).child({ provider: opts.orgId });
  const autoReceipt = opts.autoReceipt ?? true;
  const name = `${prefix}-provider-${opts.orgId}`;
  const clusterUrl = typeof opts.connection === 'string' && parseClusterUrl(opts.connection) ? opts.connection : undefined;
  if (clusterUrl && !hasHashTag(prefix)) throw new Error(`prefix: on a Redis Cluster the prefix needs a hash tag, such as {${prefix}} (Lotse's LOTSE_PREFIX)`);
  const redisOptions: RedisOptions = { maxRetriesPerRequest: null, connectionName: name };
  const redis = clusterUrl
    ? createRedis(clusterUrl, 'worker', name)
    : typeof opts.connection === 'string' ? new Redis(opts.connection, redisOptions) : new Redis({ ...opts.connection, ...redisOptions });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'provider redis connection error'));
  // On a Redis Cluster the BullMQ parts share that Cluster client (BullMQ makes, and closes, its own
  // copies for blocking reads; the shared one is quit last, in close()). Elsewhere BullMQ takes ioredis
  // options as they are (its own type of them is narrower than ioredis').
  const connection = (clusterUrl ? redis : typeof opts.connection === 'string' ? { url: opts.connection } : { ...opts.connection }) as ConnectionOptions;

  const dedup = createDedup(redis, {
    prefix,
    orgId: opts.orgId,
    leaseMs: opts.claimLeaseMs ?? 30_000,
    ttlSeconds: opts.dedupTtlSeconds ?? 30 * DAY_S,
    onError: (err) => logger.warn({ err }, 'could not renew a claim'),
  });
  const timeoutMs = opts.answerTimeoutMs ?? 30_000;
  let events: Queue | undefined;
  let queueEvents: Promise<QueueEvents> | undefined;
  const answersQueueName = opts.answersQueue === 'own' ? eventsQueueName(opts.orgId) : QUEUE.events;
  function overQueue(): AnswerTransport {
    const queue = (events = new Queue(answersQueueName, { connection, prefix }));
    queue.on('error', (err) => logger.error({ err }, 'events queue error'));
    // Every answer awaited adds a listener to this queue until it settles: as many as handlers and later answers in flight.
    queue.setMaxListeners(0);
    return queueTransport({
      events: queue,
      timeoutMs,
      // Opened on the first answer: a provider that never answers holds no extra connection.
      queueEvents: () =>
        (queueEvents ??= (async () => {
          // Read from the stream's current end, not '$' at the first blocking read: an answer that
          // finishes between this listener's start and that read would otherwise be missed.
          const last = await redis.xrevrange(`${prefix}:${answersQueueName}:events`, '+', '-', 'COUNT', 1);
          const qe = new QueueEvents(answersQueueName, { connection, prefix, lastEventId: last[0]?.[0] ?? '0-0' });
          qe.on('error', (err) => logger.error({ err }, 'events queue listener error'));
          await qe.waitUntilReady();
          return qe;
        })()),
    });
  }
  const transport = opts.api ? httpTransport({ ...opts.api, timeoutMs }) : overQueue();
  const answersFor = (event: Pick<CloudEvent, 'id' | 'subject'>) => createAnswers(transport, opts.orgId, event.subject, event.id);

  async function dispatch(event: ProviderEvent, job: Job, log: Logger): Promise<ProviderJobResult> {
    const answers = answersFor(event);
    const ctx: HandlerContext = { ...answers, log, job };
    switch (event.type) {
      case HANDOFF_EVENT_TYPES.requested: {
        if (event.data.receiptRequired && autoReceipt) {
          try {
            ctx.receipt = await answers.accept();
            log.info({ version: ctx.receipt.version }, 'receipt applied');
          } catch (err) {
            // The ticket no longer waits for this provider (taken already, withdrawn, sent back): nothing to handle.
            if (err instanceof AnswerError && err.refused && err.code !== 'VALIDATION_FAILED') {
              log.info({ reason: err.reason }, 'handoff no longer waits for a receipt; handler skipped');
              return { skipped: 'stale-handoff' };
            }
            if (err instanceof AnswerError && err.refused) throw new UnrecoverableError(err.message);
            throw err;
          }
        }
        await opts.onHandoff(event, ctx);
        return { handled: true, type: event.type, ...(ctx.receipt ? { receiptVersion: ctx.receipt.version } : {}) };
      }
      case HANDOFF_EVENT_TYPES.updated:
        if (!opts.onUpdate) return { skipped: 'no-handler' };
        await opts.onUpdate(event, ctx);
        return { handled: true, type: event.type };
      case HANDOFF_EVENT_TYPES.withdrawn:
        if (!opts.onWithdrawn) return { skipped: 'no-handler' };
        await opts.onWithdrawn(event, ctx);
        return { handled: true, type: event.type };
    }
  }

  const queueName = handoffQueueName(opts.orgId);
  const worker = createWatchedWorker<unknown, ProviderJobResult>({
    name: queueName,
    async processor(job, token) {
      const parsed = parseProviderEvent(job.data);
      if (!parsed.ok) {
        logger.warn({ jobId: job.id, problems: parsed.problems }, 'invalid handoff event refused');
        throw new UnrecoverableError(`VALIDATION_FAILED: not a Lotse handoff CloudEvent; ${parsed.problems.join('; ')}`);
      }
      // Ids only in logs: the event's data may carry the reporter.
      const log = logger.child({ jobId: job.id, eventId: parsed.event.id, ticketId: parsed.event.subject, type: parsed.event.type });
      if (!parsed.known) {
        log.warn('event of an unknown type skipped');
        return { skipped: 'unknown-type' };
      }
      const claimToken = randomBytes(8).toString('hex');
      const claim = await dedup.claim(parsed.event.id, claimToken);
      if (claim.status === 'done') {
        log.info('duplicate event skipped');
        return { skipped: 'duplicate' };
      }
      if (claim.status === 'busy') {
        // Another delivery of the same event is running (or crashed and its lease has not lapsed): look again later, without using up an attempt.
        log.debug('event claimed by another delivery; looking again later');
        await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
        throw new DelayedError();
      }
      const stopHolding = dedup.hold(parsed.event.id, claimToken);
      try {
        const result = await dispatch(parsed.event, job, log);
        stopHolding();
        await dedup.done(parsed.event.id);
        return result;
      } catch (err) {
        stopHolding();
        await dedup.release(parsed.event.id, claimToken).catch((e: unknown) => log.warn({ err: e }, 'could not release a claim'));
        log.warn({ err: err instanceof Error ? err.message : String(err), attempt: job.attemptsMade + 1 }, 'handler failed');
        throw err;
      }
    },
    worker: { connection, prefix, concurrency: opts.concurrency ?? 8 },
    logger,
    ...(opts.watchdog ? { watchdog: opts.watchdog } : {}),
  });
  worker.on('error', (err) => logger.error({ err }, 'provider worker error'));

  let closing: Promise<void> | undefined;
  return {
    worker,
    answersFor,
    close: () =>
      (closing ??= (async () => {
        const timeoutMs = opts.closeTimeoutMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
        // worker.close() has no deadline of its own; past ours, running handlers are abandoned and their jobs stall back.
        if ((await Promise.race([worker.close(), deadline])) === 'timeout') {
          logger.warn({ timeoutMs }, 'handlers still running at close; forcing');
          await worker.close(true);
        }
        clearTimeout(timer);
        await Promise.all([events?.close(), queueEvents?.then((qe) => qe.close())]);
        await redis.quit().catch(() => redis.disconnect());
      })()),
  };
}
