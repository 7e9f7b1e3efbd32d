import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { benchBody } from '../../bench/body.js';
import { afterEach, inject } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { loadTopology } from '../../src/config/topology-file.js';
import { devRoleFor, type Principal } from '../../src/domain/access.js';
import type { Topology } from '../../src/domain/topology.js';
import type { App } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime, type WorkerRole } from '../../src/runtime.js';

export const redisUrl = () => inject('redisUrl');
export const defaultTopology = loadTopology(undefined);

/** A fresh key prefix per test: tests share one Redis safely. */
export const newPrefix = (tag = 't') => `${tag}${randomBytes(5).toString('hex')}`;

/** The principal a development key would give. */
export function dev(orgId: string, topology: Topology = defaultTopology): Principal {
  const role = devRoleFor(topology, orgId);
  if (!role) throw new Error(`no organisation ${orgId}`);
  return { orgId, role, land: topology.orgs.get(orgId)?.land };
}

export const bearer = (orgId: string) => ({ authorization: `Bearer dev-${orgId}` });

export interface Harness {
  prefix: string;
  runtime: Runtime;
  redis: Redis;
  app(): Promise<App>;
  close(): Promise<void>;
}

/** Deletes every key under a prefix. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Connections still open under a prefix's names; a test that leaves one open fails. */
export async function openConnections(redis: Redis, prefix: string): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return list.split('\n').filter((line) => new RegExp(`name=${prefix}[-:]`).test(line));
}

export interface HarnessOptions {
  topology?: Topology;
  roles?: WorkerRole[];
  env?: Record<string, string>;
  principalEnv?: Record<string, string>;
  now?: () => number;
}

/**
 * A Lotse runtime on its own prefix, with the workers asked for, and a check
 * on close that nothing was left open.
 */
export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const prefix = newPrefix();
  // No load shedding unless a test asks for it: a busy shared machine must not turn other tests' requests into 503s.
  const config = loadConfig({ LOTSE_PREFIX: prefix, LOTSE_RELAY_CLAIM_IDLE_MS: '300', LOG_LEVEL: 'silent', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0', ...opts.env });
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const runtime = await createRuntime({ config, redisUrl: redisUrl(), topology: opts.topology ?? defaultTopology, logger, env: opts.principalEnv ?? {}, ...(opts.now ? { now: opts.now } : {}) });
  if (opts.roles && opts.roles.length > 0) await runtime.startWorkers(opts.roles);
  let app: App | undefined;
  const admin = new Redis(redisUrl());
  return {
    prefix,
    runtime,
    redis: admin,
    async app() {
      app ??= await runtime.buildApp();
      return app;
    },
    async close() {
      await app?.close();
      await runtime.close();
      await waitFor(async () => (await openConnections(admin, prefix)).length === 0, { timeoutMs: 5000, what: `connections of ${prefix} to close` });
      // Every partition's keys (LOTSE_PARTITIONS), the first of them the prefix itself.
      for (const p of runtime.layout.prefixes) await dropPrefix(admin, p);
      admin.disconnect();
    },
  };
}

/**
 * For a test file whose tests each start their own harness: the returned
 * function starts one, and it is closed after the test that started it.
 */
export function harnessPerTest(): (opts?: HarnessOptions) => Promise<Harness> {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (opts = {}) => (current = await createHarness(opts));
}

/** Polls a condition until it holds; never a fixed sleep. */
export async function waitFor<T>(
  condition: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/** A valid create body (the benchmarks' typical one, with a fresh externalRef); override what a test is about. */
export function ticketBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { attachments: _none, ...body } = benchBody(`ext-${randomBytes(4).toString('hex')}`);
  return { ...body, ...overrides };
}
