import { z } from 'zod';
import { parseClusterUrl } from './redis-url.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const EnvSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?(\+cluster)?:\/\//, 'a redis:// or rediss:// URL, or redis+cluster://host:port,host:port for a Redis Cluster')
    .refine((url) => {
      try {
        parseClusterUrl(url);
        return true;
      } catch {
        return false;
      }
    }, 'a Redis Cluster URL is redis+cluster://[user:password@]host:port,host:port,…')
    .optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOTSE_CONFIG: z.string().min(1).optional(),
  LOTSE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,40}$/, 'letters, digits, _ - { } only (no colon), at most 40')
    .default('lotse'),
  LOG_LEVEL: z.enum(LEVELS).default('info'),
  LOTSE_EVENTS_MAXLEN: z.coerce.number().int().min(1000).default(100_000),
  LOTSE_RELAY_CLAIM_IDLE_MS: z.coerce.number().int().min(100).default(15_000),
  LOTSE_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  LOTSE_DATA_DIR: z.string().min(1).default('.lotse'),
  LOTSE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
});

export type Config = {
  redisUrl: string | undefined;
  port: number;
  host: string;
  topologyPath: string | undefined;
  prefix: string;
  logLevel: (typeof LEVELS)[number];
  eventsMaxLen: number;
  relayClaimIdleMs: number;
  shutdownTimeoutMs: number;
  dataDir: string;
  /** Jobs each worker of this process runs at once. */
  concurrency: number;
};

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Configuration is not valid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Reads the environment once; throws one error naming every wrong variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  // On a cluster every key one script touches must share a slot: the prefix's hash tag puts them all in one.
  if (e.REDIS_URL && parseClusterUrl(e.REDIS_URL) && !/\{[^{}]+\}/.test(e.LOTSE_PREFIX)) {
    throw new ConfigError([`LOTSE_PREFIX: on a Redis Cluster the prefix needs a hash tag, such as {${e.LOTSE_PREFIX}}`]);
  }
  return Object.freeze({
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    host: e.HOST,
    topologyPath: e.LOTSE_CONFIG,
    prefix: e.LOTSE_PREFIX,
    logLevel: e.LOG_LEVEL,
    eventsMaxLen: e.LOTSE_EVENTS_MAXLEN,
    relayClaimIdleMs: e.LOTSE_RELAY_CLAIM_IDLE_MS,
    shutdownTimeoutMs: e.LOTSE_SHUTDOWN_TIMEOUT_MS,
    dataDir: e.LOTSE_DATA_DIR,
    concurrency: e.LOTSE_WORKER_CONCURRENCY,
  });
}
