import { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { parseClusterUrl } from '../../src/config/redis-url.js';
import { LAND_CODES } from '../../src/domain/ids.js';
import type { App } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { startRedisCluster, type LocalCluster } from '../helpers/redis-cluster.js';
import { bearer, defaultTopology, ticketBody } from '../helpers/harness.js';

/**
 * Partitions (LOTSE_PARTITIONS=3) on a real three-master Redis Cluster: each
 * partition's prefix on a master of its own, and creations in every Land at
 * once. The store's connection pipelines commands issued in the same tick;
 * the commit script's first argument is its key count, so ioredis once
 * grouped commits of different partitions into one pipeline, which the
 * cluster client refuses whole (found by `BENCH_ONLY=partitions npm run bench`).
 */
const PREFIX = '{lp}';
let cluster: LocalCluster;
let admin: Cluster;
let runtime: Runtime;
let app: App;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  admin = new Cluster(parseClusterUrl(cluster.url)!.nodes);
  runtime = await createRuntime({
    config: loadConfig({ LOTSE_PREFIX: PREFIX, LOTSE_PARTITIONS: '3' }),
    redisUrl: cluster.url,
    topology: defaultTopology,
    logger: createLogger('silent'),
    env: {},
  });
  app = await runtime.buildApp();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await runtime?.close();
  admin?.disconnect();
  await cluster?.stop();
});

it('puts each of three partitions on a master of its own', async () => {
  const ranges = await admin.cluster('SLOTS');
  const masterOf = async (prefix: string) => {
    const slot = Number(await admin.cluster('KEYSLOT', `${prefix}:x`));
    return ranges.find(([start, end]) => slot >= start && slot <= end)?.[2]?.[1];
  };
  const masters = await Promise.all(runtime.layout.prefixes.map(masterOf));
  expect(new Set(masters).size).toBe(3);
});

it('creates tickets in all sixteen Länder at once, each in its Land\'s partition', async () => {
  const answers = await Promise.all(LAND_CODES.map((land) => app.inject({
    method: 'POST', url: '/v1/tickets', headers: bearer(`desk-${land}`), payload: ticketBody({ land, externalRef: `lp-${land}` }),
  })));
  const made: string[] = [];
  for (const [i, res] of answers.entries()) {
    expect(res.statusCode, `${LAND_CODES[i]}: ${res.body}`).toBe(201);
    const p = runtime.layout.ofLand(LAND_CODES[i]!);
    made.push(res.json<{ id: string }>().id);
    expect(runtime.layout.ofId(made.at(-1)!)).toBe(p);
  }
  // Read back at once across the partitions (the listing script, too, takes a varying number of keys): one page merges all three.
  const list = await app.inject({ method: 'GET', url: '/v1/tickets?limit=50', headers: bearer('ops-bremen') });
  expect(list.statusCode, list.body).toBe(200);
  expect(list.json<{ items: { id: string }[] }>().items.map((t) => t.id).sort()).toEqual([...made].sort());
});
