import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_TOPOLOGY } from '../src/config/default-topology.js';
import { parseTopology } from '../src/config/topology-file.js';
import type { TopologyInput } from '../src/domain/topology.js';
import type { HistoryEntry } from '../src/domain/ticket.js';
import type { Runtime } from '../src/runtime.js';
import { percentile } from './redis.js';
import { benchBody } from './body.js';
import { DESK, pool, startRuntime, until } from './support.js';

/**
 * The built-in topology, every organisation 24x7 so timers are predictable:
 * P1 (high × high) breaches its first response after 3 s; every other
 * priority has targets of hours and days, like real tickets waiting.
 */
function benchTopology() {
  const t = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  t.organisations = t.organisations.map((o) => ({ ...o, calendar: '24x7' }));
  t.sla = { ...t.sla, P1: { firstResponse: 'PT3S', resolution: 'PT1H', warnAt: 0.5, onBreach: 'notify' } };
  return parseTopology(t, 'bench topology');
}

// P1 (high × high) for the measured tickets; P4 (medium × low) for the ones waiting.
const body = (i: number, urgent: boolean) =>
  benchBody(`sla-${urgent ? 'u' : 'b'}-${i}`, urgent ? { impact: 'high', urgency: 'high' } : { urgency: 'low' });

async function createMany(runtime: Runtime, n: number, urgent: boolean) {
  await pool(n, 32, (i) => runtime.engine.createParsedTicket(DESK, body(i, urgent), { reserve: false }));
}

/** Lateness of raw BullMQ delayed jobs with `background` others waiting in the same queue. */
async function rawLateness(url: string, background: number, k: number): Promise<number[]> {
  const connection = { url };
  const prefix = 'bench-raw-sla';
  const queue = new Queue('timers', { connection, prefix });
  const far = Array.from({ length: background }, (_, i) => ({ name: 't', data: { ticketId: `bg-${i}`, epoch: 1 }, opts: { jobId: `bg-${i}`, delay: 86_400_000 + i } }));
  for (let i = 0; i < far.length; i += 1000) await queue.addBulk(far.slice(i, i + 1000));
  const lateness: number[] = [];
  const worker = new Worker('timers', async (job) => void lateness.push(Date.now() - (job.timestamp + (job.opts.delay ?? 0))), { connection, prefix, concurrency: 16 });
  await worker.waitUntilReady();
  for (let i = 0; i < k; i++) {
    await queue.add('t', { ticketId: `m-${i}`, epoch: 1 }, { jobId: `m-${i}`, delay: 3000 });
    await new Promise((r) => setTimeout(r, 4));
  }
  await until(() => lateness.length >= k, 'raw timers', 20);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return lateness.sort((a, b) => a - b);
}

export async function benchSla(url: string, opts: { background: number; measured: number }) {
  const redis = new Redis(url);
  await redis.flushdb();
  const prefix = 'bench-sla';
  const runtime = await startRuntime(url, prefix, ['relay', 'sla'], { topology: benchTopology(), env: { LOTSE_EVENTS_MAXLEN: '1000' } });
  const memoryBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

  // Background: open tickets, each with its timer armed days ahead.
  const t0 = performance.now();
  await createMany(runtime, opts.background, false);
  await until(async () => (await redis.xlen(`${prefix}:outbox`)) === 0, 'relay to arm every timer', 20);
  const fillSeconds = (performance.now() - t0) / 1000;
  const armed = await redis.zcard(`${prefix}:sla:delayed`);
  // Memory per open ticket: its hash, history, indexes, idempotency record and timer job.
  await redis.xtrim(`${prefix}:events`, 'MAXLEN', 0);
  const memoryAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const bytesPerTicket = (memoryAfter - memoryBefore) / opts.background;
  // Each technical ticket's creation asks the backlog to observe it; the bench runs no backlog worker, so
  // those jobs wait. Their part: used_memory before and after obliterating the backlog queue.
  const backlog = new Queue('backlog', { connection: { url }, prefix });
  const observeJobs = (await backlog.getJobCounts('waiting')).waiting ?? 0;
  await backlog.obliterate({ force: true });
  await backlog.close();
  const memoryWithoutBacklog = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const backlogBytesPerTicket = (memoryAfter - memoryWithoutBacklog) / opts.background;

  // Measured: P1 tickets created over a second or two, breaching 3 s later.
  const ids: string[] = [];
  for (let i = 0; i < opts.measured; i++) {
    ids.push((await runtime.engine.createParsedTicket(DESK, body(i, true), { reserve: false })).record.id);
    await new Promise((r) => setTimeout(r, 4));
  }
  const operator = { orgId: 'ops-bremen', role: 'operator' as const };
  const lateness: number[] = [];
  await until(async () => {
    lateness.length = 0;
    for (const id of ids) {
      const t = await runtime.engine.getTicket(operator, id);
      const breach = t.state.context.sla.breaches.find((b) => b.clock === 'firstResponse');
      if (!breach) return false;
      const history = (await runtime.engine.history(operator, id)) as HistoryEntry[];
      const committed = Date.parse(history.find((e) => e.type === 'SLA_BREACHED')!.at);
      lateness.push(committed - breach.dueAt);
    }
    return true;
  }, 'every measured breach', 20);
  await runtime.close();
  await redis.flushdb();

  const raw = await rawLateness(url, opts.background, opts.measured);
  await redis.flushdb();
  redis.disconnect();
  lateness.sort((a, b) => a - b);
  return {
    armed,
    fillSeconds,
    bytesPerTicket,
    observeJobs,
    backlogBytesPerTicket,
    lotse: { p50: percentile(lateness, 50), p99: percentile(lateness, 99), max: lateness.at(-1)! },
    raw: { p50: percentile(raw, 50), p99: percentile(raw, 99), max: raw.at(-1)! },
  };
}
