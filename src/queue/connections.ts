import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseClusterUrl } from '../config/redis-url.js';

/**
 * Redis connections by use. Workers block and must wait out a Redis restart
 * (`maxRetriesPerRequest: null`); producers and the API fail fast instead of
 * queueing commands while Redis is away (`enableOfflineQueue: false`) or
 * frozen (`commandTimeout`), so a caller gets a clear 503 rather than a hang.
 */
export type ConnectionUse = 'worker' | 'producer';

/** How long a producer's command may wait for Redis before it fails (a frozen or overloaded Redis). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1500;

export type { RedisClient } from '../store/redis-client.js';
import { KEY_COUNT_FIRST_SCRIPTS, type RedisClient } from '../store/redis-client.js';

export function createRedis(url: string, use: ConnectionUse, name?: string, opts: { commandTimeoutMs?: number } = {}): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: use === 'worker' ? null : 1,
    enableOfflineQueue: use === 'worker',
    // Only where nothing blocks: a worker's BZPOPMIN (and its duplicates) must wait as long as it likes.
    ...(use === 'producer' ? { commandTimeout: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS } : {}),
    // Reconnect quickly, then back off to 2 s: a restarted Redis is picked up soon.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    // Commands issued in the same tick go out in one write: far fewer syscalls under load.
    enableAutoPipelining: use === 'producer',
    ...(name ? { connectionName: name } : {}),
  };
  const cluster = parseClusterUrl(url);
  if (!cluster) return new Redis(url, options);
  const { retryStrategy, enableOfflineQueue, enableAutoPipelining, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue,
    enableAutoPipelining,
    // Scripts with a varying key count would be pipelined by the slot of their key count: each goes out on its own (store/redis-client.ts).
    autoPipeliningIgnoredCommands: [...KEY_COUNT_FIRST_SCRIPTS],
    // BullMQ reads maxRetriesPerRequest from here: null for blocking workers.
    redisOptions: {
      ...nodeOptions,
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(cluster.tls ? { tls: {} } : {}),
    },
  };
  return new Cluster(cluster.nodes, clusterOptions);
}

/** Resolves once the connection is ready, or rejects with why it is not. */
export async function connected(redis: RedisClient, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    const onReady = () => done();
    const onError = (err: Error) => {
      if (redis.status === 'end') done(err);
    };
    function done(err?: Error) {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err) reject(err);
      else resolve();
    }
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
