import { z } from 'zod';
import { hasHashTag, parseClusterUrl } from './redis-url.js';
import { PARTITIONS_MAX } from '../domain/partitions.js';

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
  LOTSE_PARTITIONS: z.coerce.number().int().min(1).max(PARTITIONS_MAX).default(1),
  LOG_LEVEL: z.enum(LEVELS).default('info'),
  LOTSE_EVENTS_MAXLEN: z.coerce.number().int().min(1000).default(100_000),
  LOTSE_RELAY_CLAIM_IDLE_MS: z.coerce.number().int().min(100).default(15_000),
  LOTSE_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  LOTSE_DATA_DIR: z.string().min(1).default('.lotse'),
  LOTSE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  LOTSE_REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1500),
  LOTSE_HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  LOTSE_HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
  LOTSE_HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(120_000),
  LOTSE_HTTP_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  LOTSE_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  LOTSE_MAX_HEAP_USED_BYTES: z.coerce.number().int().min(0).optional(),
  LOTSE_RETENTION_SWEEP_MS: z.coerce.number().int().min(1000).max(7 * 86_400_000).default(3_600_000),
  LOTSE_STREAM_HEARTBEAT_MS: z.coerce.number().int().min(50).max(300_000).default(15_000),
  LOTSE_METRICS_PATH: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]{1,100}$/, 'a path such as /metrics (letters, digits, . _ ~ - /)')
    .refine((p) => !/^\/(v1|docs|healthz|readyz)(\/|$)/.test(p), 'must not be inside /v1, /docs, /healthz or /readyz')
    .default('/metrics'),
  /** Unset (or the API's port): metrics are served by the API. Another port: a listener of their own. */
  LOTSE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LOTSE_SESSION_IDLE_SECONDS: z.coerce.number().int().min(60).max(30 * 86_400).default(8 * 3600),
  LOTSE_SESSION_MAX_SECONDS: z.coerce.number().int().min(60).max(30 * 86_400).default(12 * 3600),
  LOTSE_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(10),
  LOTSE_LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  LOTSE_STREAM_MAX_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(10),
  LOTSE_STREAM_REPLAY_MAX: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  LOTSE_TRUST_PROXY: z
    .string()
    .regex(/^(false|true|(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)(,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?))*)$/, 'false, true, or proxy addresses/CIDRs, comma-separated (loopback names 127.0.0.1/8 and ::1)')
    .default('false'),
});

export type Config = {
  redisUrl: string | undefined;
  port: number;
  host: string;
  topologyPath: string | undefined;
  prefix: string;
  /** How many partitions tickets spread over (CONTRACT "Partitions"); 1 is the single-slot layout. */
  partitions: number;
  logLevel: (typeof LEVELS)[number];
  eventsMaxLen: number;
  /** How often the retention worker sweeps closed tickets past their retention. */
  retentionSweepMs: number;
  relayClaimIdleMs: number;
  shutdownTimeoutMs: number;
  dataDir: string;
  /** Jobs each worker of this process runs at once. */
  concurrency: number;
  /** How long a non-blocking Redis command may take before the caller gets 503 (a frozen Redis). */
  redisCommandTimeoutMs: number;
  http: HttpSettings;
  /** Heartbeat comments on `/v1/stream`, so proxies keep the connection open. */
  streamHeartbeatMs: number;
  metricsPath: string;
  /** A port of their own for the metrics; undefined: the API's. */
  metricsPort: number | undefined;
  /** Dashboard sessions: idle (sliding) and absolute lifetime; failed logins allowed per client and key prefix in a window. */
  sessions: { idleSeconds: number; maxSeconds: number; loginMaxFailures: number; loginWindowSeconds: number };
  /** `/v1/stream`: concurrent connections per key (per process), entries a resume replays at most. */
  stream: { maxPerKey: number; replayMax: number };
  /** Fastify's trustProxy: whose X-Forwarded-* headers are believed (false: nobody's). */
  trustProxy: boolean | string;
};

/** Limits of the HTTP server: slow or idle clients cannot hold connections, and overload is shed. */
export interface HttpSettings {
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** The headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** A socket with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Above this event-loop delay requests get 503 (0: no check). */
  maxEventLoopDelayMs: number;
  /** Above this heap use requests get 503; undefined: 90 % of the heap limit. */
  maxHeapUsedBytes: number | undefined;
}

/** `false`/`true`, or a list of addresses and CIDRs (`loopback` names 127.0.0.1/8 and ::1). */
function parseTrustProxy(value: string): boolean | string {
  if (value === 'false') return false;
  if (value === 'true') return true;
  return value;
}

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
  if (e.REDIS_URL && parseClusterUrl(e.REDIS_URL) && !hasHashTag(e.LOTSE_PREFIX)) {
    throw new ConfigError([`LOTSE_PREFIX: on a Redis Cluster the prefix needs a hash tag, such as {${e.LOTSE_PREFIX}}`]);
  }
  return Object.freeze({
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    host: e.HOST,
    topologyPath: e.LOTSE_CONFIG,
    prefix: e.LOTSE_PREFIX,
    partitions: e.LOTSE_PARTITIONS,
    logLevel: e.LOG_LEVEL,
    eventsMaxLen: e.LOTSE_EVENTS_MAXLEN,
    retentionSweepMs: e.LOTSE_RETENTION_SWEEP_MS,
    relayClaimIdleMs: e.LOTSE_RELAY_CLAIM_IDLE_MS,
    shutdownTimeoutMs: e.LOTSE_SHUTDOWN_TIMEOUT_MS,
    dataDir: e.LOTSE_DATA_DIR,
    concurrency: e.LOTSE_WORKER_CONCURRENCY,
    redisCommandTimeoutMs: e.LOTSE_REDIS_COMMAND_TIMEOUT_MS,
    http: Object.freeze({
      requestTimeoutMs: e.LOTSE_HTTP_REQUEST_TIMEOUT_MS,
      // Node wants the header deadline within the request deadline.
      headersTimeoutMs: Math.min(e.LOTSE_HTTP_HEADERS_TIMEOUT_MS, e.LOTSE_HTTP_REQUEST_TIMEOUT_MS),
      idleTimeoutMs: e.LOTSE_HTTP_IDLE_TIMEOUT_MS,
      keepAliveTimeoutMs: e.LOTSE_HTTP_KEEPALIVE_TIMEOUT_MS,
      maxEventLoopDelayMs: e.LOTSE_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: e.LOTSE_MAX_HEAP_USED_BYTES,
    }),
    streamHeartbeatMs: e.LOTSE_STREAM_HEARTBEAT_MS,
    metricsPath: e.LOTSE_METRICS_PATH,
    metricsPort: e.LOTSE_METRICS_PORT,
    sessions: Object.freeze({
      idleSeconds: Math.min(e.LOTSE_SESSION_IDLE_SECONDS, e.LOTSE_SESSION_MAX_SECONDS),
      maxSeconds: e.LOTSE_SESSION_MAX_SECONDS,
      loginMaxFailures: e.LOTSE_LOGIN_MAX_FAILURES,
      loginWindowSeconds: e.LOTSE_LOGIN_WINDOW_SECONDS,
    }),
    stream: Object.freeze({ maxPerKey: e.LOTSE_STREAM_MAX_PER_KEY, replayMax: e.LOTSE_STREAM_REPLAY_MAX }),
    trustProxy: parseTrustProxy(e.LOTSE_TRUST_PROXY),
  });
}
