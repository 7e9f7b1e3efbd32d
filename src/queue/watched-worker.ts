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

/** `p`, or undefined after `ms` (its timer does not hold the process open). */
const within = <T>(p: Promise<T>, ms: number): Promise<T | undefined> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), Math.max(0, ms)).unref()))]).finally(() => clearTimeout(timer));
};

/**
 * How long a paused BullMQ worker may still take one job: a fetch under way
 * when it was paused blocks for at most 10 s (BullMQ's block timeout) plus
 * its 1 s grace, then moves what it got to active. A replaced worker is
 * closed only after this, or when its jobs are done after it.
 */
const FETCH_IN_FLIGHT_MS = 12_000;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A failed look is logged at most this often per worker. */
const LOOK_FAILURE_LOG_MS = 5 * 60_000;

/**
 * A BullMQ worker that is replaced when it stops taking jobs: after a Redis
 * Cluster failover a worker's blocking connection has been seen never to
 * come back (bullmq#4138, #2619), its jobs waiting for ever. Every
 * `everyMs`, while the worker is not paused on purpose, has room and took
 * no job for `everyMs`, the watchdog reads the queue's front
 * (queue-front.ts: five reads in one round trip, on the worker's own
 * connection); the worker counts as wedged when the same job stayed next in
 * line for `stuckAfterMs` while it took none, or the same delayed job
 * stayed due and first for that long (a fetching worker would have
 * promoted it), both seen by looks that got an answer (a worker that waited
 * out an outage fetches again only after its retry delay), and the queue is
 * neither paused nor at its global concurrency. Then it logs `worker
 * wedged: replacing it`, starts a new worker with the same processor and
 * options, lets the old one finish the jobs it holds, a job a fetch under
 * way still brings included (its locks renewed, for at most three lock
 * durations), and force-closes it: a job it could not finish stalls and runs
 * again by the worker's stall settings. A look that gets no answer within a
 * turn (Redis away) decides nothing, forgets what earlier looks saw and is
 * logged (at most every 5 minutes). Only the worker's blocking connection is
 * new in a replacement: a wedged shared connection is not cured by it.
 */
export function createWatchedWorker<D, R>(o: WatchedWorkerOptions<D, R>): WatchedWorker<D, R> {
  const { name } = o;
  const timing = o.watchdog ?? WATCHDOG;
  const concurrency = o.worker.concurrency ?? 1;
  const retireWithinMs = 3 * (o.worker.lockDuration ?? BULLMQ_LOCK_MS);
  const listeners: [keyof WorkerListener<D, R>, WorkerListener<D, R>[keyof WorkerListener<D, R>]][] = [];
  let lastTaken = Date.now();

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
  /** The earliest delayed job seen overdue (by its due time), and since when: it must stay so across looks that got an answer. */
  let overdue: { dueAt: number; since: number } | null = null;
  let lastLookFailureLogged = 0;

  /** Forget what earlier looks saw: after a failed look, a pause, a replacement. */
  const forget = () => {
    sighting = null;
    overdue = null;
  };

  /** Paused through this handle, or the current BullMQ worker paused by whoever holds it. */
  const isPaused = () => pausedOnPurpose || current.worker.isPaused();

  async function look(): Promise<void> {
    const gen = current;
    const now = Date.now();
    // Paused on purpose, every slot busy, or a job taken within `everyMs`: the worker is not waiting for work.
    if (isPaused() || !gen.worker.isRunning() || gen.running.size >= concurrency || now - lastTaken < timing.everyMs) {
      forget();
      return;
    }
    // No answer within a turn (Redis away, a connection reconnecting into nothing): nothing is decided, and what
    // earlier looks saw is forgotten, since a worker that waited out an outage fetches again only after its retry delay.
    let timer: NodeJS.Timeout | undefined;
    const noAnswer = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timing.everyMs} ms`)), timing.everyMs).unref()));
    const front = await Promise.race([readQueueFront(await gen.worker.getBackend().client, o.worker.prefix ?? 'bull', name), noAnswer]).finally(() => clearTimeout(timer));
    checks++;
    const seen = Date.now();
    // Closed, replaced or paused while the reads were under way: what they saw decides nothing.
    if (closing || gen !== current || isPaused()) return;
    const next = front.held ? null : (front.next ?? front.prioritized);
    if (next === null) sighting = null;
    else if (sighting?.job !== next || lastTaken >= sighting.since) sighting = { job: next, since: seen };
    // A delayed job due: the same one still first and due at a later look (and nothing taken meanwhile) counts.
    const due = front.dueAt !== null && !front.held && front.dueAt <= seen ? front.dueAt : null;
    if (due === null) overdue = null;
    else if (overdue?.dueAt !== due || lastTaken >= overdue.since) overdue = { dueAt: due, since: seen };
    if (sighting && seen - sighting.since >= timing.stuckAfterMs) replace(gen, { reason: 'a job waited', waitedMs: seen - sighting.since });
    else if (overdue && seen - overdue.since >= timing.stuckAfterMs) replace(gen, { reason: 'a delayed job is overdue', overdueMs: seen - overdue.dueAt });
  }

  function replace(old: Generation<D, R>, why: Record<string, unknown>) {
    replacements++;
    o.logger.warn({ queue: name, prefix: o.worker.prefix, ...why, idleMs: Date.now() - lastTaken, replacements }, 'worker wedged: replacing it');
    o.onReplaced?.(name);
    // No job more for the old one (it finishes those it holds), the new one takes the queue.
    void old.worker.pause(true).catch(() => undefined);
    lastTaken = Date.now();
    forget();
    current = start();
    retiring.add(old);
    void retire(old);
  }

  /**
   * The old worker finishes what it holds: it is closed once no job of it runs
   * and a fetch it had under way when paused can no longer bring one (the set
   * is read live, so a job taken late is waited for too), or at the latest
   * after three lock durations. Forced: a normal close would wait for the
   * wedged fetch; a job still running then stalls and runs again.
   */
  async function retire(old: Generation<D, R>) {
    const pausedAt = Date.now();
    const deadline = pausedAt + Math.max(retireWithinMs, FETCH_IN_FLIGHT_MS);
    while (!closing && Date.now() < deadline) {
      if (old.running.size > 0) await within(Promise.allSettled([...old.running]), deadline - Date.now());
      else if (Date.now() - pausedAt < FETCH_IN_FLIGHT_MS) await delay(Math.min(FETCH_IN_FLIGHT_MS - (Date.now() - pausedAt), 1_000));
      else break;
    }
    await within(old.worker.close(true), CLOSE_WITHIN_MS);
    retiring.delete(old);
  }

  const timer = setInterval(() => {
    if (closing || checking) return;
    looks++;
    checking = true;
    look()
      .catch((err: unknown) => {
        // No answer: nothing decided, the next look tries again.
        forget();
        if (Date.now() - lastLookFailureLogged >= LOOK_FAILURE_LOG_MS) {
          lastLookFailureLogged = Date.now();
          o.logger.warn({ queue: name, prefix: o.worker.prefix, err: err instanceof Error ? err.message : String(err) }, 'worker watchdog: its look at the queue failed');
        }
      })
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
      forget();
      await current.worker.pause(doNotWaitActive);
    },
    async resume() {
      pausedOnPurpose = false;
      forget();
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
