import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { makeWorker, type KitWorker } from '../../workers/worker-kit.js';
import { redisUrl, waitFor } from '../helpers/harness.js';
import { startWedgeProxy, watchdogSuite } from '../helpers/wedge-proxy.js';

/**
 * The workers' watchdog (workers/worker-kit.ts on src/queue/watched-worker.ts)
 * on a real Redis with real BullMQ workers. The wedge is made for real, as a
 * failover left one: between the worker and Redis runs a TCP proxy
 * (test/helpers/wedge-proxy.ts) that, once cut, stops
 * passing a blocking BZPOPMIN and every connection opened after it, while
 * keeping their sockets open. BullMQ gives up the BZPOPMIN after its
 * timeout and reconnects its blocking client, and that reconnection never
 * becomes ready: the worker holds no blocking connection and takes nothing,
 * while its main connection (opened before the cut) answers. The proxy then
 * heals for new connections only, as a promoted replica answers new
 * connections, and a job is added.
 */
const { timing: TIMING, prefix, logged, logger } = watchdogSuite('wd');

/** A worker of the kit on `queue` that records each job it runs; a job named `hold` runs until `held` settles. */
function worker(queue: string, connection: object, runs: string[], held?: Promise<void>): KitWorker<unknown, string> {
  return makeWorker<unknown, string>(queue, async (job) => {
    runs.push(job.id!);
    if (job.name === 'hold') await held;
    return 'done';
  }, { connection, prefix, logger, watchdog: TIMING });
}

const finished = (queue: Queue, id: string) => waitFor(async () => (await queue.getJob(id))?.finishedOn, { timeoutMs: 20_000, what: `job ${id} to finish` });

describe('the workers\' watchdog', () => {
  it('replaces a worker whose blocking connection never comes back; the job waiting is taken once, by the new worker', { timeout: 60_000 }, async () => {
    const target = new URL(redisUrl());
    const proxy = await startWedgeProxy(target);
    const name = 'wedged';
    const runs: string[] = [];
    const kit = worker(name, proxy.connection, runs);
    const queue = new Queue(name, { connection: { url: redisUrl() }, prefix });
    try {
      await kit.waitUntilReady();
      const first = kit.current;
      await queue.add('before', {}, { jobId: 'before' });
      await finished(queue, 'before');

      // BullMQ gave up its blocking call and reconnected into the cut: its blocking client will never be ready.
      await proxy.wedge();
      await queue.add('waiting', {}, { jobId: 'waiting' });

      await finished(queue, 'waiting');
      expect(kit.replacements).toBe(1);
      expect(kit.current).not.toBe(first);
      expect(runs).toEqual(['before', 'waiting']);
      const warning = logged.find((l) => l.msg === 'worker wedged: replacing it' && l.queue === name);
      expect(warning).toMatchObject({ level: 40, queue: name, prefix, reason: 'a job waited', replacements: 1 });
      expect(warning!.waitedMs as number).toBeGreaterThanOrEqual(TIMING.stuckAfterMs);
      // The new worker goes on taking jobs; nothing is replaced again.
      await queue.add('after', {}, { jobId: 'after' });
      await finished(queue, 'after');
      expect(runs).toEqual(['before', 'waiting', 'after']);
      expect(kit.replacements).toBe(1);
    } finally {
      await kit.close();
      await queue.close();
      await proxy.close();
    }
  });

  it('replaces a wedged worker when a delayed job stays due and first, nothing waiting: the timer runs once, by the new worker', { timeout: 60_000 }, async () => {
    const target = new URL(redisUrl());
    const proxy = await startWedgeProxy(target);
    const name = 'wedged-timer';
    const runs: string[] = [];
    const kit = worker(name, proxy.connection, runs);
    const queue = new Queue(name, { connection: { url: redisUrl() }, prefix });
    try {
      await kit.waitUntilReady();
      await proxy.wedge();
      // Only a timer: no job waits, so only the delayed job's being due and not promoted can tell.
      await queue.add('timer', {}, { jobId: 'timer', delay: 200 });
      await finished(queue, 'timer');
      expect(runs).toEqual(['timer']);
      expect(kit.replacements).toBe(1);
      const warning = logged.find((l) => l.msg === 'worker wedged: replacing it' && l.queue === name);
      expect(warning).toMatchObject({ level: 40, queue: name, reason: 'a delayed job is overdue', replacements: 1 });
      expect(warning!.overdueMs as number).toBeGreaterThanOrEqual(TIMING.stuckAfterMs);
    } finally {
      await kit.close();
      await queue.close();
      await proxy.close();
    }
  });

  it('never replaces a healthy worker: idle, working, waiting on delayed jobs, or held by the queue\'s global concurrency', { timeout: 60_000 }, async () => {
    const name = 'healthy';
    const runs: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const kit = worker(name, { url: redisUrl() }, runs, held);
    const queue = new Queue(name, { connection: { url: redisUrl() }, prefix });
    /** Lets the watchdog look at least as often as a stuck job needs to be seen: long enough for any false replacement. */
    const looksPastStuck = async () => {
      const from = kit.checks;
      await waitFor(() => kit.checks >= from + Math.ceil(TIMING.stuckAfterMs / TIMING.everyMs) + 2, { timeoutMs: 30_000, what: 'the watchdog to look' });
    };
    try {
      await kit.waitUntilReady();
      await looksPastStuck();
      for (let i = 0; i < 5; i++) await queue.add('now', {}, { jobId: `now-${i}` });
      // Delayed longer than a stuck job needs to be seen: waiting for its time is not being wedged.
      await queue.add('later', {}, { jobId: 'later', delay: TIMING.stuckAfterMs + 1000 });
      await finished(queue, 'later');
      await looksPastStuck();

      // One job at a time on the queue (the retention queue's rule): the next waits while one runs, and the worker is not wedged for that.
      await queue.setGlobalConcurrency(1);
      await queue.add('hold', {}, { jobId: 'hold' });
      await waitFor(() => runs.includes('hold'), { what: 'the held job to run' });
      await queue.add('next', {}, { jobId: 'next' });
      await looksPastStuck();
      expect(runs).not.toContain('next');
      release();
      await finished(queue, 'next');

      expect(kit.replacements).toBe(0);
      expect(runs.sort()).toEqual(['hold', 'later', 'next', 'now-0', 'now-1', 'now-2', 'now-3', 'now-4']);
      expect(logged.filter((l) => l.queue === name)).toEqual([]);
    } finally {
      await kit.close();
      await queue.close();
    }
  });
});
