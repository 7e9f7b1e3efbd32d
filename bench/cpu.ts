import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wish, WISH_COMBINATIONS } from './backlog-words.js';
import { Redis } from 'ioredis';
import { benchBody } from './body.js';
import { listen, startRuntime, until } from './support.js';

/**
 * CPU-seconds per 1,000 tickets created over HTTP, background work included
 * (issue 19): one Lotse (API and every worker role a ticket's path touches,
 * the backlog's too) in this process, the HTTP clients in a child process of
 * their own (plain node:http, so their CPU is not Lotse's), technical tickets
 * from four Länder with one subject, so the recurring-problem window finds
 * them, opens an item and links the rest. Measured from the first request
 * until nothing is left to do (the outbox and the recurring-problem feed
 * empty, no backlog job waiting, running or delayed), then for `quietMs`
 * more, so work that goes on after the burst counts: this process's
 * `process.cpuUsage()` and Redis's `INFO cpu` (used_cpu_user + used_cpu_sys).
 */
const LANDS = ['BY', 'HB', 'NW', 'SN'] as const;

export const SERVICES = ['elfe', 'uvo', 'vms', 'ehe', 'lieferantencockpit', 'pq-portal', 'datenservice-einkauf'] as const;

const CLIENT = `
const bodies = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'));
const [url, width] = [process.argv[2], Number(process.argv[3])];
const n = bodies.length;
let next = 0, failed = 0, firstError;
async function one(i) {
  const body = bodies[i];
  const res = await fetch(url + '/v1/tickets', { method: 'POST', headers: { authorization: 'Bearer dev-desk-' + body.land, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) {
    failed++;
    firstError ??= res.status + ' ' + (await res.text()).slice(0, 300);
  } else await res.arrayBuffer();
}
Promise.all(Array.from({ length: width }, async () => { while (next < n) await one(next++); })).then(() => { console.log(JSON.stringify({ failed, firstError })); });
`;

/**
 * The tickets: `one-problem`, every one the same technical problem (one
 * subject, one service), so the window opens an item and links the burst to
 * it; `varied`, technical tickets over seven services with subjects drawn
 * from the backlog bench's word lists, so few match.
 */
export type CpuMix = 'one-problem' | 'varied';
function bodiesOf(mix: CpuMix, n: number) {
  return Array.from({ length: n }, (_, i) => {
    const land = LANDS[i % 4]!;
    if (mix === 'one-problem') return benchBody(`cpu-${i}`, { land });
    const { title, description } = wish((i * 7919) % WISH_COMBINATIONS);
    return benchBody(`cpu-${i}`, { land, service: SERVICES[i % SERVICES.length]!, subject: title.slice(0, 200), description });
  });
}

export function runClients(url: string, bodies: unknown[], width: number): Promise<{ failed: number; firstError?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-bench-cpu-'));
  const file = join(dir, 'bodies.json');
  writeFileSync(file, JSON.stringify(bodies));
  return new Promise<{ failed: number; firstError?: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT, file, url, String(width)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { failed: number; firstError?: string }) : reject(new Error(`clients exited ${code}`))));
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/**
 * Tickets of the same mix through a Lotse of their own before the measured
 * one starts, unmeasured: the process's code is then compiled and warm as in
 * a Lotse that has been running, and the figure is what a ticket costs, not
 * what the first ones cost the compiler. `warmup: 0` measures a cold process.
 */
async function warmUp(url: string, mix: CpuMix, n: number) {
  if (n <= 0) return;
  const redis = new Redis(url);
  const prefix = `bench-cpu-warm-${mix}`;
  const runtime = await startRuntime(url, prefix, ['intake', 'events', 'sla', 'relay', 'backlog']);
  const api = await listen(runtime);
  const { failed } = await runClients(api.url, bodiesOf(mix, n), 16);
  if (failed > 0) throw new Error(`warm-up: ${failed} of ${n} tickets not created`);
  await until(async () => (await redis.xlen(`${prefix}:outbox`)) + (await redis.xlen(`${prefix}:rfeed`)) === 0, 'the warm-up drained', 50);
  await api.close();
  await runtime.close();
  await redis.flushdb();
  redis.disconnect();
}

export async function benchCpu(url: string, o: { n: number; quietMs: number; mix: CpuMix; warmup?: number }) {
  await warmUp(url, o.mix, o.warmup ?? 0);
  const redis = new Redis(url);
  const prefix = `bench-cpu-${o.mix}`;
  const runtime = await startRuntime(url, prefix, ['intake', 'events', 'sla', 'relay', 'backlog']);
  const api = await listen(runtime);
  const idle = async () => {
    const [outbox, feed, counts] = await Promise.all([redis.xlen(`${prefix}:outbox`), redis.xlen(`${prefix}:rfeed`), runtime.queues.queue('backlog').getJobCounts('waiting', 'active', 'delayed')]);
    return outbox + feed + (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0;
  };
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpu(redis);
  const t0 = performance.now();
  const { failed } = await runClients(api.url, bodiesOf(o.mix, o.n), 16);
  const created = performance.now();
  await until(idle, 'the outbox, the feed and the backlog queue to drain', 50);
  const drained = performance.now();
  await new Promise((r) => setTimeout(r, o.quietMs));
  const used = process.cpuUsage(cpu0);
  const lotseS = (used.user + used.system) / 1e6;
  const redisS = (await redisCpu(redis)) - redis0;
  await api.close();
  await runtime.close();
  await redis.flushdb();
  redis.disconnect();
  const per1000 = (s: number) => (s * 1000) / o.n;
  return {
    n: o.n, mix: o.mix, warmup: o.warmup ?? 0, failed,
    createSeconds: (created - t0) / 1000,
    drainSeconds: (drained - created) / 1000,
    quietSeconds: o.quietMs / 1000,
    lotseCpuPer1000: per1000(lotseS),
    redisCpuPer1000: per1000(redisS),
    totalCpuPer1000: per1000(lotseS + redisS),
  };
}

export function reportCpu(rs: Awaited<ReturnType<typeof benchCpu>>[]): string[] {
  return [
    `CPU-seconds per 1,000 tickets created over HTTP, background work included (${rs[0]?.n ?? 0} technical tickets each, from 4 Länder, 16 clients in a process of their own; ${rs[0]?.warmup ? `after ${rs[0].warmup} of the same kind through a Lotse of their own, unmeasured, so the code is warm` : 'a cold process: the first tickets pay for compiling the code'})`,
    '',
    '| tickets | not created | creating (last answer) | then until outbox, feed and backlog queue empty | then quiet, still measured | Lotse CPU-s per 1,000 | Redis CPU-s per 1,000 | **together** (target ≤ 2) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rs.map((r) => `| ${r.mix} | ${r.failed} | ${r.createSeconds.toFixed(1)} s | ${r.drainSeconds.toFixed(1)} s | ${r.quietSeconds.toFixed(1)} s | ${r.lotseCpuPer1000.toFixed(2)} | ${r.redisCpuPer1000.toFixed(2)} | **${r.totalCpuPer1000.toFixed(2)}** |`),
  ];
}
