import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { LAND_CODES } from '../src/domain/ids.js';
import { slotOfPrefix } from '../src/store/partitions.js';
import { makeKeys } from '../src/store/keys.js';
import { createRedis } from '../src/queue/connections.js';
import { startRedisCluster, type LocalCluster } from '../test/helpers/redis-cluster.js';
import { wish, WISH_COMBINATIONS } from './backlog-words.js';
import { benchBody } from './body.js';
import { runClients, SERVICES } from './cpu.js';
import { commandStats, total } from './redis.js';
import { listen, startRuntime, until } from './support.js';

/**
 * Partitions on a Redis Cluster (issue 19, item 5): a local cluster of three
 * masters (test/helpers/redis-cluster.ts), fresh for each partition count.
 * On each, first raw BullMQ (no-op jobs through one queue, the same
 * concurrency as Lotse's workers) as the baseline of this run; then one
 * Lotse in this process (API, intake, events, sla, relay and backlog
 * workers) with LOTSE_PARTITIONS set, n tickets created over HTTP by 16
 * clients in a process of their own, the sixteen Länder taking turns.
 * Measured from the first request until nothing is left to do (every
 * partition's outbox and recurring-problem feed empty, so every SLA timer is
 * armed and every event published; no backlog job waiting, running or
 * delayed): each master's `INFO cpu` (used_cpu_user + used_cpu_sys) and
 * `INFO commandstats` deltas, read on the node itself. Then `idleMs` of
 * nothing, measured the same way: what idle workers cost each master.
 */
const LANDS = LAND_CODES;

/**
 * The tickets, the sixteen Länder in turn, subjects from the backlog bench's
 * word lists: `technical` ones each enter the recurring-problem window of
 * their service (in the service's partition); `question` ones, otherwise
 * the same, do not.
 */
export type PartitionsMix = 'technical' | 'question';
function bodiesOf(n: number, mix: PartitionsMix) {
  return Array.from({ length: n }, (_, i) => {
    const { title, description } = wish((i * 7919) % WISH_COMBINATIONS);
    return benchBody(`part-${i}`, { land: LANDS[i % LANDS.length]!, category: mix, service: SERVICES[i % SERVICES.length]!, subject: title.slice(0, 200), description });
  });
}

interface NodeFigures {
  cpu: number;
  calls: number;
}

/** The masters of the cluster, each by its own connection: `INFO` answers for that node only. */
function mastersOf(cluster: LocalCluster) {
  const nodes = cluster.ports.map((port) => ({ port, redis: new Redis({ host: '127.0.0.1', port, lazyConnect: false }) }));
  const read = () => Promise.all(nodes.map(async ({ redis }): Promise<NodeFigures> => {
    const [cpu, stats] = [await redis.info('cpu'), await commandStats(redis)];
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
    return { cpu: field('used_cpu_user') + field('used_cpu_sys'), calls: total(stats) };
  }));
  const delta = (a: NodeFigures[], b: NodeFigures[]) => b.map((x, i) => ({ cpu: x.cpu - a[i]!.cpu, calls: x.calls - a[i]!.calls }));
  /** The index (in `ports`) of the master serving a prefix's slot. */
  const masterOfPrefix = async (prefix: string) => {
    const slot = slotOfPrefix(prefix);
    const ranges = await nodes[0]!.redis.cluster('SLOTS');
    const port = ranges.find(([start, end]) => slot >= start && slot <= end)?.[2]?.[1];
    return cluster.ports.indexOf(Number(port));
  };
  return { ports: cluster.ports, read, delta, masterOfPrefix, close: () => nodes.forEach((n) => n.redis.disconnect()) };
}

type Masters = ReturnType<typeof mastersOf>;

/** Raw BullMQ on the same cluster: n no-op jobs added in bulk to one queue (one slot, so one master), timed until all are done. */
async function rawRun(url: string, masters: Masters, n: number, concurrency: number) {
  const prefix = '{bench-raw}';
  const queueConn = createRedis(url, 'producer', 'bench-raw');
  const workerConn = createRedis(url, 'worker', 'bench-raw-worker');
  const queue = new Queue('raw', { connection: queueConn, prefix });
  const worker = new Worker('raw', async () => ({ ok: true }), { connection: workerConn, prefix, concurrency });
  await worker.waitUntilReady();
  const jobs = Array.from({ length: n }, (_, i) => ({ name: 'job', data: benchBody(`raw-${i}`), opts: { jobId: `raw-${i}` } }));
  const before = await masters.read();
  const t0 = performance.now();
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  await until(async () => {
    const c = await queue.getJobCounts('completed', 'failed');
    if (c.failed) throw new Error(`${c.failed} raw jobs failed`);
    return (c.completed ?? 0) >= n;
  }, `${n} raw jobs`, 20);
  const seconds = (performance.now() - t0) / 1000;
  const used = masters.delta(before, await masters.read());
  const master = await masters.masterOfPrefix(prefix);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  queueConn.disconnect();
  workerConn.disconnect();
  return { jobsPerSecond: n / seconds, cpuPer1000: (used[master]!.cpu * 1000) / n, totalCpuPer1000: (used.reduce((s, u) => s + u.cpu, 0) * 1000) / n, master };
}

async function lotseRun(url: string, masters: Masters, o: { n: number; partitions: number; idleMs: number; mix: PartitionsMix }) {
  const prefix = `{bench-${o.mix}}`;
  const runtime = await startRuntime(url, prefix, ['intake', 'events', 'sla', 'relay', 'backlog'], { env: { LOTSE_PARTITIONS: String(o.partitions) } });
  const api = await listen(runtime);
  const { layout, redis } = runtime;
  const cellKeys = layout.prefixes.map((p) => makeKeys(p));
  const idle = async () => {
    const lengths: number[] = [];
    for (const k of cellKeys) lengths.push(await redis.xlen(k.outbox), await redis.xlen(k.recurringFeed));
    const c = await runtime.queues.queue('backlog').getJobCounts('waiting', 'active', 'delayed');
    return lengths.every((l) => l === 0) && (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
  };
  const bodies = bodiesOf(o.n, o.mix);
  // Where each partition is, and so each ticket: its Land's partition, that partition's prefix's master.
  const masterOfPartition = await Promise.all(layout.prefixes.map((p) => masters.masterOfPrefix(p)));
  const ticketsOn = masters.ports.map(() => 0);
  for (const b of bodies) ticketsOn[masterOfPartition[layout.ofLand(b.land!)]!]!++;
  const before = await masters.read();
  const t0 = performance.now();
  const { failed, firstError } = await runClients(api.url, bodies, 16);
  const created = performance.now();
  await until(idle, 'every partition\'s outbox and feed and the backlog queue to drain', 20);
  const drained = performance.now();
  const used = masters.delta(before, await masters.read());
  // The same stretch of nothing afterwards: what the idle workers and readers cost each master.
  const idleFrom = await masters.read();
  await new Promise((r) => setTimeout(r, o.idleMs));
  const idleUsed = masters.delta(idleFrom, await masters.read());
  await api.close();
  await runtime.close();
  const seconds = (drained - t0) / 1000;
  // Partition 0's master first (master A), then the others in port order.
  const order = [masterOfPartition[0]!, ...masters.ports.map((_, i) => i).filter((i) => i !== masterOfPartition[0])];
  const byMaster = <T>(xs: T[]) => order.map((i) => xs[i]!);
  return {
    partitions: o.partitions,
    mix: o.mix,
    n: o.n,
    failed,
    firstError,
    prefixes: layout.prefixes,
    createSeconds: (created - t0) / 1000,
    seconds,
    ticketsPerSecond: (o.n - failed) / seconds,
    ticketShare: byMaster(ticketsOn.map((t) => t / o.n)),
    cpuPer1000: byMaster(used.map((u) => (u.cpu * 1000) / o.n)),
    callsPerTicket: byMaster(used.map((u) => u.calls / o.n)),
    idleCpuPerSecond: byMaster(idleUsed.map((u) => u.cpu / (o.idleMs / 1000))),
  };
}

export type PartitionsRun = Awaited<ReturnType<typeof lotseRun>> & { raw: Awaited<ReturnType<typeof rawRun>>; ports: number[] };

export async function benchPartitions(o: { n: number; counts: number[]; idleMs: number; mixes: PartitionsMix[] }): Promise<PartitionsRun[]> {
  const concurrency = loadConfig({}).concurrency;
  const runs: PartitionsRun[] = [];
  for (const partitions of o.counts) {
    // A fresh cluster for each count: nothing of the run before on any master.
    const cluster = await startRedisCluster(3);
    const masters = mastersOf(cluster);
    try {
      const raw = await rawRun(cluster.url, masters, o.n, concurrency);
      // Each mix under a prefix of its own on this cluster: its partitions placed afresh.
      for (const mix of o.mixes) runs.push({ ...(await lotseRun(cluster.url, masters, { n: o.n, partitions, idleMs: o.idleMs, mix })), raw, ports: cluster.ports });
    } finally {
      masters.close();
      await cluster.stop();
    }
  }
  return runs;
}

const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

export function reportPartitions(runs: PartitionsRun[]): string[] {
  const lines = [
    `${runs[0]?.n ?? 0} tickets per run over HTTP (16 clients in a process of their own, the sixteen Länder in turn), on a fresh local cluster of 3 masters for each partition count; Lotse in one process (API, intake, events, sla, relay, backlog); from the first request until every outbox and feed is empty. Master A holds partition 0 (and what is neither a ticket's nor a service's backlog: rate limits, sessions, the shared queues); B and C the others in port order. A technical ticket's recurring-problem window is in its service's partition.`,
    '',
    '| tickets | LOTSE_PARTITIONS | tickets/s (first request to drained) | not created | share of tickets, master A / B / C | Redis CPU-s per 1,000 tickets, master A / B / C | **busiest master** | all masters | commands per ticket, A / B / C | idle CPU-s/s after, A / B / C | raw BullMQ jobs/s (same cluster, one queue) | raw CPU-s per 1,000 jobs on its master | tickets/s at 100 % of the busiest master |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of runs) {
    const busiest = Math.max(...r.cpuPer1000);
    const all = r.cpuPer1000.reduce((s, x) => s + x, 0);
    lines.push(`| ${r.mix} | ${r.partitions} | ${r.ticketsPerSecond.toFixed(0)} | ${r.failed} | ${r.ticketShare.map(pct).join(' / ')} | ${r.cpuPer1000.map(f2).join(' / ')} | **${f2(busiest)}** | ${f2(all)} | ${r.callsPerTicket.map((c) => c.toFixed(1)).join(' / ')} | ${r.idleCpuPerSecond.map((c) => c.toFixed(3)).join(' / ')} | ${r.raw.jobsPerSecond.toFixed(0)} | ${f2(r.raw.cpuPer1000)} | ${(1000 / busiest).toFixed(0)} |`);
  }
  for (const r of runs) if (r.firstError) lines.push(`${r.mix}, LOTSE_PARTITIONS=${r.partitions}: the first refused create answered ${r.firstError}`);
  lines.push('', 'Partition prefixes (each run): ' + runs.map((r) => `${r.mix} ${r.partitions}: ${r.prefixes.join(', ')}`).join('; '));
  for (const mix of new Set(runs.map((r) => r.mix))) {
    const [one, three] = [runs.find((r) => r.mix === mix && r.partitions === 1), runs.find((r) => r.mix === mix && r.partitions === 3)];
    if (!one || !three) continue;
    lines.push(`${mix}:`);
    const b1 = Math.max(...one.cpuPer1000);
    const b3 = Math.max(...three.cpuPer1000);
    lines.push(`busiest master's CPU-s per 1,000 tickets, 3 partitions / 1: ${f2(b3 / b1)} (a third would be 0.33); all masters together, 3 / 1: ${f2(three.cpuPer1000.reduce((s, x) => s + x, 0) / one.cpuPer1000.reduce((s, x) => s + x, 0))}`);
    lines.push(`tickets/s / raw BullMQ jobs/s on the same cluster: 1 partition ${f2(one.ticketsPerSecond / one.raw.jobsPerSecond)}, 3 partitions ${f2(three.ticketsPerSecond / three.raw.jobsPerSecond)}`);
  }
  return lines;
}
