import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TicketView } from '../../src/domain/ticket.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, dev, ticketBody, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
let app: App;
/** Ids in creation order: the list answers them newest first. */
let created: string[];
let atRisk: string;
let breached: string;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A clock that moves one second per reading, so creation order is also id and time order. */
function steppingClock() {
  let t = Date.now();
  const now = () => (t += 1000);
  /** Time passes up to `at` (never backwards). */
  now.jumpTo = (at: number) => void (t = Math.max(t, at));
  return now;
}
const clock = steppingClock();

async function create(orgId: string, overrides: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  created.push(res.json().id);
  return res.json().id;
}

async function send(orgId: string, id: string, event: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer(orgId), payload: event });
  expect(res.statusCode, res.body).toBe(200);
}

/** Fires the ticket's armed timer, as the SLA worker would when it comes due. */
async function fireTimer(id: string, expected: string) {
  const record = await h!.runtime.engine.getTicket(dev('ops-bremen'), id);
  const timer = record.state.context.timer;
  expect(timer).not.toBeNull();
  clock.jumpTo(timer!.at);
  expect(await h!.runtime.engine.fireTimer(id, timer!.epoch)).toEqual({ applied: true, event: expected });
}

/**
 * 29 tickets: 12 uvo from desk-BY (3 escalated to dataport), 6 elfe from
 * desk-HB (2 accepted), 3 uvo for BY taken by desk-HB, 4 vms for NW by the
 * operator, 4 ehe from desk-NW (one at risk, one breached).
 */
beforeEach(async () => {
  h = await createHarness({ now: clock });
  app = await h.app();
  created = [];
  const byUvo: string[] = [];
  const hbElfe: string[] = [];
  const nwEhe: string[] = [];
  // Interleaved, so newest-first is not the same as grouped by creator.
  for (let i = 0; i < 12; i++) {
    byUvo.push(await create('desk-BY', { service: 'uvo', land: 'BY' }));
    if (i % 2 === 0) hbElfe.push(await create('desk-HB', { service: 'elfe', land: 'HB' }));
    if (i % 4 === 1) await create('desk-HB', { service: 'uvo', ars: '09162000' });
    if (i % 3 === 2) await create('ops-bremen', { service: 'vms', land: 'NW' });
    if (i % 3 === 0) nwEhe.push(await create('desk-NW', { service: 'ehe', land: 'NW' }));
  }
  expect(created).toHaveLength(29);
  for (const id of byUvo.slice(0, 3)) await send('desk-BY', id, { type: 'ESCALATE', reason: 'Verfahrensfehler' });
  for (const id of hbElfe.slice(0, 2)) await send('desk-HB', id, { type: 'ACCEPT' });
  [atRisk, breached] = nwEhe as [string, string];
  await fireTimer(atRisk, 'SLA_WARNING');
  await fireTimer(breached, 'SLA_WARNING');
  await fireTimer(breached, 'SLA_BREACHED');
});

async function page(orgId: string, query: string) {
  const res = await app.inject({ method: 'GET', url: `/v1/tickets?${query}`, headers: bearer(orgId) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { items: TicketView[]; next: string | null };
}

/** Every page of a query, checking that no page is larger than the limit. */
async function all(orgId: string, query = '', limit = 7, from = ''): Promise<TicketView[]> {
  const items: TicketView[] = [];
  let cursor: string | null = from;
  for (let pages = 0; cursor !== null; pages++) {
    expect(pages).toBeLessThan(100);
    const p = await page(orgId, [query, `limit=${limit}`, cursor ? `cursor=${cursor}` : ''].filter(Boolean).join('&'));
    expect(p.items.length).toBeLessThanOrEqual(limit);
    items.push(...p.items);
    cursor = p.next;
  }
  return items;
}

const ids = (views: TicketView[]) => views.map((v) => v.id);
const newestFirst = (subset: Iterable<string>) => {
  const wanted = new Set(subset);
  return [...created].reverse().filter((id) => wanted.has(id));
};

describe('paging', () => {
  it('limit and cursor walk every ticket exactly once, newest first', async () => {
    for (const limit of [1, 5, 10, 29, 200]) {
      const items = await all('ops-bremen', '', limit);
      expect(ids(items), `limit ${limit}`).toEqual(newestFirst(created));
    }
    const times = (await all('ops-bremen')).map((v) => Date.parse(v.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const first = await page('ops-bremen', 'limit=10');
    expect(first.items).toHaveLength(10);
    expect(first.next).toEqual(expect.any(String));
    expect((await page('ops-bremen', 'limit=50')).next).toBeNull();
  });

  it('a ticket created while paging does not shift the pages: each earlier ticket still comes exactly once', async () => {
    const before = [...created];
    const first = await page('ops-bremen', 'limit=10');
    await create('desk-BY', { service: 'uvo' });
    const rest: TicketView[] = [];
    let cursor = first.next;
    while (cursor !== null) {
      const p = await page('ops-bremen', `limit=10&cursor=${cursor}`);
      rest.push(...p.items);
      cursor = p.next;
    }
    expect([...ids(first.items), ...ids(rest)]).toEqual(newestFirst(before));
  });

  it('a cursor from one query continues another query after the same ticket', async () => {
    const first = await page('ops-bremen', 'limit=3');
    const next = await all('ops-bremen', 'land=BY', 4, first.next!);
    const olderInBY = newestFirst(ids((await all('ops-bremen', 'land=BY')))).filter((id) => id < first.items.at(-1)!.id);
    expect(ids(next)).toEqual(olderInBY);
  });
});

describe('filters', () => {
  it('each filter answers exactly the tickets it names, newest first', async () => {
    const everything = await all('ops-bremen', '', 50);
    const cases: [string, (v: TicketView) => boolean, number][] = [
      ['level=2', (v) => v.level === 2, 3],
      ['level=1', (v) => v.level === 1, 26],
      ['status=handoff-pending', (v) => v.status === 'handoff-pending', 3],
      ['status=open', (v) => v.status === 'open', 2],
      ['status=new', (v) => v.status === 'new', 24],
      ['assignee=dataport', (v) => v.assignee === 'dataport', 3],
      ['assignee=desk-HB', (v) => v.assignee === 'desk-HB', 6],
      ['land=BY', (v) => v.land === 'BY', 15],
      ['land=HB', (v) => v.land === 'HB', 6],
      ['land=SH', () => false, 0],
      ['service=vms', (v) => v.service === 'vms', 4],
      ['service=uvo', (v) => v.service === 'uvo', 15],
      ['sla=at-risk', (v) => v.id === atRisk, 1],
      ['sla=breached', (v) => v.id === breached, 1],
      ['land=BY&service=uvo&status=new', (v) => v.land === 'BY' && v.service === 'uvo' && v.status === 'new', 12],
      ['level=1&assignee=desk-BY', (v) => v.level === 1 && v.assignee === 'desk-BY', 12],
      ['land=NW&service=ehe&status=new', (v) => v.land === 'NW' && v.service === 'ehe', 4],
      ['land=HB&service=uvo', () => false, 0],
    ];
    for (const [query, match, count] of cases) {
      const expected = everything.filter(match);
      expect(expected, query).toHaveLength(count);
      expect(ids(await all('ops-bremen', query, 4)), query).toEqual(ids(expected));
    }
    const risky = (await page('ops-bremen', 'sla=at-risk')).items[0]!;
    expect(risky.sla.warnings).toHaveLength(1);
    expect(risky.sla.breaches).toHaveLength(0);
    expect((await page('ops-bremen', 'sla=breached')).items[0]!.sla.breaches).toHaveLength(1);
  });
});

describe('reach', () => {
  it('a desk lists only what it reaches; a provider what was handed to it; an operator all; steering a refusal', async () => {
    const everything = await all('ops-bremen', '', 50);
    expect(everything).toHaveLength(29);
    const reachOf: [string, (v: TicketView) => boolean, number][] = [
      ['desk-HB', (v) => v.land === 'HB' || v.createdBy === 'desk-HB', 9],
      ['desk-BY', (v) => v.land === 'BY', 15],
      ['fach-BY', (v) => v.land === 'BY', 15],
      ['desk-NW', (v) => v.land === 'NW', 8],
      ['desk-SH', () => false, 0],
      ['dataport', (v) => v.handledBy.includes('dataport'), 3],
      ['it-BY', () => false, 0],
    ];
    for (const [orgId, reaches, count] of reachOf) {
      const expected = everything.filter(reaches);
      expect(expected, orgId).toHaveLength(count);
      expect(ids(await all(orgId)), orgId).toEqual(ids(expected));
    }
    // The steering committee reaches no ticket: its list is a refusal, not an empty page.
    const steering = await app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer('steuerungskreis') });
    expect(steering.statusCode, steering.body).toBe(403);
    expect(steering.headers['content-type']).toContain('application/problem+json');
  });

  it('filters narrow the reach, never widen it', async () => {
    // desk-HB took 3 Bavarian calls; the other 12 BY tickets stay out of its list.
    const hbInBY = await all('desk-HB', 'land=BY');
    expect(hbInBY).toHaveLength(3);
    for (const v of hbInBY) expect(v).toMatchObject({ land: 'BY', createdBy: 'desk-HB' });
    expect(await all('desk-HB', 'assignee=dataport')).toEqual([]);
    expect(ids(await all('dataport', 'assignee=dataport'))).toHaveLength(3);
    expect(await all('dataport', 'land=HB')).toEqual([]);
    expect(await all('desk-BY', 'sla=breached')).toEqual([]);
    expect(ids(await all('desk-NW', 'sla=breached'))).toEqual([breached]);
  });

  it('list items are the same views a single read gives, reporter rules included', async () => {
    const id = await create('desk-HB', { service: 'elfe', land: 'HB', reporter: { name: 'Erika', email: 'e@example.org' } });
    for (const orgId of ['desk-HB', 'ops-bremen']) {
      const listed = (await page(orgId, 'limit=1')).items[0]!;
      const single = await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: bearer(orgId) });
      expect(listed, orgId).toEqual(single.json());
    }
    expect((await page('ops-bremen', 'limit=1')).items[0]).not.toHaveProperty('reporter');
    expect((await page('desk-HB', 'limit=1')).items[0]!.reporter).toEqual({ name: 'Erika', email: 'e@example.org' });
  });
});
