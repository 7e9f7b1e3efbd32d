import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { loadConfig } from '../../src/config/env.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import type { App } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { bearer, createHarness, redisUrl, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const topology = parseTopology(
  { ...(structuredClone(DEFAULT_TOPOLOGY) as TopologyInput), limits: { rate: { desk: { max: 5, windowSeconds: 60 }, provider: { max: 2, windowSeconds: 30 } } } },
  'rate-limit topology',
);

let h: Harness;
let other: Runtime;
let a: App;
let b: App;

beforeEach(async () => {
  h = await createHarness({ topology });
  // A second API process on the same Redis and prefix.
  other = await createRuntime({ config: loadConfig({ LOTSE_PREFIX: h.prefix, LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' }), redisUrl: redisUrl(), topology, logger: createLogger('silent'), env: {} });
  a = await h.app();
  b = await other.buildApp();
});

afterEach(async () => {
  await b.close();
  await other.close();
  await h.close();
});

const list = (app: App, orgId: string) => app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer(orgId) });

describe('rate limits per key, across API processes', () => {
  it('counts one key over both processes, answers 429 with Retry-After and the RateLimit headers, and leaves other keys alone', async () => {
    const remaining: string[] = [];
    for (const app of [a, b, a, b, a]) {
      const res = await list(app, 'desk-BY');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['ratelimit-limit']).toBe('5');
      remaining.push(String(res.headers['ratelimit-remaining']));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);

    const refused = await list(b, 'desk-BY');
    const problem = expectProblem(refused, 429, /rate-limited$/);
    expect(problem.detail).toMatch(/More than 5 requests/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expectProblem(await list(a, 'desk-BY'), 429);

    // Keyed by the principal: another desk, and the same desk's Land's office, have their own counts.
    expect((await list(a, 'desk-HB')).statusCode).toBe(200);
    expect((await list(b, 'fach-BY')).statusCode).toBe(200);
  });

  it('applies each role its own limit from the topology', async () => {
    expect((await list(a, 'dataport')).headers['ratelimit-limit']).toBe('2');
    expect((await list(b, 'dataport')).statusCode).toBe(200);
    const refused = await list(a, 'dataport');
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(30);
    // Operators keep the default.
    expect((await list(a, 'ops-bremen')).headers['ratelimit-limit']).toBe('6000');
  });

  it('does not limit health, readiness or docs, nor count refused keys', async () => {
    for (let i = 0; i < 8; i++) {
      for (const url of ['/healthz', '/readyz', '/docs']) {
        const res = await a.inject({ method: 'GET', url });
        expect(res.statusCode).not.toBe(429);
        expect(res.headers['ratelimit-limit']).toBeUndefined();
      }
      expect((await a.inject({ method: 'GET', url: '/v1/tickets', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    }
    expect((await list(a, 'desk-BY')).headers['ratelimit-remaining']).toBe('4');
  });

  it('keeps its counters bounded: every counter expires with its window', async () => {
    await list(a, 'desk-BY');
    await list(a, 'dataport');
    const keys = await h.redis.keys(`${h.prefix}:ratelimit:*`);
    expect(keys.sort()).toEqual([`${h.prefix}:ratelimit:desk:desk-BY`, `${h.prefix}:ratelimit:provider:dataport`]);
    for (const key of keys) expect(await h.redis.pttl(key)).toBeGreaterThan(0);
  });
});

it('the topology refuses a bad limit, naming its path', () => {
  expect(() =>
    parseTopology({ ...(structuredClone(DEFAULT_TOPOLOGY) as TopologyInput), limits: { rate: { desk: { max: 0, windowSeconds: 60 }, steward: {} } } } as TopologyInput, 'bad'),
  ).toThrow(/limits\.rate\.desk\.max[\s\S]*limits\.rate.*steward|limits\.rate[\s\S]*steward[\s\S]*limits\.rate\.desk\.max/);
});
