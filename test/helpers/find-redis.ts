import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answers } from '../../src/embedded-redis.js';

export { answers };

/** A Redis the tests may use, and how to let it go again. */
export interface FoundRedis {
  url: string;
  source: 'REDIS_URL' | 'local' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Starts a private redis-server; `appendonly` turns on its append-only file in `dir`. */
export async function startRedisServer(
  options: { port?: number; dir?: string; appendonly?: boolean } = {},
): Promise<{ url: string; port: number; dir: string; process: ChildProcess; stop(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'lotse-redis-'));
  const ownsDir = options.dir === undefined;
  const child = spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', options.appendonly ? 'yes' : 'no', '--appendfsync', 'always',
      '--dir', dir, '--maxmemory-policy', 'noeviction',
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200 && !(await answers(url, 200)); i++) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    port,
    dir,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function hasBinary(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn(name, ['--version'], { stdio: 'ignore' });
    probe.on('error', () => resolve(false));
    probe.on('exit', (code) => resolve(code === 0));
  });
}

/** REDIS_URL; a Redis on 127.0.0.1:6379; a testcontainer; a private redis-server; else one clear line. */
export async function findRedis(): Promise<FoundRedis> {
  const none = async () => undefined;
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, source: 'REDIS_URL', stop: none };
  if (await answers('redis://127.0.0.1:6379')) return { url: 'redis://127.0.0.1:6379', source: 'local', stop: none };
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    return { url: container.getConnectionUrl(), source: 'testcontainers', stop: async () => void (await container.stop()) };
  } catch {
    // no container runtime here: fall through to a private server
  }
  if (await hasBinary('redis-server')) {
    const server = await startRedisServer();
    return { url: server.url, source: 'redis-server', stop: server.stop };
  }
  throw new Error(
    'No Redis for the tests: set REDIS_URL, start Redis on 127.0.0.1:6379, run Docker, or install redis-server.',
  );
}
