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

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** What one run measured: jobs per second, and CPU ms per job of this process and of Redis. */
interface Run { perSecond: number; nodeMs: number; redisMs: number }

/**
 * n jobs added in bulk to `queue` while it is paused, then timed from its
 * resume until all are done: jobs per second, and the CPU per job of this
 * process (the workers; the adding is done before) and of Redis. CPU per job
 * moves less than jobs per second when others load the machine.
 */
async function throughput(url: string, queue: Queue, n: number, idPrefix: string): Promise<Run> {
  const jobs = Array.from({ length: n }, (_, i) => ({ name: 'job', data: body(i), opts: { jobId: `${idPrefix}-${i}` } }));
  const redis = new Redis(url);
  await queue.pause();
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  const [cpu0, redis0] = [process.cpuUsage(), await redisCpuSeconds(redis)];
  const t0 = performance.now();
  await queue.resume();
  await drained(queue, n);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const redisMs = (((await redisCpuSeconds(redis)) - redis0) * 1000) / n;
  redis.disconnect();
  return { perSecond: n / seconds, nodeMs: (cpu.user + cpu.system) / 1000 / n, redisMs };
}

/** Raw BullMQ: no-op jobs through one worker of the same concurrency. */
async function rawRun(url: string, prefix: string, n: number, concurrency: number): Promise<Run> {
  const connection = { url };
  const queue = new Queue('raw', { connection, prefix });
  const worker = new Worker('raw', async () => ({ ok: true }), { connection, prefix, concurrency });
  await worker.waitUntilReady();
  const perSecond = await throughput(url, queue, n, 'raw');
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return perSecond;
}

/** Lotse: tickets created through the intake queue, with the relay publishing their effects. */
async function lotseRun(url: string, prefix: string, n: number, concurrency: number): Promise<Run> {
  const runtime = await startRuntime(url, prefix, ['intake', 'relay'], { concurrency });
  const queue = new Queue('intake', { connection: { url }, prefix });
  const perSecond = await throughput(url, queue, n, 'in');
  await queue.close();
  await runtime.close();
  return perSecond;
}

/** The floor of a ticket creation up to `stage` (see intake-floor.ts), through a queue of its own. */
async function floorRun(url: string, prefix: string, n: number, concurrency: number, stage: FloorStage): Promise<Run> {
  const floor = floorWorker(loadTopology(undefined), stage, { url, prefix, queue: 'floor', concurrency });
  await floor.worker.waitUntilReady();
  const queue = new Queue('floor', { connection: { url }, prefix });
  const perSecond = await throughput(url, queue, n, `floor-${stage}`);
  await floor.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return perSecond;
}

export async function benchIntake(url: string, opts: { n: number; rounds: number }) {
  const redis = new Redis(url);
  // The same concurrency for both: Lotse's default.
  const concurrency = loadConfig({}).concurrency;
  const raw: Run[] = [];
  const lotse: Run[] = [];
  const floors = new Map<FloorStage, Run[]>(FLOOR_STAGES.map((s) => [s, []]));
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

  const rate = (runs: Run[]) => median(runs.map((r) => r.perSecond));
  const cpu = (runs: Run[]) => ({ nodeMs: median(runs.map((r) => r.nodeMs)), redisMs: median(runs.map((r) => r.redisMs)) });
  const floorTimer = floors.get('timer')!;
  // The same run's ratio to the floor with its timer, per round, then the median: both saw the same load.
  const toFloor = lotse.map((l, i) => l.perSecond / floorTimer[i]!.perSecond);
  const cpuToFloor = lotse.map((l, i) => (floorTimer[i]!.nodeMs + floorTimer[i]!.redisMs) / (l.nodeMs + l.redisMs));
  return {
    rawJobsPerSecond: rate(raw),
    ticketsPerSecond: rate(lotse),
    ratio: rate(lotse) / rate(raw),
    ratioToFloor: median(toFloor),
    ratiosToFloor: toFloor,
    cpuRatioToFloor: median(cpuToFloor),
    cpu: { lotse: cpu(lotse), floor: cpu(floorTimer), raw: cpu(raw) },
    concurrency,
    floor: FLOOR_STAGES.map((stage) => ({ stage, perSecond: rate(floors.get(stage)!), ratio: rate(floors.get(stage)!) / rate(raw) })),
    commandsPerTicket: perTicket.total / m,
    commandsPerRawJob: rawJob,
    top: topCommands(perTicket.stats, m),
  };
}
