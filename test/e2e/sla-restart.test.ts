import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startRedisServer } from '../helpers/find-redis.js';
import { dropPrefix, newPrefix, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { spawnLotse, type LotseProcess } from '../helpers/process.js';
import { fastSlaTopology } from '../helpers/topologies.js';

let dir: string;
let topologyFile: string;
const running: LotseProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-sla-'));
  topologyFile = join(dir, 'topology.json');
  // Long enough to kill and restart everything before the first deadline.
  writeFileSync(topologyFile, JSON.stringify(fastSlaTopology({ firstResponse: 6, resolution: 30, receipt: 30 }).config));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
});

function start(env: Record<string, string>): LotseProcess {
  const p = spawnLotse(['start'], { LOTSE_CONFIG: topologyFile, ...env });
  running.push(p);
  return p;
}

async function createTicket(url: string): Promise<{ id: string; sla: { firstResponseDueAt: string } }> {
  const res = await fetch(`${url}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: 'Bearer dev-desk-BY', 'content-type': 'application/json' },
    body: JSON.stringify(ticketBody()),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; sla: { firstResponseDueAt: string } };
}

async function slaOf(url: string, id: string) {
  const res = await fetch(`${url}/v1/tickets/${id}/sla`, { headers: { authorization: 'Bearer dev-ops-bremen' } });
  return (await res.json()) as { warnings: { clock: string }[]; breaches: { clock: string; at: string; dueAt: string }[] };
}

it('fires timers armed before every Lotse process was killed', async () => {
  const prefix = newPrefix('slak');
  const redis = new Redis(redisUrl());
  try {
    const first = start({ REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix });
    const ticket = await createTicket(await first.url());
    await waitFor(async () => (await redis.zrange(`${prefix}:sla:delayed`, 0, -1)).includes(`timer-${ticket.id}-1`), { what: 'the timer to be armed' });
    await first.kill();

    const second = start({ REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix });
    const url = await second.url();
    const sla = await waitFor(async () => {
      const s = await slaOf(url, ticket.id);
      return s.breaches.length > 0 ? s : null;
    }, { timeoutMs: 20_000, what: 'the breach after the restart' });
    expect(sla.warnings.filter((w) => w.clock === 'firstResponse')).toHaveLength(1);
    expect(sla.breaches).toEqual([expect.objectContaining({ clock: 'firstResponse', dueAt: ticket.sla.firstResponseDueAt })]);
    expect(Date.parse(sla.breaches[0]!.at)).toBeGreaterThanOrEqual(Date.parse(ticket.sla.firstResponseDueAt));
  } finally {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
});

it('fires timers after Redis itself was killed and restarted from its append-only file', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lotse-aof-'));
  let server = await startRedisServer({ dir: dataDir, appendonly: true });
  const port = server.port;
  try {
    const first = start({ REDIS_URL: server.url, LOTSE_PREFIX: 'lotse' });
    const ticket = await createTicket(await first.url());
    const probe = new Redis(server.url);
    await waitFor(async () => (await probe.zrange('lotse:sla:delayed', 0, -1)).includes(`timer-${ticket.id}-1`), { what: 'the timer to be armed' });
    probe.disconnect();
    await first.kill();
    server.process.kill('SIGKILL');
    await new Promise((resolve) => server.process.once('exit', resolve));

    server = await startRedisServer({ dir: dataDir, appendonly: true, port });
    const second = start({ REDIS_URL: server.url, LOTSE_PREFIX: 'lotse' });
    const url = await second.url();
    const sla = await waitFor(async () => {
      const s = await slaOf(url, ticket.id);
      return s.breaches.length > 0 ? s : null;
    }, { timeoutMs: 20_000, what: 'the breach after Redis came back' });
    expect(sla.breaches).toEqual([expect.objectContaining({ clock: 'firstResponse', dueAt: ticket.sla.firstResponseDueAt })]);
    await second.kill();
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
