import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, ticketBody, type Harness } from '../helpers/harness.js';

let h: Harness;
let app: App;
let ticket: string;

/** A session cookie as the login hands it out, and the CSRF token the session's changes carry. */
async function logIn(orgId: string) {
  const res = await app.inject({ method: 'POST', url: '/dashboard/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `key=dev-${orgId}` });
  expect(res.statusCode).toBe(303);
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const session = (await app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } })).json();
  return { cookie, csrf: session.csrf as string };
}

beforeAll(async () => {
  h = await createHarness();
  app = await h.app();
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-BY'), payload: ticketBody({ land: 'BY', service: 'uvo', reporter: { name: 'Erika Mustermann', email: 'erika@example.org' } }) });
  expect(res.statusCode, res.body).toBe(201);
  ticket = res.json().id;
});

afterAll(async () => {
  await h?.close();
});

describe('the console over HTTP', () => {
  it('serves its pages to a session only, by role', async () => {
    const anonymous = await app.inject({ method: 'GET', url: `/dashboard/tickets/${ticket}` });
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toBe('/dashboard/login');
    const ops = await logIn('ops-bremen');
    for (const url of [`/dashboard/tickets/${ticket}`, '/dashboard/tickets?sla=breached', '/dashboard/backlog', '/dashboard/backlog/x1', '/dashboard/reports/cost-split?year=2026']) {
      const res = await app.inject({ method: 'GET', url, headers: { cookie: ops.cookie } });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.body).not.toMatch(/https?:\/\//);
    }
    const steering = await logIn('steuerungskreis');
    expect((await app.inject({ method: 'GET', url: '/dashboard/backlog', headers: { cookie: steering.cookie } })).statusCode).toBe(200);
    const refused = await app.inject({ method: 'GET', url: `/dashboard/tickets/${ticket}`, headers: { cookie: steering.cookie } });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    const page = await app.inject({ method: 'GET', url: `/dashboard/tickets/${ticket}`, headers: { cookie: steering.cookie, accept: 'text/html' } });
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('Kein Zugang');
  });

  it('reads a ticket with its clocks, history and the events the operator may send, without the reporter', async () => {
    const ops = await logIn('ops-bremen');
    const res = await app.inject({ method: 'GET', url: `/dashboard/api/tickets/${ticket}`, headers: { cookie: ops.cookie } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.ticket.id).toBe(ticket);
    expect(res.body).not.toContain('Erika');
    expect(body.allowedEvents).toEqual(expect.arrayContaining(['ESCALATE', 'ASSIGN', 'CHANGE_PRIORITY']));
    expect(body.allowedEvents).not.toContain('RESOLVE');
    expect(body.history[0].type).toBe('CREATED');
    expect(body.sla.clocks.find((c: { name: string }) => c.name === 'firstResponse').businessMsLeft).toBeGreaterThan(0);
    expect(body.jobs.map((j: { label: string }) => j.label)).toContain('timer');
    // A desk or a provider has no console: its key is refused, so is the steering committee's session.
    expect((await app.inject({ method: 'GET', url: `/dashboard/api/tickets/${ticket}`, headers: bearer('desk-BY') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: `/dashboard/api/tickets/${ticket}`, headers: bearer('dataport') })).statusCode).toBe(403);
    const steering = await logIn('steuerungskreis');
    expect((await app.inject({ method: 'GET', url: `/dashboard/api/tickets/${ticket}`, headers: { cookie: steering.cookie } })).statusCode).toBe(403);
  });

  it('changes a ticket through the API with the session: CSRF token and Origin checked, If-Match honoured', async () => {
    const ops = await logIn('ops-bremen');
    const url = `/v1/tickets/${ticket}/events`;
    const payload = { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'high', reason: 'Viele Anrufe' };
    const json = { 'content-type': 'application/json', cookie: ops.cookie };
    expect((await app.inject({ method: 'POST', url, headers: json, payload })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url, headers: { ...json, 'x-csrf-token': ops.csrf, origin: 'https://evil.example' }, payload })).statusCode).toBe(403);
    const stale = await app.inject({ method: 'POST', url, headers: { ...json, 'x-csrf-token': ops.csrf, 'if-match': '"0"' }, payload });
    expect(stale.statusCode).toBe(412);
    const ok = await app.inject({ method: 'POST', url, headers: { ...json, 'x-csrf-token': ops.csrf, 'if-match': '"1"' }, payload });
    expect(ok.statusCode, ok.body).toBe(200);
    const history = (await app.inject({ method: 'GET', url: `/v1/tickets/${ticket}/history`, headers: bearer('ops-bremen') })).json().items;
    expect(history.at(-1)).toMatchObject({ type: 'CHANGE_PRIORITY', actor: { orgId: 'ops-bremen', role: 'operator' } });
  });

  it('finds tickets by the desk\'s own reference (externalRef), within the caller\'s reach', async () => {
    const ref = `INC-${Date.now()}`;
    const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-NW'), payload: ticketBody({ land: 'NW', service: 'elfe', externalRef: ref }) });
    expect(created.statusCode, created.body).toBe(201);
    const find = async (orgId: string, value = ref) => {
      const res = await app.inject({ method: 'GET', url: `/v1/tickets?externalRef=${encodeURIComponent(value)}`, headers: bearer(orgId) });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().items.map((v: { id: string }) => v.id);
    };
    expect(await find('desk-NW')).toEqual([created.json().id]);
    expect(await find('ops-bremen')).toEqual([created.json().id]);
    expect(await find('desk-HB')).toEqual([]);
    expect(await find('desk-NW', `${ref}-other`)).toEqual([]);
    expect(await find('desk-NW', ref.toLowerCase())).toEqual([]);
  });

  it('refuses the steering committee a ticket list (403), as it reaches no ticket', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer('steuerungskreis') });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ status: 403 });
  });
});

describe('the cost report', () => {
  it('says how to ask when the year is missing', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/reports/cost-split', headers: bearer('ops-bremen') });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe('year is required, e.g. ?year=2026');
    expect(res.json().errors).toEqual([{ path: 'query.year', message: 'year is required, e.g. ?year=2026' }]);
  });

  it('downloads as CSV with a filename and a header row, whose shares add up to each budget', async () => {
    const json = (await app.inject({ method: 'GET', url: '/v1/reports/cost-split?year=2026', headers: bearer('steuerungskreis') })).json();
    const res = await app.inject({ method: 'GET', url: '/v1/reports/cost-split?year=2026&format=csv', headers: bearer('steuerungskreis') });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="lotse-kostenaufteilung-2026.csv"');
    const [header, ...rows] = res.body.trimEnd().split('\r\n').map((l) => l.split(','));
    expect(header).toEqual(['year', 'service', 'service_name', 'model', 'budget_eur', 'land', 'land_name', 'weight', 'percent', 'share_eur', 'tickets', 'backlog_items', 'population_source', 'population_date']);
    expect(rows.length).toBe(json.services.reduce((n: number, s: { shares: unknown[] }) => n + s.shares.length, 0));
    for (const s of json.services as { service: string; budgetCents: number }[]) {
      const cents = rows.filter((r) => r[1] === s.service).reduce((sum, r) => sum + Math.round(Number(r[9]) * 100), 0);
      expect(cents, s.service).toBe(s.budgetCents);
    }
    const one = await app.inject({ method: 'GET', url: '/v1/reports/cost-split?year=2026&service=uvo&format=csv', headers: bearer('ops-bremen') });
    expect(one.headers['content-disposition']).toBe('attachment; filename="lotse-kostenaufteilung-2026-uvo.csv"');
    expect((await app.inject({ method: 'GET', url: '/v1/reports/cost-split?year=2026&format=csv', headers: bearer('desk-BY') })).statusCode).toBe(403);
  });
});
