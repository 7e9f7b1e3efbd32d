import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

let h: Harness;
let app: App;
let base: string;
const streams: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  // The relay publishes committed changes onto <prefix>:events; heartbeats every 100 ms here.
  h = await createHarness({ roles: ['relay'], env: { LOTSE_STREAM_HEARTBEAT_MS: '100' } });
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await h.close();
});

async function open(path: string, headers: Record<string, string>) {
  const s = await openStream(`${base}${path}`, headers);
  streams.push(s);
  return s;
}

async function create(orgId: string, overrides: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

/** The stream entry of a ticket's event, once the relay has published it. */
async function entryOf(ticketId: string, type = 'lotse.ticket.created'): Promise<string> {
  return waitFor(async () => {
    const entries = (await h.redis.xrange(`${h.prefix}:events`, '-', '+')) as [string, string[]][];
    const hit = entries.find(([, f]) => f[f.indexOf('subject') + 1] === ticketId && (JSON.parse(f[f.indexOf('event') + 1]!) as { type: string }).type === type);
    return hit?.[0];
  }, { what: `the ${type} event of ${ticketId} on the stream` });
}

const subjectOf = (data: string | undefined) => (JSON.parse(data ?? '{}') as { subject?: string }).subject;
const typeOf = (data: string | undefined) => (JSON.parse(data ?? '{}') as { type?: string }).type;

describe('GET /v1/stream', () => {
  it('answers 401 without a key', async () => {
    const res = await fetch(`${base}/v1/stream`);
    expect(res.status).toBe(401);
  });

  it('resumes after Last-Event-ID with exactly the later events, in order', async () => {
    const ids = [await create('desk-HB', { land: 'HB', service: 'elfe' }), await create('desk-HB', { land: 'HB', service: 'elfe' }), await create('desk-HB', { land: 'HB', service: 'elfe' })];
    const entries = await Promise.all(ids.map((id) => entryOf(id)));
    const s = await open('/v1/stream', { ...bearer('ops-bremen'), 'last-event-id': entries[0]! });
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const second = await s.next();
    const third = await s.next();
    expect([second.id, third.id]).toEqual([entries[1], entries[2]]);
    expect([subjectOf(second.data), subjectOf(third.data)]).toEqual([ids[1], ids[2]]);
    // Then live: the next event is the next ticket's, nothing in between, nothing twice.
    const fourth = await create('desk-HB', { land: 'HB', service: 'elfe' });
    const live = await s.next();
    expect(live.id).toBe(await entryOf(fourth));
    expect(subjectOf(live.data)).toBe(fourth);
  });

  it('takes ?lastEventId= for EventSource reconnects too', async () => {
    const a = await create('desk-HB', { land: 'HB', service: 'elfe' });
    const b = await create('desk-HB', { land: 'HB', service: 'elfe' });
    const [ea, eb] = [await entryOf(a), await entryOf(b)];
    const s = await open(`/v1/stream?lastEventId=${ea}`, bearer('ops-bremen'));
    const next = await s.next();
    expect(next.id).toBe(eb);
  });

  it('a desk of HB never sees an event of a BY ticket', async () => {
    const s = await open('/v1/stream', bearer('desk-HB'));
    await s.next((f) => f.comment === 'connected');
    const byTicket = await create('desk-BY', { land: 'BY', service: 'uvo' });
    await entryOf(byTicket);
    const hbTicket = await create('desk-HB', { land: 'HB', service: 'elfe' });
    const first = await s.next();
    expect(subjectOf(first.data)).toBe(hbTicket);
    expect(s.frames.some((f) => subjectOf(f.data) === byTicket)).toBe(false);
  });

  it('a provider sees a ticket once it is handed to it', async () => {
    const s = await open('/v1/stream', bearer('dataport'));
    await s.next((f) => f.comment === 'connected');
    const id = await create('desk-HB', { land: 'HB', service: 'elfe' });
    await entryOf(id);
    const res = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer('desk-HB'), payload: { type: 'ESCALATE', reason: 'Fehler im Verfahren' } });
    expect(res.statusCode, res.body).toBe(200);
    const first = await s.next();
    expect([subjectOf(first.data), typeOf(first.data)]).toEqual([id, 'lotse.ticket.escalated']);
  });

  it('filters by land, service and type', async () => {
    const byLand = await open('/v1/stream?land=BY', bearer('ops-bremen'));
    const byService = await open('/v1/stream?service=ehe,vms', bearer('ops-bremen'));
    const byType = await open('/v1/stream?type=lotse.ticket.accepted', bearer('ops-bremen'));
    await Promise.all([byLand, byService, byType].map((s) => s.next((f) => f.comment === 'connected')));
    const hb = await create('desk-HB', { land: 'HB', service: 'elfe' });
    const by = await create('desk-BY', { land: 'BY', service: 'uvo' });
    const ehe = await create('desk-NW', { land: 'NW', service: 'ehe' });
    const res = await app.inject({ method: 'POST', url: `/v1/tickets/${hb}/events`, headers: bearer('desk-HB'), payload: { type: 'ACCEPT' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(subjectOf((await byLand.next()).data)).toBe(by);
    expect(subjectOf((await byService.next()).data)).toBe(ehe);
    const accepted = await byType.next();
    expect([subjectOf(accepted.data), typeOf(accepted.data)]).toEqual([hb, 'lotse.ticket.accepted']);
  });

  it('refuses bad filters with a problem naming the field', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/stream?land=XX', headers: bearer('ops-bremen') });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toMatch(/^querystring\.land/);
    const bad = await app.inject({ method: 'GET', url: '/v1/stream', headers: { ...bearer('ops-bremen'), 'last-event-id': 'nope' } });
    expect(bad.statusCode).toBe(400);
  });

  it('sends heartbeats, as comments or as events', async () => {
    const comments = await open('/v1/stream', bearer('ops-bremen'));
    await comments.next((f) => f.comment === 'heartbeat');
    const events = await open('/v1/stream?heartbeat=event', bearer('ops-bremen'));
    const beat = await events.next((f) => f.event === 'heartbeat');
    expect(Date.parse((JSON.parse(beat.data!) as { at: string }).at)).not.toBeNaN();
  });

  it('all clients share one reader connection', async () => {
    const list = (await h.redis.client('LIST')) as string;
    expect(list.split('\n').filter((l) => l.includes(`name=${h.prefix}-stream`))).toHaveLength(1);
  });
});
