import { Redis, type RedisOptions } from 'ioredis';

/**
 * Redis connections by use. Workers block and must wait out a Redis restart
 * (`maxRetriesPerRequest: null`); producers and the API fail fast instead of
 * queueing commands while Redis is away (`enableOfflineQueue: false`) or
 * frozen (`commandTimeout`), so a caller gets a clear 503 rather than a hang.
 */
export type ConnectionUse = 'worker' | 'producer';

/** How long a producer's command may wait for Redis before it fails (a frozen or overloaded Redis). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1500;

export function createRedis(url: string, use: ConnectionUse, name?: string, opts: { commandTimeoutMs?: number } = {}): Redis {
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
  return new Redis(url, options);
}

/** Resolves once the connection is ready, or rejects with why it is not. */
export async function connected(redis: Redis, timeoutMs = 5000): Promise<void> {
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
