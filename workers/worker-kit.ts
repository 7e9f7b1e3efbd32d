import { DelayedError, MetricsTime, UnrecoverableError, Worker, type ConnectionOptions, type Job, type Processor, type WorkerListener, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import { AppError } from '../src/errors.js';
import { readQueueFront } from '../src/queue/queue-front.js';
import { boundKeep, JOB_RETENTION } from '../src/queue/retention.js';
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

export interface WatchdogSettings {
  /** How often the watchdog may look at the queue. */
  everyMs: number;
  /** How long the job next in line may wait (or a delayed job stay overdue) while the worker takes nothing, before the worker counts as wedged. */
  stuckAfterMs: number;
}

/**
 * A worker's watchdog. BullMQ blocks on the queue's marker for at most 10 s
 * (its drainDelay is 5 s) and gives up a blocking call that does not settle
 * 1 s after its timeout; after a connection error it waits 15 s
 * (runRetryDelay) before it fetches again. A healthy idle worker therefore
 * takes a waiting job, or promotes a due delayed one, within about 16 s:
 * 30 s is safely above that.
 */
export const WATCHDOG: WatchdogSettings = { everyMs: 10_000, stuckAfterMs: 30_000 };

/** How long a replaced worker's jobs in hand may run on before it is closed (its locks are renewed until then). */
const RETIRE_WITHIN_MS = 3 * STALL_SETTINGS.lockDuration;
/** How long closing a wedged worker may take before it is left to the garbage collector. */
const CLOSE_WITHIN_MS = 5_000;

/** A BullMQ worker behind Lotse's watchdog: `current` is the one working now; `close` closes it and any it replaced. */
export interface KitWorker<D = unknown, R = unknown> {
  readonly name: string;
  /** The BullMQ worker taking the queue's jobs now: a new one after each replacement. */
  readonly current: Worker<D, R>;
  /** How often the watchdog replaced a wedged worker. */
  readonly replacements: number;
  /** How often the watchdog read the queue (it reads only while the worker takes nothing and has room). */
  readonly checks: number;
  /** A listener on the current worker and on every one that replaces it. */
  on<U extends keyof WorkerListener<D, R>>(event: U, listener: WorkerListener<D, R>[U]): this;
  waitUntilReady(): Promise<void>;
  isRunning(): boolean;
  close(force?: boolean): Promise<void>;
}

/** A BullMQ worker and the processor runs it has in hand. */
interface Generation<D, R> {
  worker: Worker<D, R>;
  running: Set<Promise<unknown>>;
}

const within = <T>(p: Promise<T>, ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
};

/**
 * A BullMQ worker with Lotse's rules: errors that retrying cannot fix
 * (bad payloads, refused transitions) fail the job at once with the reason;
 * while Redis does not answer the job waits and runs again without using an
 * attempt; everything else is retried by the job's backoff. No error leaves
 * with a stack: BullMQ would keep it on the job, with Lotse's source paths,
 * whatever options the job was added with (desks add intake jobs themselves).
 *
 * A watchdog replaces the BullMQ worker when it stops taking jobs: after a
 * Redis Cluster failover a worker's blocking connection has been seen never
 * to come back (bullmq#4138, #2619), its jobs waiting for ever. Every
 * `everyMs`, while the worker has room and took no job for `everyMs`,
 * it reads the queue's front (src/queue/queue-front.ts: five reads in one
 * round trip, on the worker's own connection); the worker counts as wedged
 * when the same job stayed next in line for `stuckAfterMs` while it took
 * none, or a delayed job is overdue by that much (a fetching worker would
 * have promoted it), and the queue is neither paused nor at its global
 * concurrency. Then it logs a warning, starts a new worker with the same
 * processor and options, lets the old one finish the jobs it holds (its
 * locks renewed, bounded), and force-closes it: a job it could not finish
 * stalls and runs again by STALL_SETTINGS. A look that gets no answer
 * (Redis away) decides nothing and holds the next back.
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
  const concurrency = options.concurrency ?? 8;
  const timing = deps.watchdog ?? WATCHDOG;
  const listeners: [keyof WorkerListener<D, R>, WorkerListener<D, R>[keyof WorkerListener<D, R>]][] = [];
  let lastTaken = Date.now();

  function start(): Generation<D, R> {
    const running = new Set<Promise<unknown>>();
    const processor: Processor<D, R> = async (job, token) => {
      lastTaken = Date.now();
      const run = work(job, token);
      running.add(run);
      try {
        return await run;
      } finally {
        running.delete(run);
      }
    };
    const worker = new Worker<D, R>(queueName, processor, {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency,
      ...STALL_SETTINGS,
      autorun: options.autorun ?? true,
      // BullMQ's per-minute completed/failed counts (an hour of points, then trimmed): its Prometheus export and the dashboard read them.
      metrics: { maxDataPoints: MetricsTime.ONE_HOUR },
      ...(options.settings ? { settings: options.settings } : {}),
    });
    worker.on('error', (err) => deps.logger.error({ err, queue: queueName }, 'worker error'));
    worker.on('failed', (job, err) => {
      if (job && (job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError')) deps.logger.warn({ queue: queueName, jobId: job.id, reason: err.message }, 'job failed');
    });
    for (const [event, listener] of listeners) worker.on(event, listener);
    return { worker, running };
  }

  let current = start();
  const retiring = new Set<Generation<D, R>>();
  let replacements = 0;
  let checks = 0;
  let checking = false;
  let closing = false;
  /** The job seen next in line, and since when, while the worker took none. */
  let sighting: { job: string; since: number } | null = null;

  async function look(): Promise<void> {
    const gen = current;
    const now = Date.now();
    // Every slot busy, or a job taken within `everyMs`: the worker is not waiting for work.
    if (gen.running.size >= concurrency || now - lastTaken < timing.everyMs) {
      sighting = null;
      return;
    }
    const front = await readQueueFront(await gen.worker.getBackend().client, deps.prefix, queueName);
    checks++;
    if (closing || gen !== current) return;
    const next = front.held ? null : (front.next ?? front.prioritized);
    if (next === null) sighting = null;
    else if (sighting?.job !== next || lastTaken >= sighting.since) sighting = { job: next, since: now };
    const overdueMs = front.dueAt === null || front.held ? 0 : now - front.dueAt;
    if (sighting && now - sighting.since >= timing.stuckAfterMs) replace(gen, { reason: 'a job waited', waitedMs: now - sighting.since });
    else if (overdueMs >= timing.stuckAfterMs) replace(gen, { reason: 'a delayed job is overdue', overdueMs });
  }

  function replace(old: Generation<D, R>, why: Record<string, unknown>) {
    replacements++;
    deps.logger.warn({ queue: queueName, prefix: deps.prefix, ...why, idleMs: Date.now() - lastTaken, replacements }, 'worker wedged: replacing it');
    deps.onReplaced?.(queueName);
    // No job more for the old one (it finishes those it holds), the new one takes the queue.
    void old.worker.pause(true).catch(() => undefined);
    lastTaken = Date.now();
    sighting = null;
    current = start();
    retiring.add(old);
    void (async () => {
      await within(Promise.allSettled([...old.running]), RETIRE_WITHIN_MS);
      // Forced: a normal close waits for the wedged fetch loop.
      await within(old.worker.close(true), CLOSE_WITHIN_MS);
      retiring.delete(old);
    })();
  }

  const timer = setInterval(() => {
    if (closing || checking) return;
    checking = true;
    look()
      .catch(() => undefined) // no answer: nothing decided, the next look tries again
      .finally(() => (checking = false));
  }, timing.everyMs).unref();

  return {
    name: queueName,
    get current() {
      return current.worker;
    },
    get replacements() {
      return replacements;
    },
    get checks() {
      return checks;
    },
    on(event, listener) {
      listeners.push([event, listener]);
      current.worker.on(event, listener);
      return this;
    },
    waitUntilReady: () => current.worker.waitUntilReady(),
    isRunning: () => current.worker.isRunning(),
    async close(force = false) {
      closing = true;
      clearInterval(timer);
      await Promise.all([current.worker.close(force), ...[...retiring].map((g) => within(g.worker.close(true), CLOSE_WITHIN_MS))]);
    },
  };
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
