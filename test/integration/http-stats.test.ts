import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TicketView } from '../../src/domain/ticket.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, defaultTopology, dev, ticketBody, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

let h: Harness;
let app: App;

function steppingClock() {
  let t = Date.now();
  const now = () => (t += 1000);
  now.jumpTo = (at: number) => void (t = Math.max(t, at));
  return now;
}
const clock = steppingClock();

async function create(orgId: string, overrides: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function send(orgId: string, id: string, event: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer(orgId), payload: event });
  expect(res.statusCode, res.body).toBe(200);
}

async function fireTimer(id: string, expected: string) {
  const timer = (await h.runtime.engine.getTicket(dev('ops-bremen'), id)).state.context.timer!;
  clock.jumpTo(timer.at);
  expect(await h.runtime.engine.fireTimer(id, timer.epoch)).toEqual({ applied: true, event: expected });
}

/** Every ticket a list query lists, page by page. */
async function listAll(url: string): Promise<TicketView[]> {
  const items: TicketView[] = [];
  let cursor: string | null = '';
  for (let pages = 0; cursor !== null; pages++) {
    expect(pages).toBeLessThan(50);
    const sep = url.includes('?') ? '&' : '?';
    const res = await app.inject({ method: 'GET', url: `${url}${sep}limit=200${cursor ? `&cursor=${cursor}` : ''}`, headers: bearer('ops-bremen') });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    const page = res.json() as { items: TicketView[]; next: string | null };
    items.push(...page.items);
    cursor = page.next;
  }
  return items;
}

type Stats = {
  tickets: Record<string, Record<string, { count: number; list: string }>>;
  queues: Record<string, Record<string, number> & { list: string }>;
  deadLetters: { count: number; list: string };
};

beforeAll(async () => {
  h = await createHarness({ now: clock });
  app = await h.app();
  // A spread of Länder, services, levels, statuses and clocks.
  const by: string[] = [];
  const hb: string[] = [];
  for (let i = 0; i < 6; i++) {
    by.push(await create('desk-BY', { service: 'uvo', land: 'BY', impact: i % 2 ? 'high' : 'low', urgency: 'medium' }));
    hb.push(await create('desk-HB', { service: 'elfe', land: 'HB' }));
  }
  const nw = [await create('desk-NW', { service: 'ehe', land: 'NW' }), await create('desk-NW', { service: 'ehe', land: 'NW' })];
  await create('ops-bremen', { service: 'vms', land: 'SH' });
  for (const id of by.slice(0, 2)) await send('desk-BY', id, { type: 'ESCALATE', reason: 'Fehler im Verfahren' });
  for (const id of hb.slice(0, 3)) await send('desk-HB', id, { type: 'ACCEPT' });
  await send('desk-HB', hb[0]!, { type: 'RESOLVE', resolution: 'erledigt' });
  await send('desk-HB', hb[1]!, { type: 'REQUEST_INFO', question: 'Welche Antragsnummer?' });
  await fireTimer(nw[0]!, 'SLA_WARNING');
  await fireTimer(nw[1]!, 'SLA_WARNING');
  await fireTimer(nw[1]!, 'SLA_BREACHED');
});

afterAll(async () => {
  await h.close();
});

describe('GET /v1/stats', () => {
  it('every count equals the length of the list it links to', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('ops-bremen') });
    expect(res.statusCode, res.body).toBe(200);
    const stats = res.json() as Stats;
    let nonZero = 0;
    for (const [group, counts] of Object.entries(stats.tickets)) {
      for (const [key, c] of Object.entries(counts)) {
        const listed = await listAll(c.list);
        expect(listed.length, `${group}/${key} → ${c.list}`).toBe(c.count);
        if (c.count > 0) nonZero++;
      }
    }
    expect(nonZero).toBeGreaterThan(15);
    expect(stats.tickets.status!.waiting!.count).toBe(1);
    expect(stats.tickets.total!.all!.count).toBe(15);
    expect(stats.tickets.total!.active!.count).toBe(14);
    expect(stats.tickets.land!.HB).toEqual({ count: 5, list: '/v1/tickets?active=true&land=HB' });
    expect(stats.tickets.sla!['at-risk']!.count).toBe(1);
    expect(stats.tickets.sla!.breached!.count).toBe(1);
    expect(stats.tickets.status!['handoff-pending']!.count).toBe(2);
  });

  it('names every Land, status, level, priority, organisation and service of the topology', async () => {
    const stats = (await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('ops-bremen') })).json() as Stats;
    expect(Object.keys(stats.tickets.land!)).toHaveLength(16);
    expect(Object.keys(stats.tickets.status!)).toEqual(['new', 'open', 'waiting', 'handoff-pending', 'resolved', 'closed']);
    expect(Object.keys(stats.tickets.level!)).toEqual(['1', '2', '3']);
    expect(Object.keys(stats.tickets.priority!)).toEqual(['P1', 'P2', 'P3', 'P4']);
    expect(Object.keys(stats.tickets.assignee!)).toHaveLength(defaultTopology.orgs.size);
    expect(Object.keys(stats.tickets.service!)).toEqual([...defaultTopology.services.keys()]);
  });

  it('counts the jobs of every Lotse queue, the handoff queues included, and the dead letters', async () => {
    const stats = (await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('ops-bremen') })).json() as Stats;
    const handoffOrgs = [...defaultTopology.orgs.values()].filter((o) => o.kind === 'it-provider' || o.kind === 'vendor-support').map((o) => `handoff-${o.id}`);
    expect(Object.keys(stats.queues).sort()).toEqual(['backlog', 'events', 'connector', 'intake', 'mail', 'retention', 'sla', 'webhook', ...handoffOrgs].sort());
    // No relay runs here: the armed timers wait in the outbox, nothing is on a queue yet.
    expect(stats.queues.sla).toMatchObject({ waiting: 0, delayed: 0, list: '/admin/queues/queue/sla' });
    expect(stats.deadLetters).toEqual({ count: 0, list: '/v1/dead-letters' });
  });

  it('steering may read it; desks and providers may not; without a key 401', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('steuerungskreis') })).statusCode).toBe(200);
    expectProblem(await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('desk-HB') }), 403);
    expectProblem(await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('dataport') }), 403);
    expectProblem(await app.inject({ method: 'GET', url: '/v1/stats' }), 401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs' })).json() as { paths: Record<string, unknown> };
    expect(doc.paths['/v1/stats']).toBeDefined();
    expect(doc.paths['/v1/stream']).toBeDefined();
  });
});
