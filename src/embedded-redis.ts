import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_URL } from './config/env.js';

/** Whether a Redis answers PING at `url` within the timeout. */
export async function answers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface ResolvedRedis {
  url: string;
  /** Set when Lotse started its own redis-server; stops it with its data flushed. */
  stop?: () => Promise<void>;
}

export class NoRedisError extends Error {}

/**
 * The one-machine default: REDIS_URL when set; a Redis answering on
 * 127.0.0.1:6379; else a redis-server of our own with its append-only file
 * under `dataDir`; else one line saying what to do.
 */
export async function resolveRedis(
  redisUrl: string | undefined,
  dataDir: string,
  log: (msg: string) => void,
  // Tests point these elsewhere; users get 127.0.0.1:6379 and their PATH.
  local: { port: number; binary: string } = { port: 6379, binary: 'redis-server' },
): Promise<ResolvedRedis> {
  if (redisUrl) return { url: redisUrl };
  const url = local.port === 6379 ? DEFAULT_REDIS_URL : `redis://127.0.0.1:${local.port}`;
  if (await answers(url)) return { url };
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess;
  try {
    child = await startServer(dir, local.port, local.binary, url);
  } catch {
    throw new NoRedisError('No Redis: run `docker compose up -d redis`, or set REDIS_URL to a Redis 6.2+ with maxmemory-policy noeviction.');
  }
  log(`started redis-server on 127.0.0.1:${local.port} with its append-only file in ${dir}`);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startServer(dir: string, port: number, binary: string, url: string): Promise<ChildProcess> {
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--dir', dir, '--maxmemory-policy', 'noeviction', '--save', ''],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  for (let i = 0; i < 100; i++) {
    const up = await Promise.race([answers(url), failed]);
    if (up) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer');
}
