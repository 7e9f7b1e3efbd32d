import { Worker, type Processor, type WorkerListener, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import { readQueueFront } from './queue-front.js';

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

/** BullMQ's own lock duration, when the options name none. */
const BULLMQ_LOCK_MS = 30_000;
/** How long closing a wedged worker may take before it is left to the garbage collector. */
const CLOSE_WITHIN_MS = 5_000;

/**
 * A BullMQ worker behind a watchdog: `current` is the one working now;
 * `close` closes it and any it replaced; `pause` and `resume` act on the
 * current one and keep the watchdog from looking while it is paused.
 */
export interface WatchedWorker<D = unknown, R = unknown> {
  readonly name: string;
  /** The BullMQ worker taking the queue's jobs now: a new one after each replacement. */
  readonly current: Worker<D, R>;
  /** How often the watchdog replaced a wedged worker. */
  readonly replacements: number;
  /** How often the watchdog's turn came (every `everyMs`), whether it read the queue or not. */
  readonly looks: number;
  /** How often the watchdog read the queue (it reads only while the worker runs unpaused, takes nothing and has room). */
  readonly checks: number;
  /** A listener on the current worker and on every one that replaces it. */
  on<U extends keyof WorkerListener<D, R>>(event: U, listener: WorkerListener<D, R>[U]): this;
  waitUntilReady(): Promise<void>;
  isRunning(): boolean;
  /** Stops taking jobs (BullMQ's `Worker#pause`); the watchdog does not look until `resume`: a worker paused on purpose is never replaced. */
  pause(doNotWaitActive?: boolean): Promise<void>;
  /** Takes jobs again; the watchdog looks again, counting from now. */
  resume(): Promise<void>;
  isPaused(): boolean;
  close(force?: boolean): Promise<void>;
}

export interface WatchedWorkerOptions<D, R> {
  /** The queue's name. */
  name: string;
  processor: Processor<D, R>;
  /** Given to each BullMQ worker as they are (connection, prefix, concurrency, lock and stall settings, …). */
  worker: WorkerOptions;
  /** Where a replacement is logged (a warning). */
  logger: Logger;
  /** Told each time the watchdog replaces a wedged worker (a process's metric). */
  onReplaced?: (queue: string) => void;
  /** The watchdog's timing: WATCHDOG unless a test shortens it. */
  watchdog?: WatchdogSettings;
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
 * A BullMQ worker that is replaced when it stops taking jobs: after a Redis
 * Cluster failover a worker's blocking connection has been seen never to
 * come back (bullmq#4138, #2619), its jobs waiting for ever. Every
 * `everyMs`, while the worker is not paused on purpose, has room and took
 * no job for `everyMs`, the watchdog reads the queue's front
 * (queue-front.ts: five reads in one round trip, on the worker's own
 * connection); the worker counts as wedged when the same job stayed next in
 * line for `stuckAfterMs` while it took none, or a delayed job is overdue by
 * that much while it was watched (a fetching worker would have promoted
 * it), and the queue is neither paused nor at its global concurrency. Then
 * it logs `worker wedged: replacing it`, starts a new worker with the same
 * processor and options, lets the old one finish the jobs it holds (its
 * locks renewed, for at most three lock durations), and force-closes it: a
 * job it could not finish stalls and runs again by the worker's stall
 * settings. A look that gets no answer (Redis away) decides nothing and
 * holds the next back.
 */
export function createWatchedWorker<D, R>(o: WatchedWorkerOptions<D, R>): WatchedWorker<D, R> {
  const { name } = o;
  const timing = o.watchdog ?? WATCHDOG;
  const concurrency = o.worker.concurrency ?? 1;
  const retireWithinMs = 3 * (o.worker.lockDuration ?? BULLMQ_LOCK_MS);
  const listeners: [keyof WorkerListener<D, R>, WorkerListener<D, R>[keyof WorkerListener<D, R>]][] = [];
  let lastTaken = Date.now();
  /** Since when the worker has been running unpaused: a delayed job counts as overdue from then at the earliest. */
  let watchedSince = Date.now();

  function start(): Generation<D, R> {
    const running = new Set<Promise<unknown>>();
    const processor: Processor<D, R> = async (job, token, signal) => {
      lastTaken = Date.now();
      const run = o.processor(job, token, signal);
      running.add(run);
      try {
        return await run;
      } finally {
        running.delete(run);
      }
    };
    const worker = new Worker<D, R>(name, processor, o.worker);
    for (const [event, listener] of listeners) worker.on(event, listener);
    return { worker, running };
  }

  let current = start();
  const retiring = new Set<Generation<D, R>>();
  let replacements = 0;
  let looks = 0;
  let checks = 0;
  let checking = false;
  let closing = false;
  let pausedOnPurpose = false;
  /** The job seen next in line, and since when, while the worker took none. */
  let sighting: { job: string; since: number } | null = null;

  /** Paused through this handle, or the current BullMQ worker paused by whoever holds it. */
  const isPaused = () => pausedOnPurpose || current.worker.isPaused();

  async function look(): Promise<void> {
    const gen = current;
    const now = Date.now();
    // Paused on purpose, every slot busy, or a job taken within `everyMs`: the worker is not waiting for work.
    if (isPaused() || gen.running.size >= concurrency || now - lastTaken < timing.everyMs) {
      sighting = null;
      return;
    }
    const front = await readQueueFront(await gen.worker.getBackend().client, o.worker.prefix ?? 'bull', name);
    checks++;
    // Closed, replaced or paused while the reads were under way: what they saw decides nothing.
    if (closing || gen !== current || isPaused()) return;
    const next = front.held ? null : (front.next ?? front.prioritized);
    if (next === null) sighting = null;
    else if (sighting?.job !== next || lastTaken >= sighting.since) sighting = { job: next, since: now };
    const overdueMs = front.dueAt === null || front.held ? 0 : now - Math.max(front.dueAt, watchedSince);
    if (sighting && now - sighting.since >= timing.stuckAfterMs) replace(gen, { reason: 'a job waited', waitedMs: now - sighting.since });
    else if (overdueMs >= timing.stuckAfterMs) replace(gen, { reason: 'a delayed job is overdue', overdueMs });
  }

  function replace(old: Generation<D, R>, why: Record<string, unknown>) {
    replacements++;
    o.logger.warn({ queue: name, prefix: o.worker.prefix, ...why, idleMs: Date.now() - lastTaken, replacements }, 'worker wedged: replacing it');
    o.onReplaced?.(name);
    // No job more for the old one (it finishes those it holds), the new one takes the queue.
    void old.worker.pause(true).catch(() => undefined);
    lastTaken = Date.now();
    watchedSince = Date.now();
    sighting = null;
    current = start();
    retiring.add(old);
    void (async () => {
      await within(Promise.allSettled([...old.running]), retireWithinMs);
      // Forced: a normal close waits for the wedged fetch loop.
      await within(old.worker.close(true), CLOSE_WITHIN_MS);
      retiring.delete(old);
    })();
  }

  const timer = setInterval(() => {
    if (closing || checking) return;
    looks++;
    checking = true;
    look()
      .catch(() => undefined) // no answer: nothing decided, the next look tries again
      .finally(() => (checking = false));
  }, timing.everyMs).unref();

  return {
    name,
    get current() {
      return current.worker;
    },
    get replacements() {
      return replacements;
    },
    get looks() {
      return looks;
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
    async pause(doNotWaitActive) {
      // Before the worker's own pause: no look may decide on a worker that is about to stop taking jobs.
      pausedOnPurpose = true;
      sighting = null;
      await current.worker.pause(doNotWaitActive);
    },
    async resume() {
      pausedOnPurpose = false;
      sighting = null;
      watchedSince = Date.now();
      await current.worker.resume();
    },
    isPaused,
    async close(force = false) {
      closing = true;
      clearInterval(timer);
      await Promise.all([current.worker.close(force), ...[...retiring].map((g) => within(g.worker.close(true), CLOSE_WITHIN_MS))]);
    },
  };
}
