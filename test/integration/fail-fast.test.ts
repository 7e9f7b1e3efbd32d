import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { startRedisServer, type RedisServer } from '../../src/embedded-redis.js';
import type { App } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { createRedis } from '../../src/queue/connections.js';
import { makeWorker } from '../../workers/worker-kit.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { bearer, defaultTopology, newPrefix, ticketBody, waitFor } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

/**
 * A Redis of its own, frozen with SIGSTOP (the TCP connection stays open and
 * nothing answers: the case that hangs a client without a command timeout),
 * then thawed with SIGCONT.
 */
let server: RedisServer;
let runtime: Runtime;
let app: App;
const prefix = newPrefix('ff');
const desk = bearer('desk-BY');

beforeAll(async () => {
  server = await startRedisServer();
  runtime = await createRuntime({
    config: loadConfig({ LOTSE_PREFIX: prefix, LOTSE_RELAY_CLAIM_IDLE_MS: '300', LOTSE_REDIS_COMMAND_TIMEOUT_MS: '500' }),
    redisUrl: server.url,
    topology: defaultTopology,
    logger: createLogger('silent'),
    env: {},
  });
  await runtime.startWorkers(['intake', 'events', 'sla', 'relay', 'backlog']);
  app = await runtime.buildApp();
});

afterAll(async () => {
  if (server.process.exitCode === null) server.process.kill('SIGCONT');
  await app?.close();
  await runtime?.close();
  await server?.stop();
});

const freeze = () => server.process.kill('SIGSTOP');
const thaw = () => server.process.kill('SIGCONT');

describe('a frozen Redis', () => {
  it('API requests answer 503 with Retry-After instead of hanging; /readyz 503; all works again once Redis answers', { timeout: 60_000 }, async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: desk, payload: ticketBody() });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;

    freeze();
    try {
      const read = await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: desk });
      expect(expectProblem(read, 503).type).toMatch(/store-unavailable$/);
      expect(read.headers['retry-after']).toMatch(/^\d+$/);
      const create = await app.inject({ method: 'POST', url: '/v1/tickets', headers: desk, payload: ticketBody() });
      expect(expectProblem(create, 503).type).toMatch(/store-unavailable$/);
      expect(create.headers['retry-after']).toMatch(/^\d+$/);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(expectProblem(ready, 503).checks).toMatchObject({ redis: 'failing' });
      // Liveness does not depend on Redis.
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      thaw();
    }

    await waitFor(async () => (await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: desk })).statusCode === 200, { what: 'reads after the thaw' });
    const after = await app.inject({ method: 'POST', url: '/v1/tickets', headers: desk, payload: ticketBody() });
    expect(after.statusCode, after.body).toBe(201);
  });

  it('a worker whose store command times out waits for Redis and runs the job again, without using an attempt', { timeout: 60_000 }, async () => {
    const store = createRedis(server.url, 'producer', `${prefix}-probe-store`, { commandTimeoutMs: 300 });
    const workerConnection = createRedis(server.url, 'worker', `${prefix}-probe-worker`);
    const queue = new Queue('probe', { connection: workerConnection, prefix });
    const events = new QueueEvents('probe', { connection: { url: server.url }, prefix });
    let runs = 0;
    let timedOut!: () => void;
    const sawTimeout = new Promise<void>((resolve) => (timedOut = resolve));
    const worker = makeWorker<unknown, string>(
      'probe',
      async () => {
        runs++;
        if (runs === 1) {
          freeze();
          await store.get(`${prefix}:probe`).catch((err: unknown) => {
            timedOut();
            throw err;
          });
        }
        return `done after ${runs} runs`;
      },
      { connection: workerConnection, prefix, logger: createLogger('silent') },
    );
    try {
      await events.waitUntilReady();
      const job = await queue.add('probe', {}, { jobId: 'probe-1', attempts: 1 });
      await sawTimeout;
      thaw();
      expect(await job.waitUntilFinished(events, 30_000)).toBe('done after 2 runs');
      const done = await queue.getJob('probe-1');
      expect(await done!.getState()).toBe('completed');
    } finally {
      thaw();
      await worker.close();
      await events.close();
      await queue.close();
      store.disconnect();
      workerConnection.disconnect();
    }
  });
});
