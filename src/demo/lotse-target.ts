/**
 * The Lotse the demo drives: one it starts itself, the same way `lotse
 * start` does (the embedded Redis default, every worker, the API), or one
 * already running at a URL, reached over HTTP only.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import { isLoopback } from '../config/principals.js';
import type { Topology } from '../domain/topology.js';
import { NoRedisError, resolveRedis } from '../embedded-redis.js';
import { connected, createRedis } from '../queue/connections.js';
import { checkRedis } from '../redis-check.js';
import { createRuntime, WORKER_ROLES } from '../runtime.js';
import { DemoError } from './options.js';

export interface LotseTarget {
  /** Base URL of the API: `http://127.0.0.1:3000`. */
  url: string;
  /** The Redis of an embedded Lotse (its provider queues live there). */
  redisUrl: string | undefined;
  /** Whether `dev-<orgId>` keys are accepted. */
  devKeys: boolean;
  close(): Promise<void>;
}

/** URL keeps an IPv6 host in brackets: [::1]. */
export const isLoopbackUrl = (url: URL) => isLoopback(url.hostname.replace(/^\[(.*)\]$/, '$1'));

export async function startEmbeddedLotse(config: Config, topology: Topology, logger: Logger, port: number, env: NodeJS.ProcessEnv = process.env): Promise<LotseTarget> {
  let redis;
  try {
    redis = await resolveRedis(config.redisUrl, config.dataDir, (msg) => logger.info(msg));
  } catch (err) {
    if (err instanceof NoRedisError) throw new DemoError(1, err.message);
    throw err;
  }
  const stopRedis = async () => redis.stop?.();
  try {
    const probe = createRedis(redis.url, 'producer', `${config.prefix}-probe`);
    probe.on('error', () => undefined);
    try {
      await connected(probe).catch(() => {
        throw new DemoError(1, `Redis at ${redis.url.replace(/\/\/[^@/]*@/, '//***@')} does not answer: start it or set REDIS_URL.`);
      });
      const problem = await checkRedis(probe);
      if (problem) throw new DemoError(1, problem);
    } finally {
      probe.disconnect();
    }
    const runtime = await createRuntime({ config, redisUrl: redis.url, topology, logger, env });
    if (!runtime.principals.devKeys && topology.config.principals.length === 0) {
      await runtime.close();
      throw new DemoError(2, `No principals configured and HOST ${config.host} is not a loopback address: configure principals (API keys) in the topology first.`);
    }
    if (runtime.principals.devKeys) {
      logger.warn('DEVELOPMENT KEYS ARE ON: no principals are configured, so dev-<orgId> keys (dev-desk-HB, dev-dataport, dev-ops-bremen, …) are accepted on this loopback address.');
    }
    await runtime.startWorkers([...WORKER_ROLES]);
    const app = await runtime.buildApp();
    try {
      await app.listen({ port, host: config.host });
    } catch (err) {
      await app.close();
      await runtime.close();
      throw new DemoError(1, `cannot listen on ${config.host}:${port}: ${(err as Error).message}`);
    }
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `http://${host}:${address.port}`,
      redisUrl: redis.url,
      devKeys: runtime.principals.devKeys,
      async close() {
        await app.close();
        await runtime.close();
        await stopRedis();
      },
    };
  } catch (err) {
    await stopRedis();
    throw err;
  }
}

/** A running Lotse: it must answer its health check; dev keys only on a loopback address. */
export async function connectToLotse(url: URL): Promise<LotseTarget> {
  const base = url.toString().replace(/\/+$/, '');
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`healthz answered ${res.status}`);
  } catch (err) {
    throw new DemoError(1, `--against: Lotse at ${base} does not answer (${(err as Error).message})`);
  }
  return { url: base, redisUrl: undefined, devKeys: isLoopbackUrl(url), close: async () => undefined };
}
