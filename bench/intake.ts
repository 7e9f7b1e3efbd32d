import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { loadTopology } from '../src/config/topology-file.js';
import { createLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime.js';
import { commandStats, total } from './redis.js';
import { benchBody } from './body.js';

const LANDS = ['BY', 'HB', 'NW', 'SN'] as const;
/** Desks of four Länder take turns, each job carrying its desk as `orgId`. */
const body = (i: number) => ({ ...benchBody(`bench-${i}`, { land: LANDS[i % 4] }), orgId: `desk-${LANDS[i % 4]}` });

async function drained(queue: Queue, n: number): Promise<void> {
  for (;;) {
    const c = await queue.getJobCounts('completed', 'failed');
    if ((c.completed ?? 0) + (c.failed ?? 0) >= n) {
      if (c.failed) throw new Error(`${c.failed} jobs failed`);
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Raw BullMQ: no-op jobs through one worker of the same concurrency. */
async function rawRun(url: string, prefix: string, n: number, concurrency: number): Promise<number> {
  const connection = { url };
  const queue = new Queue('raw', { connection, prefix });
  const worker = new Worker('raw', async () => ({ ok: true }), { connection, prefix, concurrency });
  await worker.waitUntilReady();
  const jobs = Array.from({ length: n }, (_, i) => ({ name: 'noop', data: body(i), opts: { jobId: `raw-${i}` } }));
  const t0 = performance.now();
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  await drained(queue, n);
  const seconds = (performance.now() - t0) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return n / seconds;
}

/** Lotse: tickets created through the intake queue, with the relay publishing their effects. */
async function lotseRun(url: string, prefix: string, n: number, concurrency: number): Promise<number> {
  const runtime = await createRuntime({
    config: loadConfig({ LOTSE_PREFIX: prefix, LOTSE_WORKER_CONCURRENCY: String(concurrency) }),
    redisUrl: url,
    topology: loadTopology(undefined),
    logger: createLogger('silent'),
    env: {},
  });
  await runtime.startWorkers(['intake', 'relay']);
  const queue = new Queue('intake', { connection: { url }, prefix });
  const jobs = Array.from({ length: n }, (_, i) => ({ name: 'ticket', data: body(i), opts: { jobId: `in-${i}` } }));
  const t0 = performance.now();
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  await drained(queue, n);
  const seconds = (performance.now() - t0) / 1000;
  await queue.close();
  await runtime.close();
  return n / seconds;
}

async function waitOutboxEmpty(redis: Redis, prefix: string) {
  while ((await redis.xlen(`${prefix}:outbox`)) > 0) await new Promise((r) => setTimeout(r, 10));
}

export async function benchIntake(url: string, opts: { n: number; rounds: number }) {
  const redis = new Redis(url);
  // The same concurrency for both: Lotse's default.
  const concurrency = loadConfig({}).concurrency;
  const raw: number[] = [];
  const lotse: number[] = [];
  // Interleaved rounds, so both see the same machine load.
  for (let r = 0; r < opts.rounds; r++) {
    raw.push(await rawRun(url, `bench-raw-${r}`, opts.n, concurrency));
    lotse.push(await lotseRun(url, `bench-lotse-${r}`, opts.n, concurrency));
    await redis.flushdb();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  // Commands per ticket, on a quiet Redis: everything from the add to the published event.
  const m = 500;
  const runtime = await createRuntime({ config: loadConfig({ LOTSE_PREFIX: 'bench-cmd', LOTSE_WORKER_CONCURRENCY: String(concurrency) }), redisUrl: url, topology: loadTopology(undefined), logger: createLogger('silent'), env: {} });
  await runtime.startWorkers(['intake', 'relay']);
  const queue = new Queue('intake', { connection: { url }, prefix: 'bench-cmd' });
  await queue.waitUntilReady();
  // Idle workers poll: count an idle stretch as long as the run, and subtract it.
  await redis.config('RESETSTAT');
  const t0 = performance.now();
  for (let i = 0; i < m; i++) await queue.add('ticket', body(100_000 + i), { jobId: `cmd-${i}` });
  await drained(queue, m);
  await waitOutboxEmpty(redis, 'bench-cmd');
  const busyMs = performance.now() - t0;
  const busy = await commandStats(redis);
  await redis.config('RESETSTAT');
  await new Promise((r) => setTimeout(r, busyMs));
  const idle = total(await commandStats(redis));
  await queue.close();
  await runtime.close();

  const rawQueue = new Queue('rawcmd', { connection: { url }, prefix: 'bench-cmd' });
  const rawWorker = new Worker('rawcmd', async () => ({ ok: true }), { connection: { url }, prefix: 'bench-cmd', concurrency });
  await rawWorker.waitUntilReady();
  await redis.config('RESETSTAT');
  for (let i = 0; i < m; i++) await rawQueue.add('noop', body(i), { jobId: `raw-${i}` });
  await drained(rawQueue, m);
  const rawBusy = total(await commandStats(redis));
  await rawWorker.close();
  await rawQueue.close();
  await redis.flushdb();
  redis.disconnect();

  const perTicket = (total(busy) - idle) / m;
  const top = [...busy].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([c, n]) => `${c} ${(n / m).toFixed(1)}`).join(', ');
  return {
    rawJobsPerSecond: median(raw),
    ticketsPerSecond: median(lotse),
    ratio: median(lotse) / median(raw),
    commandsPerTicket: perTicket,
    commandsPerRawJob: rawBusy / m,
    top,
  };
}
