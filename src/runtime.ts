import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { RedisClient } from './queue/connections.js';
import type { Logger } from 'pino';
import { createSlaWorker } from '../workers/sla.worker.js';
import { createEventsWorker } from '../workers/events.worker.js';
import { createIntakeWorker } from '../workers/intake.worker.js';
import { createWebhookWorker } from '../workers/webhook.worker.js';
import type { Config } from './config/env.js';
import { createPrincipalResolver, isLoopback, type PrincipalResolver } from './config/principals.js';
import type { Topology } from './domain/topology.js';
import { createEngine, type Engine } from './engine/engine.js';
import { createExecutors } from './engine/executors.js';
import { newTicketId } from './engine/ids.js';
import { createOutboxRelay } from './engine/relay.js';
import { buildApp, type App } from './http/app.js';
import { deadLetterRoutes } from './http/routes/dead-letters.js';
import type { ReadinessCheck } from './http/routes/health.js';
import { connected, createRedis } from './queue/connections.js';
import { createQueues, type Queues } from './queue/queues.js';
import { createIdempotencyStore } from './store/idempotency.js';
import { makeKeys, type Keys } from './store/keys.js';
import { createTicketStore } from './store/ticket-store.js';
import { createDeadLetters } from './webhooks/dead-letters.js';
import { loadWebhookSettings, resolveWebhookTargets } from './webhooks/settings.js';

export const WORKER_ROLES = ['intake', 'events', 'sla', 'relay', 'webhook'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

const HEARTBEAT_MS = 5000;
const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_MS;

export interface RuntimeOptions {
  config: Config;
  redisUrl: string;
  topology: Topology;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface Runtime {
  config: Config;
  keys: Keys;
  engine: Engine;
  queues: Queues;
  principals: PrincipalResolver;
  redis: RedisClient;
  startWorkers(roles: readonly WorkerRole[]): Promise<void>;
  buildApp(): Promise<App>;
  close(): Promise<void>;
}

/** Wires one Lotse process: connections, store, engine, and the workers and API it was asked to run. */
export async function createRuntime(o: RuntimeOptions): Promise<Runtime> {
  const { config, topology, logger } = o;
  const now = o.now ?? Date.now;
  const keys = makeKeys(config.prefix);
  // Before any connection opens: a missing key variable must not leave one behind.
  const principals = createPrincipalResolver(topology, o.env ?? process.env, { loopback: isLoopback(config.host) });
  const webhookTargets = resolveWebhookTargets(topology, o.env ?? process.env);
  const webhookSettings = loadWebhookSettings(o.env ?? process.env);
  const redis = createRedis(o.redisUrl, 'producer', `${config.prefix}-store`);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  await connected(redis);
  const workerConnection = createRedis(o.redisUrl, 'worker', `${config.prefix}-worker`);
  workerConnection.on('error', (err) => logger.warn({ err: err.message }, 'redis worker connection error'));
  const engine = createEngine({
    topology,
    store: createTicketStore(redis, keys),
    idempotency: createIdempotencyStore(redis, keys),
    keys,
    now,
    newId: newTicketId,
    source: `urn:lotse:${config.prefix}`,
    logger,
  });
  const queues = createQueues(redis, config.prefix, logger);
  const deadLetters = createDeadLetters({ redis, keys, queues, attempts: webhookSettings.attempts });
  const workers: Worker[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const roles = new Set<WorkerRole>();
  const instance = `${hostname()}:${process.pid}`;
  let heartbeat: NodeJS.Timeout | undefined;

  async function beat() {
    if (roles.size === 0) return;
    const at = Date.now();
    await redis.zadd(keys.heartbeat, ...[...roles].flatMap((r) => [at, `${r}@${instance}`])).catch(() => undefined);
  }

  const workerDeps = { connection: workerConnection, prefix: config.prefix, logger };
  const starters: Record<WorkerRole, () => void> = {
    intake: () => workers.push(createIntakeWorker({ ...workerDeps, engine, principals }, config.concurrency)),
    events: () => workers.push(createEventsWorker({ ...workerDeps, engine, principals }, config.concurrency)),
    sla: () => workers.push(createSlaWorker({ ...workerDeps, engine }, config.concurrency)),
    webhook: () => workers.push(createWebhookWorker({ ...workerDeps, targets: webhookTargets, deadLetters, settings: webhookSettings, now }, config.concurrency)),
    relay: () => {
      const relayRedis = createRedis(o.redisUrl, 'worker', `${config.prefix}-relay`);
      relayRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis relay connection error'));
      const relay = createOutboxRelay({
        redis: relayRedis,
        keys,
        executors: createExecutors(queues, now, { has: (orgId) => webhookTargets.has(orgId), attempts: webhookSettings.attempts }),
        logger: logger.child({ role: 'relay' }),
        consumer: instance,
        claimIdleMs: config.relayClaimIdleMs,
        eventsMaxLen: config.eventsMaxLen,
      });
      relay.start();
      stoppers.push(async () => {
        await relay.stop();
        relayRedis.disconnect();
      });
    },
  };

  const readiness: ReadinessCheck[] = [
    { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    {
      name: 'workers',
      check: async () => {
        const live = await redis.zrangebyscore(keys.heartbeat, Date.now() - HEARTBEAT_STALE_MS, '+inf');
        const liveRoles = new Set(live.map((m) => m.split('@')[0]));
        // Webhook workers are needed only where some organisation has a webhook.
        return WORKER_ROLES.every((r) => liveRoles.has(r) || (r === 'webhook' && webhookTargets.size === 0));
      },
    },
  ];

  return {
    config,
    keys,
    engine,
    queues,
    principals,
    redis,
    async startWorkers(wanted) {
      for (const role of wanted) {
        if (roles.has(role)) continue;
        starters[role]();
        roles.add(role);
      }
      await beat();
      heartbeat ??= setInterval(() => void beat(), HEARTBEAT_MS).unref();
    },
    buildApp: () =>
      buildApp({
        engine,
        principals,
        logger,
        readiness,
        plugins: [
          async (app) => {
            await app.register(deadLetterRoutes(deadLetters));
          },
        ],
      }),
    async close() {
      if (heartbeat) clearInterval(heartbeat);
      await redis.zrem(keys.heartbeat, ...[...roles].map((r) => `${r}@${instance}`)).catch(() => undefined);
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      await Promise.race([Promise.all([...workers.map((w) => w.close()), ...stoppers.map((s) => s())]), deadline]);
      await queues.close();
      workerConnection.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
