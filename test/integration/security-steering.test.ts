import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';
import { openStream } from '../helpers/sse.js';

/*
 * Issue 18: the steering committee sees the backlog and the money, not ticket
 * texts. The API gives it 404 on every ticket; here every page, board call
 * and stream event it can reach is compared against that: no subject,
 * description or event text of a ticket appears in any of them, while an
 * operator reaching the same places sees those texts (so the probe is real).
 */

let h: Harness;
let app: App;
let base: string;
const ORIGIN = 'http://localhost:80';
const MARK = {
  subject: 'Betreff-Geheim-7f3a',
  description: 'Beschreibung-Geheim-91bd',
  accept: 'Annahme',
  reason: 'Begruendung-Geheim-c0de',
};
let ticketId = '';
/** A backlog item, made from an improvement suggestion (its own texts are the backlog's, which steering may read). */
let itemId = '';
const YEAR = new Date().getUTCFullYear();

beforeAll(async () => {
  h = await createHarness({ roles: ['relay', 'backlog'] });
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-HB'), payload: ticketBody({ land: 'HB', service: 'elfe', subject: MARK.subject, description: MARK.description }) });
  expect(created.statusCode, created.body).toBe(201);
  ticketId = created.json().id;
  for (const event of [{ type: 'ACCEPT' }, { type: 'ESCALATE', reason: MARK.reason }]) {
    const res = await app.inject({ method: 'POST', url: `/v1/tickets/${ticketId}/events`, headers: bearer('desk-HB'), payload: event });
    expect(res.statusCode, res.body).toBe(200);
  }
  // An improvement suggestion of its own becomes a backlog item: the backlog pages then show an item, not an empty list.
  const improvement = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-HB'), payload: ticketBody({ land: 'HB', service: 'elfe', category: 'improvement', subject: 'Antraege zusammenlegen', description: 'Bitte in einem Schritt' }) });
  expect(improvement.statusCode, improvement.body).toBe(201);
  await waitFor(async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/backlog', headers: bearer('ops-bremen') });
    itemId = (res.json() as { items: { id: string }[] }).items[0]?.id ?? '';
    return itemId !== '';
  }, { what: 'the improvement as a backlog item' });
  // The relay has published every event and put the handoff onto dataport's queue.
  await waitFor(async () => (await h.redis.xlen(`${h.prefix}:events`)) >= 3 && (await h.redis.exists(`${h.prefix}:handoff-dataport:${ticketId}-v3-handoff-dataport`)) === 1, { what: 'the events and the handoff job' });
});

afterAll(async () => {
  await h.close();
});

async function session(key: string) {
  const res = await app.inject({ method: 'POST', url: '/dashboard/login', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN }, payload: `key=${key}` });
  const id = /lotse_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  return `lotse_session=${id}`;
}

/** Every page and board call a dashboard session can reach (GET), with their bodies. */
async function boardBodies(cookie: string): Promise<Record<string, string>> {
  const urls = [
    '/dashboard', '/dashboard/api/session', '/dashboard/api/overview',
    '/admin/queues', '/admin/queues/api/queues', '/admin/queues/api/queues?activeQueue=handoff-dataport&status=waiting&page=1',
    '/admin/queues/api/queues/handoff-dataport/' + encodeURIComponent(`${ticketId}-v3-handoff-dataport`),
    '/admin/queues-ro', '/admin/queues-ro/api/queues', '/admin/queues-ro/api/queues?activeQueue=handoff-dataport&status=waiting&page=1',
    '/v1/stats', '/v1/backlog', `/v1/tickets/${ticketId}`, `/v1/tickets/${ticketId}/history`, '/v1/tickets',
    // The console's backlog and cost pages and the API calls behind them; metrics are public.
    '/dashboard/backlog', `/dashboard/backlog/${itemId}`, '/dashboard/reports/cost-split',
    `/v1/backlog/${itemId}`, `/v1/reports/cost-split?year=${YEAR}`, '/metrics',
    // The operator's ticket view (steering is refused it), where the texts must show for the probe to be real.
    `/dashboard/tickets/${ticketId}`, `/dashboard/api/tickets/${ticketId}`,
  ];
  const out: Record<string, string> = {};
  for (const url of urls) {
    const res = await app.inject({ method: 'GET', url, headers: { cookie } });
    out[`${url} ${res.statusCode}`] = res.body;
  }
  return out;
}

/** Every stream event a session can read, replayed from the start of the stream. */
async function streamEvents(cookie: string): Promise<Record<string, unknown>[]> {
  const total = await h.redis.xlen(`${h.prefix}:events`);
  const s = await openStream(`${base}/v1/stream`, { cookie, 'last-event-id': '0-0' });
  try {
    expect(s.status).toBe(200);
    const events: Record<string, unknown>[] = [];
    const last = ((await h.redis.xrevrange(`${h.prefix}:events`, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]![0];
    for (;;) {
      const f = await s.next((x) => x.data !== undefined);
      events.push(JSON.parse(f.data!) as Record<string, unknown>);
      if (f.id === last) break;
    }
    expect(events.length).toBeLessThanOrEqual(total);
    return events;
  } finally {
    await s.close();
  }
}

const texts = Object.values(MARK).filter((t) => t !== MARK.accept);

describe('what the steering committee reaches', () => {
  it('the API refuses it the ticket (403 for any id: a refusal, which says nothing of whether the ticket exists)', async () => {
    for (const path of ['', '/history', '/sla']) {
      expectProblem(await app.inject({ method: 'GET', url: `/v1/tickets/${ticketId}${path}`, headers: bearer('steuerungskreis') }), 403);
    }
  });

  it('no page or board call it reaches carries a ticket text, while an operator\'s do', async () => {
    const steering = await boardBodies(await session('dev-steuerungskreis'));
    for (const [url, body] of Object.entries(steering)) for (const t of texts) expect(body, `${url} shows "${t}"`).not.toContain(t);
    // The queues' jobs are the operators': steering API calls on the board are refused.
    expect(Object.keys(steering)).toContain('/admin/queues/api/queues 403');
    // The backlog and the money are steering's: those places answer it, with the item.
    for (const url of ['/dashboard/backlog', `/dashboard/backlog/${itemId}`, '/dashboard/reports/cost-split', `/v1/backlog/${itemId}`, `/v1/reports/cost-split?year=${YEAR}`]) {
      expect(Object.keys(steering), url).toContain(`${url} 200`);
    }
    expect(steering[`/v1/backlog/${itemId} 200`]).toContain(itemId);
    const operator = await boardBodies(await session('dev-ops-bremen'));
    expect(Object.values(operator).join('\n')).toContain(MARK.subject);
    expect(Object.values(operator).join('\n')).toContain(MARK.description);
    // The operator's ticket view carries the planted texts (the console's ticket call, which steering is refused).
    expect(operator[`/dashboard/api/tickets/${ticketId} 200`]).toContain(MARK.subject);
    expect(Object.keys(steering)).toContain(`/dashboard/api/tickets/${ticketId} 403`);
  });

  it('no stream event it reads carries a ticket text; each carries only facts the board counts', async () => {
    const steering = await streamEvents(await session('dev-steuerungskreis'));
    expect(steering.length).toBeGreaterThanOrEqual(3);
    const json = JSON.stringify(steering);
    for (const t of texts) expect(json).not.toContain(t);
    for (const e of steering) {
      expect(Object.keys(e.data as object).every((k) => ['ticketId', 'itemId', 'version', 'at', 'type', 'actor', 'from', 'to', 'level', 'assignee', 'status', 'priority', 'land', 'service'].includes(k)), JSON.stringify(e)).toBe(true);
    }
    const operator = JSON.stringify(await streamEvents(await session('dev-ops-bremen')));
    expect(operator).toContain(MARK.reason);
  });
});
