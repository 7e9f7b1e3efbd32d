import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { itemIdFor } from '../src/engine/backlog/index.js';
import { newTicketId } from '../src/engine/ticket/index.js';
import { loadConfig } from '../src/config/env.js';
import { LAND_CODES } from '../src/domain/ids.js';
import type { Principal } from '../src/domain/access.js';
import { QUEUE } from '../src/queue/names.js';
import type { Runtime } from '../src/runtime.js';
import { seededRandom } from '../src/seeded-random.js';
import { benchBody } from './body.js';
import { WISH_COMBINATIONS, wish } from './backlog-words.js';
import { benchTopology } from './stats.js';
import { median, pool, startRuntime, until } from './support.js';

const SERVICES = ['elfe', 'uvo', 'vms', 'ehe', 'lieferantencockpit', 'pq-portal', 'datenservice-einkauf'] as const;
const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

/** `items` backlog items through the backlog engine's createItem, spread over the services, each with one link. */
async function seedItems(runtime: Runtime, items: number): Promise<void> {
  const at = Date.now();
  await pool(items, 16, async (i) => {
    const service = SERVICES[i % SERVICES.length]!;
    const { title, description } = wish(i);
    const land = LAND_CODES[i % LAND_CODES.length]!;
    await runtime.backlog.createItem({
      id: itemIdFor(`bench-seed-${i}`), service, title, description,
      links: [{ ticketId: newTicketId(at), land, priority: 'P3', score: 1, shared: [], at, source: 'suggestion' }],
      text: runtime.backlog.analyse(service, `${title}\n${description}`),
    });
  });
}

/** Redis memory of the backlog: per item, its hash and history (a sample), and every posting of the text index divided by the items. */
async function memoryPerItem(redis: Redis, prefix: string, items: number) {
  const sample = Array.from({ length: Math.min(200, items) }, (_, k) => itemIdFor(`bench-seed-${Math.floor((k * items) / Math.min(200, items))}`));
  const p = redis.pipeline();
  for (const id of sample) p.memory('USAGE', `${prefix}:b:${id}`).memory('USAGE', `${prefix}:b:${id}:h`);
  const sizes = ((await p.exec()) ?? []).map(([, n]) => Number(n ?? 0));
  const record = sizes.reduce((a, b) => a + b, 0) / sample.length;
  let postings = 0;
  let postingKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:bx:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const q = redis.pipeline();
    for (const k of keys) q.memory('USAGE', k);
    for (const [, n] of (await q.exec()) ?? []) postings += Number(n ?? 0);
    postingKeys += keys.length;
  } while (cursor !== '0');
  return { record, postings: postings / items, postingKeys };
}

/**
 * `suggestions` SUGGEST_IMPROVEMENT events on real tickets (three at most
 * per ticket, the topology's bound), committed while no backlog worker runs,
 * so their `suggest` jobs wait on the backlog queue; then the backlog worker
 * starts and the time until the queue is empty is the aggregation's.
 * Half of the suggestions say what an item of their service already says.
 */
async function suggestRun(url: string, prefix: string, items: number, suggestions: number, seed: number) {
  const redis = new Redis(url);
  const runtime = await startRuntime(url, prefix, ['relay'], { topology: benchTopology(), env: { LOTSE_EVENTS_MAXLEN: '1000' } });
  const queue = new Queue(QUEUE.backlog, { connection: { url }, prefix });
  try {
    const before = await usedMemory(redis);
    const t0 = performance.now();
    await seedItems(runtime, items);
    const seedS = (performance.now() - t0) / 1000;
    // The items' published events are no part of an item: the stream is capped anyway.
    await until(async () => (await redis.xlen(`${prefix}:outbox`)) === 0, 'the outbox to drain', 20);
    await redis.xtrim(`${prefix}:events`, 'MAXLEN', 0);
    const memory = { delta: ((await usedMemory(redis)) - before) / items, ...(await memoryPerItem(redis, prefix, items)) };

    const random = seededRandom(seed);
    const tickets = await Promise.all(Array.from({ length: Math.ceil(suggestions / 3) }, async (_, t) => {
      const land = LAND_CODES[t % LAND_CODES.length]!;
      const service = SERVICES[t % SERVICES.length]!;
      const desk: Principal = { orgId: `desk-${land}`, role: 'desk', land };
      // Questions, not technical tickets: no recurring-problem observation beside the suggestions.
      const { record } = await runtime.engine.createParsedTicket(desk, benchBody(`${prefix}-t${t}`, { land, service, category: 'question' }), { reserve: false });
      return { id: record.id, service, holder: runtime.principals.authenticate(`dev-${record.state.context.assignee}`)! };
    }));
    await pool(suggestions, 16, async (n) => {
      const ticket = tickets[Math.floor(n / 3)]!;
      const s = SERVICES.indexOf(ticket.service as (typeof SERVICES)[number]);
      const perService = Math.floor(items / SERVICES.length);
      const i = random() < 0.5 ? Math.floor(random() * perService) * SERVICES.length + s : items + Math.floor(random() * (WISH_COMBINATIONS - items));
      await runtime.engine.applyEvent(ticket.holder, ticket.id, { type: 'SUGGEST_IMPROVEMENT', ...wish(i) });
    });
    await until(async () => (await queue.getWaitingCount()) >= suggestions, 'every suggestion on the backlog queue', 20);

    const itemsBefore = await redis.zcard(`${prefix}:bix:score:all`).catch(() => 0);
    const t1 = performance.now();
    await runtime.startWorkers(['backlog']);
    await until(async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
      if (c.failed) throw new Error(`${c.failed} backlog jobs failed`);
      return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) === 0;
    }, 'the backlog queue to drain', 10);
    const drainS = (performance.now() - t1) / 1000;
    const itemsAfter = await redis.zcard(`${prefix}:bix:score:all`).catch(() => 0);
    return { items, suggestions, seedS, memory, perSecond: suggestions / drainS, msPerSuggestion: (drainS * 1000) / suggestions, opened: itemsAfter - itemsBefore };
  } finally {
    await queue.close();
    await runtime.close();
    redis.disconnect();
  }
}

/** Raw BullMQ: `n` no-op jobs waiting, then a worker of the same concurrency drains them. */
async function rawRun(url: string, n: number, concurrency: number): Promise<number> {
  const prefix = 'bench-raw-backlog';
  const queue = new Queue('raw', { connection: { url }, prefix });
  for (let i = 0; i < n; i += 500) await queue.addBulk(Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ name: 'suggest', data: { type: 'suggest', ticketId: `T${i + k}`, version: 2, source: 'suggestion' }, opts: { jobId: `raw-${i + k}` } })));
  const t0 = performance.now();
  let done = 0;
  const worker = new Worker('raw', async () => void done++, { connection: { url }, prefix, concurrency });
  await until(() => done >= n, 'raw jobs', 10);
  const perSecond = n / ((performance.now() - t0) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return perSecond;
}

export async function benchBacklog(url: string, o: { small: number; large: number; suggestions: number; rounds: number }) {
  const redis = new Redis(url);
  await redis.flushdb();
  const concurrency = loadConfig({}).concurrency;
  const raw: number[] = [];
  const small: Awaited<ReturnType<typeof suggestRun>>[] = [];
  const large: Awaited<ReturnType<typeof suggestRun>>[] = [];
  try {
    // Interleaved rounds, each on fresh prefixes: every figure sees the same load.
    for (let r = 0; r < o.rounds; r++) {
      raw.push(await rawRun(url, o.suggestions, concurrency));
      small.push(await suggestRun(url, `bench-backlog-s${r}`, o.small, o.suggestions, 1000 + r));
      large.push(await suggestRun(url, `bench-backlog-l${r}`, o.large, o.suggestions, 1000 + r));
      await redis.flushdb();
    }
  } finally {
    await redis.flushdb();
    redis.disconnect();
  }
  const mid = <T extends { perSecond: number }>(xs: T[]) => [...xs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(xs.length / 2)]!;
  const s = mid(small);
  const l = mid(large);
  return { concurrency, raw: median(raw), small: s, large: l, costRatio: l.msPerSuggestion / s.msPerSuggestion, rounds: o.rounds };
}

export function reportBacklog(b: Awaited<ReturnType<typeof benchBacklog>>): string[] {
  const row = (r: typeof b.small) =>
    `  ${String(r.items).padStart(6)} items  ${r.perSecond.toFixed(0).padStart(5)} suggestions/s (${r.msPerSuggestion.toFixed(2)} ms each; ratio to raw ${(r.perSecond / b.raw).toFixed(2)}; ${r.opened} new items)  seeded in ${r.seedS.toFixed(0)} s`;
  const mem = (r: typeof b.small) =>
    `  ${String(r.items).padStart(6)} items  ${(r.memory.delta / 1024).toFixed(2)} KiB per item (used_memory delta); MEMORY USAGE: hash + history ${(r.memory.record / 1024).toFixed(2)} KiB, postings ${(r.memory.postings / 1024).toFixed(2)} KiB (${r.memory.postingKeys} posting sets)`;
  return [
    `suggestions aggregated through the backlog queue and worker (concurrency ${b.concurrency}), ${b.small.suggestions} per run, median of ${b.rounds}:`,
    `  raw BullMQ no-op jobs/s, same concurrency  ${b.raw.toFixed(0)}`,
    row(b.small),
    row(b.large),
    `  cost per suggestion ${b.large.items} / ${b.small.items} items: ${b.costRatio.toFixed(2)} (target <= 1.2: ${b.costRatio <= 1.2 ? 'met' : 'missed'})`,
    `Redis memory per backlog item:`,
    mem(b.small),
    mem(b.large),
  ];
}
