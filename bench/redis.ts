import type { Redis } from 'ioredis';
import { startRedisServer } from '../src/embedded-redis.js';

/**
 * Benchmarks count Redis commands, so they want a Redis nobody else talks
 * to: a private redis-server (no append-only file) when the binary exists,
 * else REDIS_URL.
 */
export async function benchRedis(): Promise<{ url: string; private: boolean; stop(): Promise<void> }> {
  try {
    const server = await startRedisServer();
    return { url: server.url, private: true, stop: server.stop };
  } catch {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    console.warn(`no redis-server binary: benchmarking against ${url}; command counts include other clients`);
    return { url, private: false, stop: async () => undefined };
  }
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
