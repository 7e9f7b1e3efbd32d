import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, newPrefix, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { callAs, spawnLotse, type LotseProcess } from '../helpers/process.js';

describe.each([
  { route: 'the events queue', overHttp: false },
  { route: 'HTTP (--api)', overHttp: true },
])('provider-sim answering over $route', ({ overHttp }) => {
  let lotse: LotseProcess;
  let sim: LotseProcess;
  let url: string;
  let redis: Redis;
  const prefix = newPrefix('e2e');

  beforeAll(async () => {
    redis = new Redis(redisUrl());
    const env = { REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix };
    lotse = spawnLotse(['start'], env);
    url = await lotse.url();
    sim = spawnLotse(['provider-sim', '--org', 'dataport', '--seed', '7', '--delay', '400', '--info-chance', '0.5', ...(overHttp ? ['--api', url] : [])], env);
    await sim.waitForLog((l) => l.msg === 'provider-sim running');
  });

  afterAll(async () => {
    await Promise.all([sim.kill(), lotse.kill()]);
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  const call = (orgId: string, method: string, path: string, body?: unknown) => callAs(url, orgId, method, path, body);

  type Entry = { type: string; actor: { orgId?: string }; from: string; to: string };
  const historyOf = async (id: string) => (await call('ops-bremen', 'GET', `/v1/tickets/${id}/history`)).body.items as Entry[];

  it('the simulated provider takes a handoff with a receipt and later hands the ticket on', async () => {
    const created = await call('desk-BY', 'POST', '/v1/tickets', ticketBody({ service: 'uvo', reporter: { name: 'Erika Mustermann' } }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await call('desk-BY', 'POST', `/v1/tickets/${id}/events`, { type: 'ACCEPT' })).status).toBe(200);
    const escalated = await call('desk-BY', 'POST', `/v1/tickets/${id}/events`, { type: 'ESCALATE', reason: 'Fehler 500' });
    expect(escalated.body).toMatchObject({ status: 'handoff-pending', assignee: 'dataport' });

    const receipt = await waitFor(async () => (await historyOf(id)).find((e) => e.type === 'ACCEPT' && e.actor.orgId === 'dataport'), { timeoutMs: 20_000, what: "the sim's receipt" });
    expect(receipt).toMatchObject({ from: 'level2.handoffPending', to: 'level2.open' });

    const done = await waitFor(
      async () => (await historyOf(id)).find((e) => ['RESOLVE', 'ESCALATE', 'RETURN'].includes(e.type) && e.actor.orgId === 'dataport'),
      { timeoutMs: 20_000, what: 'the sim to hand the ticket on' },
    );
    const after = (await call('ops-bremen', 'GET', `/v1/tickets/${id}`)).body;
    expect(after.assignee).not.toBe('dataport');
    expect({ RESOLVE: 'resolved', ESCALATE: 'handoff-pending', RETURN: 'open' }[done.type]).toBe(after.status);
    // The sim logs an answer once it is sent; Lotse may apply it before that line reaches us.
    await sim.waitForLog((l) => l.msg === 'handoff taken' && l.ticketId === id);
    await sim.waitForLog((l) => l.msg === 'ticket answered' && l.ticketId === id);
    // Over HTTP no answer becomes a job on the events queue; on the queue every one does.
    const events = new Queue('events', { connection: { url: redisUrl() }, prefix });
    try {
      const counts = await events.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed');
      const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
      if (overHttp) expect(jobs).toBe(0);
      else expect(jobs).toBeGreaterThanOrEqual(2);
    } finally {
      await events.close();
    }
  });

  it('both processes exit 0 on SIGTERM', async () => {
    const [s, l] = await Promise.all([sim.stop(), lotse.stop()]);
    expect(s.code).toBe(0);
    expect(l.code).toBe(0);
  });
});
