import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { createLogger } from '../src/logger.js';
import { createProviderWorker, type ProviderWorker, type ProviderWorkerOptions } from '../src/index.js';
import type { WorkerRole } from '../src/runtime.js';
import { commandsOf, topCommands } from './redis.js';
import { benchBody } from './body.js';
import { DESK as desk, listen, median, pool, rawJobCommands, startRuntime, until } from './support.js';

/** How the kit sends its answers: jobs on the `events` queue, or Lotse's HTTP API with the provider's key. */
export type AnswerRoute = 'queue' | 'http';

const body = (i: number) => benchBody(`bench-h-${i}`);

/** Raw BullMQ round trips: job A on queue 1, whose worker adds job B on queue 2, whose worker completes it. */
async function rawRoundTrips(url: string, prefix: string, n: number, concurrency: number): Promise<number> {
  const connection = { url };
  const q1 = new Queue('rt1', { connection, prefix });
  const q2 = new Queue('rt2', { connection, prefix });
  for (let i = 0; i < n; i += 500) await q1.addBulk(Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ name: 'a', data: body(i + k), opts: { jobId: `a-${i + k}` } })));
  let done = 0;
  const t0 = performance.now();
  const w1 = new Worker('rt1', async (job) => void (await q2.add('b', { ticketId: job.id, orgId: 'dataport', event: { type: 'ACCEPT' } }, { jobId: `b-${job.id}` })), { connection, prefix, concurrency });
  const w2 = new Worker('rt2', async () => void done++, { connection, prefix, concurrency });
  await until(() => done >= n);
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all([w1.close(), w2.close()]);
  await Promise.all([q1.obliterate({ force: true }), q2.obliterate({ force: true })]);
  await Promise.all([q1.close(), q2.close()]);
  return n / seconds;
}

/**
 * A Lotse runtime for one answer route: the `events` worker for answers as
 * jobs, the HTTP API on a loopback port for answers over HTTP; `kit` starts
 * dataport's provider kit answering on that route.
 */
async function lotseFor(url: string, prefix: string, route: AnswerRoute, roles: WorkerRole[], concurrency: number) {
  const runtime = await startRuntime(url, prefix, route === 'queue' ? ['events', ...roles] : roles, { concurrency });
  const api = route === 'http' ? await listen(runtime) : undefined;
  return {
    runtime,
    kit: (o: Pick<ProviderWorkerOptions, 'concurrency' | 'onHandoff'>): ProviderWorker =>
      createProviderWorker({ orgId: 'dataport', connection: url, prefix, logger: createLogger('silent'), ...(api ? { api: { url: api.url, key: 'dev-dataport' } } : {}), ...o }),
    async close() {
      await api?.close();
      await runtime.close();
    },
  };
}

/**
 * Lotse: n tickets escalated to dataport with no relay running, so every
 * ESCALATE is committed first; then the relay and the kit start, and the clock
 * runs until every receipt is committed (the kit calls the handler after that).
 */
async function lotseHandoffs(url: string, prefix: string, n: number, concurrency: number, kitConcurrency: number, route: AnswerRoute): Promise<number> {
  const lotse = await lotseFor(url, prefix, route, [], concurrency);
  const { runtime } = lotse;
  const { engine } = runtime;
  await pool(n, 32, async (i) => {
    const { record } = await engine.createTicket(desk, body(i));
    await engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
    await engine.applyEvent(desk, record.id, { type: 'ESCALATE', reason: 'bench' });
  });
  let received = 0;
  const t0 = performance.now();
  await runtime.startWorkers(['relay']);
  const kit = lotse.kit({ concurrency: kitConcurrency, onHandoff: () => void received++ });
  await until(() => received >= n);
  const seconds = (performance.now() - t0) / 1000;
  await kit.close();
  await lotse.close();
  return n / seconds;
}

/** Redis commands of m full lifecycles: create → ACCEPT → ESCALATE → receipt → RESOLVE (by the kit) → CLOSE, all drained. */
async function lifecycleCommands(url: string, redis: Redis, m: number, concurrency: number, route: AnswerRoute) {
  const prefix = `bench-hcmd-${route}`;
  const lotse = await lotseFor(url, prefix, route, ['relay'], concurrency);
  const { runtime } = lotse;
  let resolved = 0;
  const kit = lotse.kit({
    concurrency,
    async onHandoff(_event, ctx) {
      await ctx.resolve('bench');
      resolved++;
    },
  });
  await kit.worker.waitUntilReady();
  // The kit's answer listener opens on its first answer: open it before counting.
  const warm = await runtime.engine.createTicket(desk, body(-1));
  await runtime.engine.applyEvent(desk, warm.record.id, { type: 'ACCEPT' });
  await runtime.engine.applyEvent(desk, warm.record.id, { type: 'ESCALATE', reason: 'warm-up' });
  await until(() => resolved >= 1);
  const handoffs = new Queue('handoff-dataport', { connection: { url }, prefix });
  const events = new Queue('events', { connection: { url }, prefix });
  // Drained: every handoff and answer job done, and the outbox empty.
  const drained = (tickets: number) => async () => {
    const [h, e, outbox] = await Promise.all([handoffs.getJobCounts('completed'), events.getJobCounts('completed'), redis.xlen(`${prefix}:outbox`)]);
    return h.completed! >= tickets && e.completed! >= (route === 'queue' ? 2 * tickets : 0) && outbox === 0;
  };
  await until(drained(1));

  const ids: string[] = [];
  // The drain check's own getJobCounts/XLEN calls are few next to the work; they are counted, which errs against Lotse.
  const counted = await commandsOf(redis, async () => {
    await pool(m, 16, async (i) => {
      const { record } = await runtime.engine.createTicket(desk, body(i));
      ids.push(record.id);
      await runtime.engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
      await runtime.engine.applyEvent(desk, record.id, { type: 'ESCALATE', reason: 'bench' });
    });
    await until(() => resolved >= m + 1);
    await pool(m, 16, (i) => runtime.engine.applyEvent(desk, ids[i]!, { type: 'CLOSE' }));
    // Everything drained: the relay's last effects, the kit's and the events worker's jobs.
    await until(drained(m + 1));
  });
  await Promise.all([handoffs.close(), events.close()]);
  await kit.close();
  await lotse.close();
  return { perLifecycle: counted.total / m, top: topCommands(counted.stats, m) };
}

/**
 * Both answer routes of the kit, each against the same raw figures.
 * `kitConcurrency`: the kit's handlers wait until Lotse applied the receipt, a
 * whole round trip, where the raw worker only adds its job; by default it gets
 * the same concurrency as every other worker.
 */
export async function benchHandoff(url: string, opts: { n: number; rounds: number; lifecycles: number; kitConcurrency?: number }) {
  const redis = new Redis(url);
  const concurrency = loadConfig({}).concurrency;
  const routes: AnswerRoute[] = ['http', 'queue'];
  const raw: number[] = [];
  const lotse = new Map<AnswerRoute, number[]>(routes.map((r) => [r, []]));
  for (let r = 0; r < opts.rounds; r++) {
    raw.push(await rawRoundTrips(url, `bench-rt-${r}`, opts.n, concurrency));
    for (const route of routes) lotse.get(route)!.push(await lotseHandoffs(url, `bench-ho-${route}-${r}`, opts.n, concurrency, opts.kitConcurrency ?? concurrency, route));
    await redis.flushdb();
  }
  const rawJob = await rawJobCommands(url, redis, opts.lifecycles, concurrency);
  const byRoute = [];
  for (const route of routes) {
    const lifecycle = await lifecycleCommands(url, redis, opts.lifecycles, concurrency, route);
    byRoute.push({
      route,
      handoffsPerSecond: median(lotse.get(route)!),
      ratio: median(lotse.get(route)!) / median(raw),
      commandsPerLifecycle: lifecycle.perLifecycle,
      lifecycleRatio: lifecycle.perLifecycle / rawJob,
      top: lifecycle.top,
    });
    await redis.flushdb();
  }
  redis.disconnect();
  return { rawRoundTripsPerSecond: median(raw), commandsPerRawJob: rawJob, routes: byRoute };
}
