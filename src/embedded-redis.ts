import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
  let server: RedisServer;
  try {
    server = await startRedisServer({ port: local.port, dir, appendonly: true, appendfsync: 'everysec', binary: local.binary });
  } catch {
    throw new NoRedisError('No Redis: install redis-server (Debian: apt install redis-server), or run one with `docker run -d -p 127.0.0.1:6379:6379 redis:7-alpine --maxmemory-policy noeviction`, or set REDIS_URL to a Redis 6.2+ with maxmemory-policy noeviction.');
  }
  log(`started redis-server on 127.0.0.1:${local.port} with its append-only file in ${dir}`);
  return { url, stop: server.stop };
}

/** A port nobody listens on now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? done(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** SIGTERM, then waits for the exit; removes the directory when it was a temporary one. */
  stop(): Promise<void>;
}

/**
 * Starts a redis-server of our own on 127.0.0.1 that never evicts keys and
 * writes no snapshots, and waits until it answers. `appendonly` keeps an
 * append-only file in `dir` (fsync `always` unless said otherwise); without
 * `dir` a temporary directory is used. Rejects when the binary is missing,
 * or the server exits or does not answer within 5 s.
 */
export async function startRedisServer(
  o: { port?: number; dir?: string; appendonly?: boolean; appendfsync?: 'always' | 'everysec'; binary?: string } = {},
): Promise<RedisServer> {
  const port = o.port ?? (await freePort());
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'lotse-redis-'));
  const child = spawn(
    o.binary ?? 'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxmemory-policy', 'noeviction', '--dir', dir,
      '--appendonly', o.appendonly ? 'yes' : 'no', '--appendfsync', o.appendfsync ?? 'always',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code}`)));
  });
  failed.catch(() => undefined);
  const url = `redis://127.0.0.1:${port}`;
  const removeDir = () => {
    if (o.dir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; !(await Promise.race([answers(url, 200), failed])); i++) {
      if (i >= 100) throw new Error(`redis-server on port ${port} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    removeDir();
    throw err;
  }
  return {
    url,
    port,
    dir,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      removeDir();
    },
  };
}
