import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import { bearer, harnessPerTest, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const open = harnessPerTest();

function topologyWithMaxEvents(maxEvents: number) {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.tickets = { ...base.tickets, maxEvents };
  return parseTopology(base, 'limits');
}

describe('a ticket takes a bounded number of events', () => {
  it('refuses the event past tickets.maxEvents with a 422 naming the limit, and changes nothing', async () => {
    const h = await open({ topology: topologyWithMaxEvents(10) });
    const app = await h.app();
    const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-HB'), payload: ticketBody({ land: 'HB', service: 'elfe' }) });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const send = (type: string) => app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer('desk-HB'), payload: { type } });
    expect((await send('ACCEPT')).statusCode).toBe(200);
    for (let v = 3; v <= 10; v++) expect((await send(v % 2 === 1 ? 'REQUEST_INFO' : 'INFO_RECEIVED')).statusCode).toBe(200);

    const refused = expectProblem(await send('INFO_RECEIVED'), 422, /limit-reached/);
    expect(refused).toMatchObject({ limit: 'maxEvents', max: 10 });
    const ticket = await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: bearer('desk-HB') });
    expect(ticket.json()).toMatchObject({ version: 10 });
    const history = await app.inject({ method: 'GET', url: `/v1/tickets/${id}/history`, headers: bearer('desk-HB') });
    expect(history.json().items).toHaveLength(10);
  });

  it('rejects a topology whose limit is out of range, naming the field', () => {
    expect(() => topologyWithMaxEvents(1)).toThrow(/tickets\.maxEvents/);
  });

  it('hands a long-lived ticket to its provider with an excerpt of its history, not all of it', async () => {
    const h = await open({ roles: ['relay'] });
    const app = await h.app();
    const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-HB'), payload: ticketBody({ land: 'HB', service: 'elfe', category: 'technical' }) });
    const id = created.json().id as string;
    const send = (type: string, extra: Record<string, unknown> = {}) => app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer('desk-HB'), payload: { type, ...extra } });
    expect((await send('ACCEPT')).statusCode).toBe(200);
    for (let i = 0; i < 30; i++) expect((await send(i % 2 === 0 ? 'REQUEST_INFO' : 'INFO_RECEIVED')).statusCode).toBe(200);
    expect((await send('ESCALATE', { reason: 'technisch' })).statusCode).toBe(200);

    const handoffs = new Queue('handoff-dataport', { connection: { url: redisUrl() }, prefix: h.prefix });
    try {
      const [job] = await waitFor(async () => {
        const jobs = await handoffs.getJobs(['waiting']);
        return jobs.length > 0 ? jobs : false;
      }, { what: 'the handoff job' });
      const data = job!.data.data as { history: { version: number }[]; historyTotal: number; historyUrl: string };
      expect(data.historyTotal).toBe(33);
      expect(data.history).toHaveLength(20);
      expect(data.history.map((e) => e.version)).toEqual(Array.from({ length: 20 }, (_, i) => 14 + i));
      expect(data.historyUrl).toBe(`/v1/tickets/${id}/history`);
    } finally {
      await handoffs.close();
    }
  });
});
