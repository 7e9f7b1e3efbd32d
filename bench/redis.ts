import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * Benchmarks count Redis commands, so they want a Redis nobody else talks
 * to: a private redis-server when the binary exists, else REDIS_URL.
 */
export async function benchRedis(): Promise<{ url: string; private: boolean; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'lotse-bench-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const failed = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(true));
    setTimeout(() => resolve(false), 300);
  });
  if (failed) {
    rmSync(dir, { recursive: true, force: true });
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    console.warn(`no redis-server binary: benchmarking against ${url}; command counts include other clients`);
    return { url, private: false, stop: async () => undefined };
  }
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => 50 });
  probe.on('error', () => undefined);
  await probe.connect();
  probe.disconnect();
  return {
    url,
    private: true,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Total calls per command since the last CONFIG RESETSTAT. */
export async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(m[1]!, Number(m[2]));
  return stats;
}

export function total(stats: Map<string, number>, exclude: string[] = ['config', 'info']): number {
  let n = 0;
  for (const [cmd, calls] of stats) if (!exclude.includes(cmd)) n += calls;
  return n;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * The Redis commands `work` causes (INFO commandstats, Lua-internal calls
 * included): counted from a reset until `work` resolves, minus an idle
 * stretch as long, since idle workers poll.
 */
export async function commandsOf(redis: Redis, work: () => Promise<void>): Promise<{ stats: Map<string, number>; total: number }> {
  await redis.config('RESETSTAT');
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  const stats = await commandStats(redis);
  await redis.config('RESETSTAT');
  await new Promise((r) => setTimeout(r, ms));
  const idle = total(await commandStats(redis));
  return { stats, total: total(stats) - idle };
}

/** The most called commands, per unit of work: `zadd 13.0, xadd 8.0, …`. */
export function topCommands(stats: Map<string, number>, per: number, n = 8): string {
  return [...stats].sort((a, b) => b[1] - a[1]).slice(0, n).map(([c, calls]) => `${c} ${(calls / per).toFixed(1)}`).join(', ');
}
