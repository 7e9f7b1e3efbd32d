/**
 * The house's import direction: the layer table in
 * eslint.config.js and the Redis-client rule catch each arrow that runs back
 * up. Small snippets are linted at virtual paths with the repository's own
 * config through ESLint's Node API; without the rules every "forbidden" case
 * here fails.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.js') });
const RULE = '@typescript-eslint/no-restricted-imports';
const REDIS = 'speak to Redis';

/** The messages of the import rule for `code` placed at `filePath` (relative to the repository). */
async function restrictions(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  expect(result!.messages.filter((m) => m.fatal)).toEqual([]);
  return result!.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

const typeImport = (name: string, from: string) => `import type { ${name} } from '${from}';\nexport type Used = ${name};\n`;
const valueImport = (name: string, from: string) => `import { ${name} } from '${from}';\nexport const used = ${name};\n`;

describe('layering lint', () => {
  // [file, code, what the error must say]
  const forbidden: [string, string, string][] = [
    // Only the store, the queue, the provider kit and the process wiring hold the Redis client.
    ['src/engine/x.ts', valueImport('Redis', 'ioredis'), REDIS],
    ['src/engine/x.ts', typeImport('RedisClient', '../store/redis-client.js'), REDIS],
    ['src/engine/x.ts', typeImport('RedisClient', '../queue/connections.js'), REDIS],
    ['src/engine/ticket/x.ts', typeImport('RedisClient', '../../store/redis-client.js'), REDIS],
    ['src/dashboard/x.ts', typeImport('RedisClient', '../store/redis-client.js'), REDIS],
    ['src/webhooks/x.ts', typeImport('Cluster', 'ioredis'), REDIS],
    ['src/http/routes/x.ts', typeImport('RedisClient', '../../store/redis-client.js'), REDIS],
    ['src/metrics/x.ts', typeImport('RedisClient', '../queue/connections.js'), REDIS],
    ['workers/x.worker.ts', valueImport('Redis', 'ioredis'), REDIS],
    ['src/demo/x.ts', valueImport('Redis', 'ioredis'), REDIS],
    // HTTP imports nothing of the dashboard: the dashboard mounts itself.
    ['src/http/x.ts', valueImport('dashboardRoutes', '../dashboard/routes.js'), 'http (rank 9) must not import dashboard'],
    ['src/http/routes/x.ts', typeImport('StatsReader', '../../dashboard/stats-reader.js'), 'http (rank 9) must not import dashboard'],
    // The domain is the bottom: nothing of machines/ or any layer above.
    ['src/domain/x.ts', typeImport('TicketMachine', '../../machines/ticket.machine.js'), 'domain (rank 0) must not import machines'],
    ['src/domain/x.ts', typeImport('Config', '../config/env.js'), 'domain (rank 0) must not import config'],
    ['src/domain/x.ts', valueImport('readFileSync', 'node:fs'), 'domain stays pure'],
    // The machines are the engine's and import only xstate, zod and the domain.
    ['src/queue/x.ts', typeImport('BacklogMachine', '../../machines/backlog.machine.js'), 'queue (rank 4) must not import machines'],
    ['machines/x.ts', typeImport('Keys', '../src/store/keys.js'), 'machines (rank 6) must not import store: it imports only domain'],
    ['machines/x.ts', typeImport('Backoff', '../src/webhooks/backoff.js'), 'machines (rank 6) must not import webhooks'],
    ['machines/x.ts', valueImport('pino', 'pino'), 'machines/ import only xstate, zod and src/domain'],
    // The store sits below the queue: no cycle.
    ['src/store/x.ts', typeImport('RedisClient', '../queue/connections.js'), 'store (rank 3) must not import queue'],
    ['src/store/x.ts', valueImport('QUEUE', '../queue/names.js'), 'store (rank 3) must not import queue'],
    // A few more arrows back up.
    ['src/engine/x.ts', typeImport('App', '../http/app.js'), 'engine (rank 7) must not import http'],
    ['src/webhooks/x.ts', typeImport('TicketEngine', '../engine/ticket/index.js'), 'webhooks (rank 5) must not import engine'],
    ['src/config/x.ts', typeImport('Keys', '../store/keys.js'), 'config (rank 2) must not import store'],
    ['workers/x.worker.ts', valueImport('createRuntime', '../src/runtime.js'), 'workers (rank 11) must not import wiring'],
    ['src/runtime.ts', valueImport('runDemo', './demo/index.js'), 'wiring (rank 12) must not import demo'],
    ['src/metrics/x.ts', typeImport('Handoff', '../provider/events.js'), 'metrics (rank 8) must not import provider'],
    // Workers and HTTP change tickets through the engine.
    ['src/http/x.ts', valueImport('createTicketStore', '../store/ticket-store.js'), 'write through src/engine'],
    // No file is exempt: the backlog feed, deep in the engine, keeps its layer's direction too.
    ['src/engine/backlog/feed.ts', typeImport('App', '../http/app.js'), 'engine (rank 7) must not import http'],
  ];

  it.each(forbidden)('%s: forbids %s', async (file, code, says) => {
    const messages = await restrictions(file, code);
    expect(messages.some((m) => m.includes(says)), messages.join('\n') || 'no error').toBe(true);
  });

  const allowed: [string, string][] = [
    ['src/engine/x.ts', typeImport('TicketMachine', '../../machines/ticket.machine.js')],
    ['src/engine/x.ts', typeImport('Keys', '../store/keys.js')],
    ['src/engine/x.ts', typeImport('Queues', '../queue/queues.js')],
    ['src/engine/ticket/x.ts', typeImport('Keys', '../../store/keys.js')],
    ['src/queue/x.ts', typeImport('RedisClient', '../store/redis-client.js')],
    ['src/queue/x.ts', valueImport('Redis', 'ioredis')],
    ['src/store/x.ts', valueImport('Redis', 'ioredis')],
    ['src/provider/x.ts', valueImport('Redis', 'ioredis')],
    ['src/runtime.ts', typeImport('RedisClient', './queue/connections.js')],
    ['src/runtime.ts', valueImport('dashboardRoutes', './dashboard/routes.js')],
    ['src/cli.ts', valueImport('Redis', 'ioredis')],
    ['src/embedded-redis.ts', valueImport('Redis', 'ioredis')],
    ['src/dashboard/x.ts', valueImport('sendProblem', '../http/problem.js')],
    ['src/http/routes/x.ts', typeImport('TicketEngine', '../../engine/ticket/index.js')],
    ['machines/x.ts', valueImport('setup', 'xstate')],
    ['machines/x.ts', valueImport('z', 'zod')],
    ['machines/x.ts', typeImport('LandCode', '../src/domain/ids.js')],
    ['src/domain/x.ts', valueImport('z', 'zod')],
    ['workers/x.worker.ts', typeImport('TicketEngine', '../src/engine/ticket/index.js')],
  ];

  it.each(allowed)('%s: allows %s', async (file, code) => {
    expect(await restrictions(file, code)).toEqual([]);
  });

  const sources = ['src', 'workers', 'machines'].flatMap((dir) =>
    (readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => relative(root, join(root, dir, f)).split('\\').join('/')),
  );

  async function patternsOf(file: string): Promise<{ message: string }[] | undefined> {
    const config = (await eslint.calculateConfigForFile(join(root, file))) as Linter.Config;
    const entry = config.rules?.[RULE] as [unknown, { patterns: { message: string }[] }] | undefined;
    return entry?.[1]?.patterns;
  }

  it('puts every source file in a layer of the table', async () => {
    const outside: string[] = [];
    // The top layer (src/cli.ts) may import everything: its list is empty, but there.
    for (const file of sources) if (!(await patternsOf(file))) outside.push(file);
    expect(outside).toEqual([]);
  });

  it('holds every file outside the Redis rooms to the Redis client rule', async () => {
    // Everything outside the store, the queue, the provider kit and the process wiring is held to the rule.
    const mayHoldClient = (f: string) =>
      /^src\/(store|queue|provider)\//.test(f) || ['src/runtime.ts', 'src/cli.ts', 'src/embedded-redis.ts', 'src/redis-check.ts'].includes(f);
    const exempt: string[] = [];
    for (const file of sources) {
      if (mayHoldClient(file)) continue;
      if (!(await patternsOf(file))?.some((p) => p.message.includes(REDIS))) exempt.push(file);
    }
    expect(exempt).toEqual([]);
  });
});
