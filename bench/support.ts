import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { loadTopology } from '../src/config/topology-file.js';
import type { Principal } from '../src/domain/access.js';
import type { Topology } from '../src/domain/topology.js';
import { createLogger } from '../src/logger.js';
import { createRuntime, type Runtime, type WorkerRole } from '../src/runtime.js';
import { benchBody } from './body.js';
import { commandsOf } from './redis.js';

/** The desk every benchmark creates tickets as. */
export const DESK: Principal = { orgId: 'desk-BY', role: 'desk', land: 'BY' };

/** Polls until `check` holds (every `intervalMs`), or fails after ten minutes. */
export async function until(check: () => Promise<boolean> | boolean, what = 'a condition', intervalMs = 5): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs `fn` over 0..n-1, `width` at a time. */
export async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A Lotse runtime on its own prefix, logging nothing, running the workers asked for. */
export async function startRuntime(
  url: string,
  prefix: string,
  roles: WorkerRole[],
  o: { concurrency?: number; topology?: Topology; env?: Record<string, string> } = {},
): Promise<Runtime> {
  const runtime = await createRuntime({
    config: loadConfig({ LOTSE_PREFIX: prefix, ...(o.concurrency ? { LOTSE_WORKER_CONCURRENCY: String(o.concurrency) } : {}), ...o.env }),
    redisUrl: url,
    topology: o.topology ?? loadTopology(undefined),
    logger: createLogger('silent'),
    env: {},
  });
  await runtime.startWorkers(roles);
  return runtime;
}

/** The runtime's HTTP API on a free loopback port; the development keys (`dev-<orgId>`) work there. */
export async function listen(runtime: Runtime): Promise<{ url: string; close(): Promise<void> }> {
  const app = await runtime.buildApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** Redis commands of one raw BullMQ job (added, processed by a no-op worker, completed), averaged over m. */
export async function rawJobCommands(url: string, redis: Redis, m: number, concurrency: number): Promise<number> {
  const prefix = 'bench-rawcmd';
  const queue = new Queue('rawcmd', { connection: { url }, prefix });
  let done = 0;
  const worker = new Worker('rawcmd', async () => void done++, { connection: { url }, prefix, concurrency });
  await worker.waitUntilReady();
  const { total } = await commandsOf(redis, async () => {
    for (let i = 0; i < m; i++) await queue.add('noop', benchBody(`raw-${i}`), { jobId: `raw-${i}` });
    await until(() => done >= m, 'raw jobs');
  });
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return total / m;
}
