import { DelayedError, MetricsTime, UnrecoverableError, type ConnectionOptions, type Job, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import { AppError } from '../src/errors.js';
import { boundKeep, JOB_RETENTION } from '../src/queue/retention.js';
import { createWatchedWorker, WATCHDOG, type WatchdogSettings, type WatchedWorker } from '../src/queue/watched-worker.js';
import { isStoreUnavailable, STORE_RETRY_AFTER_S } from '../src/store/unavailable.js';

export interface WorkerDeps {
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  /** Told each time a watchdog replaces a wedged BullMQ worker of this queue (the process's metric). */
  onReplaced?: (queue: string) => void;
  /** The watchdog's timing: WATCHDOG unless a test shortens it. */
  watchdog?: WatchdogSettings;
}

/**
 * How the job of a worker that died is taken up again. BullMQ's defaults (a
 * 30 s lock, a stalled check every 30 s, a job failed for good at its second
 * stall) leave a killed worker's job waiting 30 to 90 s, and fail it when its
 * worker dies twice: an SLA timer would fire late or never. Every Lotse
 * handler may run twice (timers by epoch, events and creations by key), so
 * the lock is short, the check frequent and stalls are allowed many times;
 * the bound only stops a job that kills its worker every time it runs. A
 * falsely stalled job (event loop blocked past the lock) merely runs again.
 */
export const STALL_SETTINGS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 20 } as const;

/** A BullMQ worker behind Lotse's watchdog (src/queue/watched-worker.ts). */
export type KitWorker<D = unknown, R = unknown> = WatchedWorker<D, R>;
export { WATCHDOG, type WatchdogSettings };

/**
 * A BullMQ worker with Lotse's rules: errors that retrying cannot fix
 * (bad payloads, refused transitions) fail the job at once with the reason;
 * while Redis does not answer the job waits and runs again without using an
 * attempt; everything else is retried by the job's backoff. No error leaves
 * with a stack: BullMQ would keep it on the job, with Lotse's source paths,
 * whatever options the job was added with (desks add intake jobs themselves).
 *
 * It is a watched worker (src/queue/watched-worker.ts): a watchdog replaces
 * the BullMQ worker when it stops taking jobs (the job next in line waiting
 * `stuckAfterMs` while it took none, or a delayed job that much overdue, on a
 * queue neither paused nor at its global concurrency), as a Redis Cluster
 * failover has left one (bullmq#4138, #2619); the old one finishes the jobs it
 * holds within three lock durations and a job it could not finish stalls and
 * runs again by STALL_SETTINGS.
 */
export function makeWorker<D, R>(
  queueName: string,
  process: (job: Job<D, R>, log: Logger, token?: string) => Promise<R>,
  deps: WorkerDeps,
  options: { concurrency?: number; autorun?: boolean; settings?: WorkerOptions['settings'] } = {},
): KitWorker<D, R> {
  const work = async (job: Job<D, R>, token?: string): Promise<R> => {
    const log = deps.logger.child({ queue: queueName, jobId: job.id });
    boundFinishedJob(job);
    try {
      return await process(job, log, token);
    } catch (err) {
      if (err instanceof AppError && !err.retryable) {
        log.warn({ code: err.code, errors: err.details.errors }, 'job refused');
        throw withoutStack(new UnrecoverableError(describe(err)));
      }
      if (isStoreUnavailable(err) && token) {
        log.warn({ err: (err as Error).message }, 'store unavailable; the job waits');
        // The worker's own connection waits for Redis (no command timeout), so this lands once it is back.
        await job.moveToDelayed(Date.now() + STORE_RETRY_AFTER_S * 1000, token);
        throw new DelayedError();
      }
      if (err instanceof DelayedError) throw err;
      if (!(err instanceof AppError)) log.warn({ err }, 'job error; retried by its backoff');
      throw withoutStack(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const worker = createWatchedWorker<D, R>({
    name: queueName,
    processor: work,
    worker: {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: options.concurrency ?? 8,
      ...STALL_SETTINGS,
      autorun: options.autorun ?? true,
      // BullMQ's per-minute completed/failed counts (an hour of points, then trimmed): its Prometheus export and the dashboard read them.
      metrics: { maxDataPoints: MetricsTime.ONE_HOUR },
      ...(options.settings ? { settings: options.settings } : {}),
    },
    logger: deps.logger,
    ...(deps.onReplaced ? { onReplaced: deps.onReplaced } : {}),
    ...(deps.watchdog ? { watchdog: deps.watchdog } : {}),
  });
  worker.on('error', (err) => deps.logger.error({ err, queue: queueName }, 'worker error'));
  worker.on('failed', (job, err) => {
    if (job && (job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError')) deps.logger.warn({ queue: queueName, jobId: job.id, reason: err.message }, 'job failed');
  });
  return worker;
}

/**
 * Whoever added the job (a desk's own producer too), Lotse keeps it only as
 * long and as many as its bounds say, and without a stack trace: BullMQ reads
 * these options from the job in hand when it finishes it.
 */
export function boundFinishedJob(job: Job): void {
  job.opts.removeOnComplete = boundKeep(job.opts.removeOnComplete, JOB_RETENTION.completed);
  job.opts.removeOnFail = boundKeep(job.opts.removeOnFail, JOB_RETENTION.failed);
  job.opts.stackTraceLimit = 0;
}

/** The error with its stack cut to nothing: BullMQ keeps no trace when `stack` is empty; the reason is the message. */
export function withoutStack<E extends Error>(err: E): E {
  Object.defineProperty(err, 'stack', { value: '', writable: true, configurable: true });
  return err;
}

/** A failed job's reason: the message plus every wrong field. */
export function describe(err: AppError): string {
  const fields = err.details.errors?.map((e) => `${e.path || '(body)'}: ${e.message}`) ?? [];
  return fields.length > 0 ? `${err.code}: ${err.message}; ${fields.join('; ')}` : `${err.code}: ${err.message}`;
}

/** A job's payload refused before it reaches the engine. */
export function invalidPayload(what: string, issues: { path: string; message: string }[]): UnrecoverableError {
  return withoutStack(new UnrecoverableError(`VALIDATION_FAILED: invalid ${what}; ${issues.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ')}`));
}

/**
 * A job from an organisation's own queue, as that organisation: Redis lets
 * only the owner's user add there, so the queue says who sent it. An `orgId`
 * in the job must be the owner's, or the job fails naming the field.
 */
export function asQueueOwner(what: string, data: unknown, owner: string, queueName: string): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const { orgId } = data as { orgId?: unknown };
  if (orgId !== undefined && orgId !== owner) throw invalidPayload(what, [{ path: 'orgId', message: `must be ${owner}, whose queue ${queueName} this job came through` }]);
  return { ...data, orgId: owner };
}

/** What one reader of a Redis stream's consumer group does; createStreamConsumerLoop runs it. */
export interface StreamConsumer {
  /** Creates the consumer group where it is missing; tried again until it answers. */
  ensureGroup(): Promise<void>;
  /** Takes over entries whose consumer went silent and works them. */
  claimStale(): Promise<void>;
  /** Deletes the group's consumers of readers that are gone. */
  dropGoneConsumers(): Promise<void>;
  /** Waits (blocking, on its own connection) for new entries and works them. */
  readNew(): Promise<void>;
  /** Cuts a blocking read short, so stopping does not wait for it. */
  interrupt(): void;
}

/**
 * The loop of a stream consumer group's reader, shared by the outbox relay
 * and the backlog's recurring-problem feed: make sure the group exists, take
 * over the entries of silent consumers and drop the consumers of readers
 * that are gone at most every `min(claimIdleMs, 5 s)`, read and work new
 * entries, and after a failure (Redis away, a restart) log it and go on after
 * half a second. `stop` ends the loop after the step under way.
 */
export function createStreamConsumerLoop(c: StreamConsumer, o: { claimIdleMs: number; logger: Logger; what: string }) {
  let running = false;
  let loop: Promise<void> | undefined;
  let lastClaim = 0;
  const pause = () => new Promise<void>((r) => setTimeout(r, 500));

  async function run() {
    while (running) {
      try {
        await c.ensureGroup();
        break;
      } catch (err) {
        o.logger.warn({ err: (err as Error).message }, `${o.what}: consumer group not ready; retrying`);
        await pause();
      }
    }
    while (running) {
      try {
        if (Date.now() - lastClaim >= Math.min(o.claimIdleMs, 5000)) {
          lastClaim = Date.now();
          await c.claimStale();
          await c.dropGoneConsumers();
        }
        await c.readNew();
      } catch (err) {
        if (!running) break;
        o.logger.warn({ err: (err as Error).message }, `${o.what} loop failed; retrying`);
        await pause();
      }
    }
  }

  return {
    get running() {
      return running;
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      c.interrupt();
      await loop;
    },
  };
}
