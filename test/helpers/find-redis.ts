import { spawn } from 'node:child_process';
import { answers, freePort, startRedisServer } from '../../src/embedded-redis.js';

export { answers, freePort, startRedisServer };

/** A Redis the tests may use, and how to let it go again. */
export interface FoundRedis {
  url: string;
  source: 'REDIS_URL' | 'local' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
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
