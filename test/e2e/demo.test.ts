import { createServer } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { loadTopology } from '../../src/config/topology-file.js';
import { freePort, startRedisServer, type RedisServer } from '../../src/embedded-redis.js';
import { receivesHandoffs } from '../../src/domain/routing.js';
import { newPrefix, waitFor } from '../helpers/harness.js';
import { callAs, spawnLotse, type LotseProcess } from '../helpers/process.js';

const topology = loadTopology(undefined);
const providers = new Set([...topology.orgs.values()].filter((o) => receivesHandoffs(o.kind)).map((o) => o.id));
const PROGRESS = /\d+ Tickets angelegt · \d+ offen · \d+ gelöst · \d+ SLA-Verstöße · \d+ Übergaben \(\d+ beantwortet\)/;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A Redis of the test's own: the demo's load stays off the shared one, and what is left connected is plain to see. */
async function privateRedis(): Promise<{ server: RedisServer; admin: Redis }> {
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  cleanup.push(async () => {
    admin.disconnect();
    await server.stop();
  });
  return { server, admin };
}

function spawn(args: string[], env: Record<string, string>): LotseProcess {
  const p = spawnLotse(args, { LOG_LEVEL: 'warn', ...env });
  cleanup.push(() => p.kill());
  return p;
}

const rawLines = (p: LotseProcess) => p.logs.map((l) => (typeof l.raw === 'string' ? l.raw : '')).filter(Boolean);
const line = (p: LotseProcess, match: RegExp) => p.waitForLog((l) => typeof l.raw === 'string' && match.test(l.raw), 30_000);

type Ticket = { id: string; land: string; handledBy: string[] };
type Entry = { type: string; actor: { orgId?: string } };

/** Tickets from at least five Länder, and one a provider took with a receipt and then answered: read over the API as operations. */
async function waitForTraffic(url: string) {
  const lands = await waitFor(
    async () => {
      const { body } = await callAs(url, 'ops-bremen', 'GET', '/v1/tickets?limit=200');
      const seen = new Set((body.items as Ticket[]).map((t) => t.land));
      return seen.size >= 5 && seen;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'tickets from five Länder' },
  );
  const answered = await waitFor(
    async () => {
      const { body } = await callAs(url, 'ops-bremen', 'GET', '/v1/tickets?limit=200');
      for (const t of (body.items as Ticket[]).filter((t) => t.handledBy.some((o) => providers.has(o))).slice(0, 30)) {
        const history = (await callAs(url, 'ops-bremen', 'GET', `/v1/tickets/${t.id}/history`)).body.items as Entry[];
        const byProvider = history.filter((e) => e.actor.orgId !== undefined && providers.has(e.actor.orgId));
        const receipt = byProvider.find((e) => e.type === 'ACCEPT');
        const answer = byProvider.find((e) => ['RESOLVE', 'ESCALATE', 'RETURN'].includes(e.type));
        if (receipt && answer) return { ticket: t.id, provider: answer.actor.orgId!, answer: answer.type };
      }
      return undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'a handoff answered by a provider simulator' },
  );
  return { lands, answered };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const clients = async (admin: Redis) => ((await admin.client('LIST')) as string).trim().split('\n').filter((l) => !/name=test-admin/.test(l));

it('lotse demo runs an embedded Lotse with desks in the Länder and the providers answering, shows its progress, and stops cleanly on Ctrl-C', async () => {
  const { server, admin } = await privateRedis();
  await admin.client('SETNAME', 'test-admin');
  const port = await freePort();
  const prefix = newPrefix('demo');
  const demo = spawn(['demo', '--speed', '600', '--seed', '1', '--max-open', '150'], { REDIS_URL: server.url, LOTSE_PREFIX: prefix, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;

  await line(demo, new RegExp(`^Dashboard: ${url}/dashboard$`));
  await line(demo, /^Anmelden mit dem Schlüssel: dev-ops-bremen$/);
  await line(demo, /19 Provider-Simulatoren; Tempo 600×.*Seed 1$/);
  const { lands, answered } = await waitForTraffic(url);
  expect(lands.size).toBeGreaterThanOrEqual(5);
  expect(providers.has(answered.provider)).toBe(true);
  await line(demo, PROGRESS);
  expect((await clients(admin)).length).toBeGreaterThan(0);

  demo.child.kill('SIGINT');
  const exit = await demo.exited;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(rawLines(demo).at(-1)).toMatch(/^Demo beendet: .*Tickets angelegt/);
  // Nothing left running: the port is free and no connection to Redis stays open.
  expect(await portIsFree(port)).toBe(true);
  await waitFor(async () => (await clients(admin)).length === 0, { what: "the demo's Redis connections to close" });
}, 150_000);

it('lotse demo --against drives a running Lotse over HTTP only; the providers answer over HTTP too; Lotse keeps running after the demo stops on SIGTERM', async () => {
  const { server, admin } = await privateRedis();
  await admin.client('SETNAME', 'test-admin');
  const prefix = newPrefix('demo');
  const env = { REDIS_URL: server.url, LOTSE_PREFIX: prefix };
  const lotse = spawn(['start'], { ...env, LOG_LEVEL: 'info' });
  const url = await lotse.url();
  const demo = spawn(['demo', '--against', url, '--speed', '600', '--seed', '2', '--max-open', '100'], env);

  await line(demo, new RegExp(`^Dashboard: ${url}/dashboard$`));
  await line(demo, new RegExp(`^Lotse: ${url} \\(läuft bereits\\)$`));
  await line(demo, /^Anmelden mit dem Schlüssel: dev-ops-bremen$/);
  await waitForTraffic(url);
  await line(demo, PROGRESS);

  // Desks and providers alike went through the API: not one job on the events queue.
  const events = new Queue('events', { connection: { url: server.url }, prefix });
  try {
    const counts = await events.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  } finally {
    await events.close();
  }

  demo.child.kill('SIGTERM');
  expect(await demo.exited).toEqual({ code: 0, signal: null });
  await waitFor(async () => (await clients(admin)).every((l) => !new RegExp(`name=${prefix}-provider-`).test(l)), { what: "the provider simulators' connections to close" });
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const after = await callAs(url, 'ops-bremen', 'GET', '/v1/tickets?limit=1');
  expect((after.body.items as unknown[]).length).toBe(1);
  expect((await lotse.stop()).code).toBe(0);
}, 150_000);

it('lotse demo refuses bad arguments and missing keys with exit code 2, naming what is wrong', async () => {
  const badSpeed = spawn(['demo', '--speed', 'warp'], {});
  // Not a loopback address: no dev keys, and none given; refused before anything is contacted.
  const noKeys = spawn(['demo', '--against', 'http://10.255.255.1:3000'], { LOTSE_DEMO_KEYS: '{"desk-HB": "k"}' });
  const stderr = (p: LotseProcess) => p.logs.map((l) => String(l.stderr ?? '')).join('\n');
  const [a, b] = await Promise.all([badSpeed.exited, noKeys.exited]);
  expect(a.code).toBe(2);
  expect(stderr(badSpeed)).toMatch(/--speed/);
  expect(b.code).toBe(2);
  expect(stderr(noKeys)).toMatch(/LOTSE_DEMO_KEYS: no key for ops-bremen, desk-SH/);
  expect(stderr(noKeys)).not.toMatch(/desk-HB/);
});

/** A session on the board, as an operator logs in. */
async function boardSession(url: string): Promise<string> {
  const res = await fetch(`${url}/dashboard/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=dev-ops-bremen' });
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

type Part = { items: unknown[] };
type Overview = { atRisk: Part; breached: Part; handoffs: Part; deadLetters: Part };
const PANELS = ['atRisk', 'breached', 'handoffs', 'deadLetters'] as const;

it('lotse demo at its default speed fills every attention panel of the board (at risk, breached, handoffs without receipt, dead letters) within two minutes, under its own prefix', async () => {
  const { server, admin } = await privateRedis();
  const port = await freePort();
  // No LOTSE_PREFIX: the demo takes its own.
  const demo = spawn(['demo', '--seed', '7'], { REDIS_URL: server.url, LOTSE_PREFIX: '', PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await line(demo, /Demo-Richtlinie mit kurzen SLA-Fristen, Präfix lotse-demo\)$/);
  await line(demo, /^Absichtlich gestört: Dataport AöR bestätigt Übergaben spät, der Webhook von Support PQ-Portal schlägt fehl$/);
  const cookie = await boardSession(url);
  const seen = new Set<string>();
  // The board's own data source, as the page reads it; each panel counted once it has shown a row.
  await waitFor(
    async () => {
      const res = await fetch(`${url}/dashboard/api/overview`, { headers: { cookie } });
      if (res.status !== 200) return false;
      const body = (await res.json()) as Overview;
      for (const p of PANELS) if (body[p].items.length > 0) seen.add(p);
      return seen.size === PANELS.length;
    },
    { timeoutMs: 120_000, intervalMs: 1000, what: `every attention panel filled (so far: ${[...seen].join(', ') || 'none'})` },
  );
  expect([...seen].sort()).toEqual([...PANELS].sort());
  // Everything it wrote lies under its own prefix.
  const keys = (await admin.keys('*')).filter((k) => !k.startsWith('lotse-demo:'));
  expect(keys).toEqual([]);
  demo.child.kill('SIGINT');
  expect((await demo.exited).code).toBe(0);
}, 200_000);

it('lotse demo --clean removes only the demo prefix\'s keys, and refuses a prefix that does not look like a demo\'s unless --force', async () => {
  const { server, admin } = await privateRedis();
  await admin.mset('lotse-demo:t:1', 'x', 'lotse-demo:bull:intake:1', 'x', 'lotse-demo2:t:1', 'kept', 'lotse:t:1', 'kept', 'other:lotse-demo:x', 'kept');
  await admin.hset('lotse-demo:wh:dead', 'a', '{}');
  // A demo that ran with partitions: their prefixes are named in the registry, and go too.
  await admin.hset('lotse-demo:partitions', '1', 'lotse-demo-p1', 'counts', '2');
  await admin.set('lotse-demo-p1:t:2', 'x');

  const refused = spawn(['demo', '--clean'], { REDIS_URL: server.url, LOTSE_PREFIX: 'lotse' });
  expect((await refused.exited).code).toBe(2);
  expect(refused.logs.map((l) => String(l.stderr ?? '')).join('\n')).toMatch(/the prefix "lotse" does not look like a demo's.*--force/);
  expect(await admin.exists('lotse:t:1')).toBe(1);

  const clean = spawn(['demo', '--clean'], { REDIS_URL: server.url, LOTSE_PREFIX: '' });
  expect((await clean.exited).code).toBe(0);
  expect(rawLines(clean).join('\n')).toMatch(/Demo-Daten entfernt: 5 Schlüssel unter lotse-demo:/);
  expect((await admin.keys('*')).sort()).toEqual(['lotse-demo2:t:1', 'lotse:t:1', 'other:lotse-demo:x']);

  const forced = spawn(['demo', '--clean', '--force'], { REDIS_URL: server.url, LOTSE_PREFIX: 'lotse' });
  expect((await forced.exited).code).toBe(0);
  expect((await admin.keys('*')).sort()).toEqual(['lotse-demo2:t:1', 'other:lotse-demo:x']);
});
