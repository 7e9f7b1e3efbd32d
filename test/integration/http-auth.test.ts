import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { createPrincipalResolver } from '../../src/config/principals.js';
import { parseTopology } from '../../src/config/topology-file.js';
import { newTicketId } from '../../src/engine/ticket/index.js';
import type { App } from '../../src/http/app.js';
import { bearer, harnessPerTest, ticketBody, type HarnessOptions } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const harness = harnessPerTest();
const setup = async (opts: HarnessOptions = {}): Promise<App> => (await harness(opts)).app();

async function create(app: App, orgId: string, overrides: Record<string, unknown> = {}): Promise<{ id: string } & Record<string, unknown>> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const get = (app: App, orgId: string, url: string) => app.inject({ method: 'GET', url, headers: bearer(orgId) });
const event = (app: App, orgId: string, id: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer(orgId), payload });

describe('401: who calls must be known', () => {
  const cases: [string, Record<string, string>][] = [
    ['no Authorization header', {}],
    ['a Basic credential', { authorization: 'Basic ZGV2LWRlc2stQlk6eA==' }],
    ['Bearer without a key', { authorization: 'Bearer' }],
    ['Bearer with two tokens', { authorization: 'Bearer dev-desk-BY extra' }],
    ['the key without the scheme', { authorization: 'dev-desk-BY' }],
    ['an unknown key', { authorization: 'Bearer not-a-key' }],
    ['a dev key of an organisation that does not exist', { authorization: 'Bearer dev-desk-XX' }],
  ];
  it.each(cases)('%s → 401 problem with www-authenticate: Bearer', async (_label, headers) => {
    const app = await setup();
    for (const req of [
      { method: 'GET' as const, url: '/v1/tickets' },
      { method: 'GET' as const, url: `/v1/tickets/${newTicketId(Date.now())}` },
      { method: 'POST' as const, url: '/v1/tickets', payload: ticketBody() },
    ]) {
      const res = await app.inject({ ...req, headers });
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('the scheme is case-insensitive', async () => {
    const app = await setup();
    for (const authorization of ['bearer dev-desk-BY', 'BEARER dev-desk-BY', 'Bearer   dev-desk-BY ']) {
      expect((await app.inject({ method: 'GET', url: '/v1/tickets', headers: { authorization } })).statusCode, authorization).toBe(200);
    }
  });

  it('refuses before reading the body: a malformed or oversized body without a key is still 401', async () => {
    const app = await setup();
    const malformed = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expectProblem(malformed, 401);
    const huge = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ d: 'x'.repeat(2 * 1024 * 1024) }) });
    expectProblem(huge, 401);
  });
});

describe('403: the role may not do it', () => {
  it('a provider may not create a ticket, steering may not send an event', async () => {
    const app = await setup();
    const provider = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('dataport'), payload: ticketBody() });
    expect(expectProblem(provider, 403).type).toMatch(/forbidden$/);
    const steering = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('steuerungskreis'), payload: ticketBody() });
    expectProblem(steering, 403);

    const ticket = await create(app, 'desk-BY');
    expectProblem(await event(app, 'steuerungskreis', ticket.id, { type: 'ACCEPT' }), 403);
    // Nothing happened to the ticket.
    expect((await get(app, 'desk-BY', `/v1/tickets/${ticket.id}`)).json()).toMatchObject({ version: 1, status: 'new' });
  });
});

describe('404: a ticket outside the reach is not revealed', () => {
  const sameAsMissing = (res: LightMyRequestResponse, missing: LightMyRequestResponse, id: string, missingId: string) => {
    expectProblem(res, 404);
    expect(res.body.replaceAll(id, '<id>')).toBe(missing.body.replaceAll(missingId, '<id>'));
    expect(res.headers['content-type']).toBe(missing.headers['content-type']);
    expect(res.headers.etag).toBeUndefined();
  };

  it('desk-HB reading, listing the history of and moving a BY ticket gets exactly the 404 of a missing id', async () => {
    const app = await setup();
    const ticket = await create(app, 'desk-BY');
    const missingId = newTicketId(Date.now());
    for (const path of ['', '/history']) {
      const missing = await get(app, 'desk-HB', `/v1/tickets/${missingId}${path}`);
      expect(expectProblem(missing, 404).type).toMatch(/ticket-not-found$/);
      sameAsMissing(await get(app, 'desk-HB', `/v1/tickets/${ticket.id}${path}`), missing, ticket.id, missingId);
    }
    const missingEvent = await event(app, 'desk-HB', missingId, { type: 'ACCEPT' });
    sameAsMissing(await event(app, 'desk-HB', ticket.id, { type: 'ACCEPT' }), missingEvent, ticket.id, missingId);
  });

  it('a provider reading a ticket never handed to it gets the 404 of a missing id', async () => {
    const app = await setup();
    const ticket = await create(app, 'desk-BY', { service: 'uvo' });
    const missingId = newTicketId(Date.now());
    const missing = await get(app, 'dataport', `/v1/tickets/${missingId}`);
    sameAsMissing(await get(app, 'dataport', `/v1/tickets/${ticket.id}`), missing, ticket.id, missingId);
    // it-HE is a provider too, but never holds a BY uvo ticket.
    expectProblem(await get(app, 'it-HE', `/v1/tickets/${ticket.id}`), 404);
    // The steering committee reads no ticket at all: a refusal for every id, not the 404 of one it may not see.
    expectProblem(await get(app, 'steuerungskreis', `/v1/tickets/${ticket.id}`), 403);
    expectProblem(await get(app, 'steuerungskreis', `/v1/tickets/${missingId}`), 403);
  });
});

describe('reach', () => {
  it('the Land desks, the creator, the provider once handed to, and operators reach a ticket', async () => {
    const app = await setup();
    // desk-HB takes a call about a Bavarian request.
    const ticket = await create(app, 'desk-HB', { land: 'BY', service: 'uvo' });
    const readers = async () => {
      const out: Record<string, number> = {};
      for (const org of ['desk-HB', 'desk-BY', 'fach-BY', 'ops-bremen', 'dataport', 'desk-NW', 'it-BY']) {
        out[org] = (await get(app, org, `/v1/tickets/${ticket.id}`)).statusCode;
      }
      return out;
    };
    expect(await readers()).toEqual({ 'desk-HB': 200, 'desk-BY': 200, 'fach-BY': 200, 'ops-bremen': 200, dataport: 404, 'desk-NW': 404, 'it-BY': 404 });

    // The BY desk holds it at level 1 and escalates: level 2 of uvo is dataport.
    const escalated = await event(app, 'desk-BY', ticket.id, { type: 'ESCALATE', reason: 'Fehler im Formular' });
    expect(escalated.statusCode, escalated.body).toBe(200);
    expect(escalated.json()).toMatchObject({ level: 2, assignee: 'dataport', status: 'handoff-pending' });
    expect(await readers()).toEqual({ 'desk-HB': 200, 'desk-BY': 200, 'fach-BY': 200, 'ops-bremen': 200, dataport: 200, 'desk-NW': 404, 'it-BY': 404 });
    expect((await get(app, 'dataport', `/v1/tickets/${ticket.id}/history`)).statusCode).toBe(200);
  });
});

describe('reporter data', () => {
  const reporter = { name: 'Erika Mustermann', email: 'erika@example.org', phone: '+49 421 123456' };

  async function escalatedTicket(app: App, service: string) {
    const ticket = await create(app, 'desk-HB', { land: 'BY', service, reporter });
    expect(ticket.reporter).toEqual(reporter); // the creating desk sees what it sent
    const res = await event(app, 'desk-BY', ticket.id, { type: 'ESCALATE', reason: 'technisch' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().assignee).toBe('dataport');
    return ticket.id;
  }

  const reporterOf = async (app: App, orgId: string, id: string) => {
    const res = await get(app, orgId, `/v1/tickets/${id}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().reporter as unknown;
  };

  it('uvo shares with dataport: creator, Land desks and dataport see it; the operator does not', async () => {
    const app = await setup();
    const id = await escalatedTicket(app, 'uvo');
    for (const org of ['desk-HB', 'desk-BY', 'fach-BY', 'dataport']) expect(await reporterOf(app, org, id), org).toEqual(reporter);
    expect(await reporterOf(app, 'ops-bremen', id)).toBeUndefined();
    const list = await app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer('ops-bremen') });
    expect(list.json().items.find((t: { id: string }) => t.id === id)).not.toHaveProperty('reporter');
  });

  it('elfe shares with nobody: dataport holds the ticket but never sees the reporter, not even in its own answers', async () => {
    const app = await setup();
    const id = await escalatedTicket(app, 'elfe');
    expect(await reporterOf(app, 'dataport', id)).toBeUndefined();
    expect(await reporterOf(app, 'ops-bremen', id)).toBeUndefined();
    expect(await reporterOf(app, 'desk-BY', id)).toEqual(reporter);
    const accepted = await event(app, 'dataport', id, { type: 'ACCEPT' });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).not.toHaveProperty('reporter');
    expect(accepted.body).not.toContain('erika@example.org');
    const list = await app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer('dataport') });
    expect(list.body).toContain(id);
    expect(list.body).not.toContain('erika@example.org');
  });
});

describe('configured principals', () => {
  const deskKey = 'desk-hb-secret-7f3a';
  // `env:` keys must be at least 32 characters.
  const operatorKey = 'operator-secret-91c2-0123456789abcdef';
  const topology = parseTopology({
    ...DEFAULT_TOPOLOGY,
    principals: [
      { key: `sha256:${createHash('sha256').update(deskKey).digest('hex')}`, orgId: 'desk-HB', role: 'desk' },
      { key: 'env:LOTSE_TEST_OPERATOR_KEY', orgId: 'ops-bremen', role: 'operator' },
    ],
  });

  it('accepts the configured keys and refuses the development keys', async () => {
    const app = await setup({ topology, principalEnv: { LOTSE_TEST_OPERATOR_KEY: operatorKey } });
    const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { authorization: `Bearer ${deskKey}` }, payload: ticketBody({ land: 'HB' }) });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ createdBy: 'desk-HB', land: 'HB' });
    const id = created.json().id as string;

    const asOperator = await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: { authorization: `Bearer ${operatorKey}` } });
    expect(asOperator.statusCode, asOperator.body).toBe(200);

    for (const org of ['desk-HB', 'ops-bremen', 'desk-BY']) {
      const res = await get(app, org, `/v1/tickets/${id}`);
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    // The hash itself, the variable's name and a near miss are no keys.
    for (const key of [createHash('sha256').update(deskKey).digest('hex'), 'LOTSE_TEST_OPERATOR_KEY', `${deskKey}x`]) {
      expectProblem(await app.inject({ method: 'GET', url: '/v1/tickets', headers: { authorization: `Bearer ${key}` } }), 401);
    }
  });

  it('a variable named by a principal must be set, or nothing starts', () => {
    expect(() => createPrincipalResolver(topology, {}, { loopback: true })).toThrow(/principals\.1\.key.*LOTSE_TEST_OPERATOR_KEY/);
  });

  it('without configured principals, development keys work on loopback only', async () => {
    const app = await setup({ env: { HOST: '0.0.0.0' } });
    expectProblem(await get(app, 'desk-BY', '/v1/tickets'), 401);
  });

  it('a configured key carries its role: the desk key may not do what only an operator may', async () => {
    const app = await setup({ topology, principalEnv: { LOTSE_TEST_OPERATOR_KEY: operatorKey } });
    const desk = { authorization: `Bearer ${deskKey}` };
    const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: desk, payload: ticketBody({ land: 'BY' }) });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    // ASSIGN is an operator's move.
    const assign = { type: 'ASSIGN', assignee: 'desk-NW', reason: 'falsch zugeordnet' };
    const byDesk = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: desk, payload: assign });
    expect(expectProblem(byDesk, 403).detail).toMatch(/operator/);
    const byOperator = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: { authorization: `Bearer ${operatorKey}` }, payload: assign });
    expect(byOperator.statusCode, byOperator.body).toBe(200);
    expect(byOperator.json().assignee).toBe('desk-NW');
  });
});
