import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { commandsOf, topCommands } from './redis.js';
import { benchBody } from './body.js';
import { median, rawJobCommands, startRuntime, until } from './support.js';
import { FLOOR_STAGES, floorWorker, type FloorStage } from './intake-floor.js';
import { loadTopology } from '../src/config/topology-file.js';

const LANDS = ['BY', 'HB', 'NW', 'SN'] as const;
/** Desks of four Länder take turns, each job carrying its desk as `orgId`. */
const body = (i: number) => ({ ...benchBody(`bench-${i}`, { land: LANDS[i % 4] }), orgId: `desk-${LANDS[i % 4]}` });

async function drained(queue: Queue, n: number): Promise<void> {
  await until(async () => {
    const c = await queue.getJobCounts('completed', 'failed');
    if (c.failed) throw new Error(`${c.failed} jobs failed`);
    return (c.completed ?? 0) >= n;
  }, `${n} jobs on ${queue.name}`);
}

/** n jobs added in bulk to `queue`, timed until all are done: jobs per second. */
async function throughput(queue: Queue, n: number, idPrefix: string): Promise<number> {
  const jobs = Array.from({ length: n }, (_, i) => ({ name: 'job', data: body(i), opts: { jobId: `${idPrefix}-${i}` } }));
  const t0 = performance.now();
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  await drained(queue, n);
  return n / ((performance.now() - t0) / 1000);
}

/** Raw BullMQ: no-op jobs through one worker of the same concurrency. */
async function rawRun(url: string, prefix: string, n: number, concurrency: number): Promise<number> {
  const connection = { url };
  const queue = new Queue('raw', { connection, prefix });
  const worker = new Worker('raw', async () => ({ ok: true }), { connection, prefix, concurrency });
  await worker.waitUntilReady();
  const perSecond = await throughput(queue, n, 'raw');
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return perSecond;
}

/** Lotse: tickets created through the intake queue, with the relay publishing their effects. */
async function lotseRun(url: string, prefix: string, n: number, concurrency: number): Promise<number> {
  const runtime = await startRuntime(url, prefix, ['intake', 'relay'], { concurrency });
  const queue = new Queue('intake', { connection: { url }, prefix });
  const perSecond = await throughput(queue, n, 'in');
  await queue.close();
  await runtime.close();
  return perSecond;
}

/** The floor of a ticket creation up to `stage` (see intake-floor.ts), through a queue of its own. */
async function floorRun(url: string, prefix: string, n: number, concurrency: number, stage: FloorStage): Promise<number> {
  const floor = floorWorker(loadTopology(undefined), stage, { url, prefix, queue: 'floor', concurrency });
  await floor.worker.waitUntilReady();
  const queue = new Queue('floor', { connection: { url }, prefix });
  const perSecond = await throughput(queue, n, `floor-${stage}`);
  await floor.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return perSecond;
}

export async function benchIntake(url: string, opts: { n: number; rounds: number }) {
  const redis = new Redis(url);
  // The same concurrency for both: Lotse's default.
  const concurrency = loadConfig({}).concurrency;
  const raw: number[] = [];
  const lotse: number[] = [];
  const floors = new Map<FloorStage, number[]>(FLOOR_STAGES.map((s) => [s, []]));
  // Interleaved rounds, so all see the same machine load.
  for (let r = 0; r < opts.rounds; r++) {
    raw.push(await rawRun(url, `bench-raw-${r}`, opts.n, concurrency));
    lotse.push(await lotseRun(url, `bench-lotse-${r}`, opts.n, concurrency));
    for (const stage of FLOOR_STAGES) floors.get(stage)!.push(await floorRun(url, `bench-floor-${stage}-${r}`, opts.n, concurrency, stage));
    await redis.flushdb();
  }

  // Commands per ticket, on a quiet Redis: everything from the add to the published event.
  const m = 500;
  const prefix = 'bench-cmd';
  const runtime = await startRuntime(url, prefix, ['intake', 'relay'], { concurrency });
  const queue = new Queue('intake', { connection: { url }, prefix });
  await queue.waitUntilReady();
  const perTicket = await commandsOf(redis, async () => {
    for (let i = 0; i < m; i++) await queue.add('ticket', body(100_000 + i), { jobId: `cmd-${i}` });
    await drained(queue, m);
    await until(async () => (await redis.xlen(`${prefix}:outbox`)) === 0, 'the outbox to drain');
  });
  await queue.close();
  await runtime.close();
  const rawJob = await rawJobCommands(url, redis, m, concurrency);
  await redis.flushdb();
  redis.disconnect();

  return {
    rawJobsPerSecond: median(raw),
    ticketsPerSecond: median(lotse),
    ratio: median(lotse) / median(raw),
    concurrency,
    floor: FLOOR_STAGES.map((stage) => ({ stage, perSecond: median(floors.get(stage)!), ratio: median(floors.get(stage)!) / median(raw) })),
    commandsPerTicket: perTicket.total / m,
    commandsPerRawJob: rawJob,
    top: topCommands(perTicket.stats, m),
  };
}
