import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { bearer, harnessPerTest, ticketBody } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const harness = harnessPerTest();
const setup = async (): Promise<App> => (await harness()).app();

const DAY = 86_400_000;
const desk = bearer('desk-BY');
const json = { ...desk, 'content-type': 'application/json' };

/** The paths a 422 names, each once, sorted. */
function namedFields(res: LightMyRequestResponse): string[] {
  const body = expectProblem(res, 422);
  expect(body.type).toMatch(/validation-failed$/);
  expect(body.errors?.length).toBeGreaterThan(0);
  for (const e of body.errors ?? []) expect(e.message, e.path).toEqual(expect.any(String));
  return [...new Set((body.errors ?? []).map((e) => e.path))].sort();
}

const post = (app: App, payload: unknown, headers: Record<string, string> = desk) =>
  app.inject({ method: 'POST', url: '/v1/tickets', headers, payload: payload as Record<string, unknown> });

const ticketCount = async (app: App) => (await app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer('ops-bremen') })).json().items.length as number;

describe('422 names every wrong field', () => {
  const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['every required field missing', {}, ['category', 'channel', 'externalRef', 'impact', 'land', 'service', 'subject', 'urgency']],
    ['neither land nor ars', ticketBody({ land: undefined }), ['land']],
    ['wrong enums', ticketBody({ channel: 'fax', category: 'bug', impact: 'huge', urgency: 'now' }), ['category', 'channel', 'impact', 'urgency']],
    ['an unknown Land code', ticketBody({ land: 'XX' }), ['land']],
    ['wrong types', ticketBody({ subject: 42, description: ['a'], attachments: {} }), ['attachments', 'description', 'subject']],
    [
      'nested fields',
      ticketBody({
        reporter: { email: 'not-an-address', phone: 'call me' },
        attachments: [{ name: 'a.pdf', url: 'javascript:alert(1)', size: 1 }, { name: 'b.pdf', url: 'https://example.org/b.pdf', size: -1 }],
      }),
      ['attachments.0.url', 'attachments.1.size', 'reporter.email', 'reporter.phone'],
    ],
    [
      'unknown fields, top-level and nested, each named',
      ticketBody({ foo: 1, priority: 'P1', reporter: { name: 'x', address: 'y' }, attachments: [{ name: 'a', url: 'https://e.org/a', size: 1, mime: 'x' }] }),
      ['attachments.0.mime', 'foo', 'priority', 'reporter.address'],
    ],
    ['a bare constructor key is just an unknown field', ticketBody({ constructor: 'x' }), ['constructor']],
    ['lengths', ticketBody({ externalRef: '', subject: 's'.repeat(201), description: 'd'.repeat(20_001) }), ['description', 'externalRef', 'subject']],
    ['externalRef with NUL', ticketBody({ externalRef: 'ref\u0000x' }), ['externalRef']],
    ['externalRef with ESC', ticketBody({ externalRef: 'ref\u001b[0m' }), ['externalRef']],
    ['ARS not digits', ticketBody({ land: undefined, ars: '09a' }), ['ars']],
    ['receivedAt not a date-time', ticketBody({ receivedAt: 'yesterday' }), ['receivedAt']],
    // Checks against the topology and the clock, after the shape is right.
    ['ARS with an unknown prefix', ticketBody({ land: undefined, ars: '99123' }), ['ars']],
    ['land and ARS disagree', ticketBody({ land: 'HB', ars: '09162000' }), ['ars']],
    ['an unknown service', ticketBody({ service: 'no-such-service' }), ['service']],
    ['receivedAt in the future', ticketBody({ receivedAt: iso(DAY) }), ['receivedAt']],
    ['receivedAt older than 7 days', ticketBody({ receivedAt: iso(-8 * DAY) }), ['receivedAt']],
    ['every topology check at once', ticketBody({ land: undefined, ars: '99', service: 'nope', receivedAt: iso(DAY) }), ['ars', 'receivedAt', 'service']],
  ];

  it.each(cases)('%s', async (_label, body, fields) => {
    const app = await setup();
    expect(namedFields(await post(app, body))).toEqual(fields);
    expect(await ticketCount(app)).toBe(0);
  });

  it('a refused request does not use up its externalRef', async () => {
    const app = await setup();
    const body = ticketBody({ service: 'nope' });
    expect(namedFields(await post(app, body))).toEqual(['service']);
    expect((await post(app, { ...body, service: 'uvo' })).statusCode).toBe(201);
  });

  it('receivedAt within the last 7 days is taken and starts the clocks', async () => {
    const app = await setup();
    const receivedAt = new Date(Date.now() - 2 * DAY).toISOString();
    const res = await post(app, ticketBody({ receivedAt }));
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().receivedAt).toBe(receivedAt);
  });
});

describe('bodies that never reach validation', () => {
  it.each([
    ['an unterminated object', '{"externalRef": "x"'],
    ['a trailing comma', '{"externalRef": "x",}'],
    ['single quotes', "{'externalRef': 'x'}"],
    ['two documents', '{}{}'],
    ['an empty body', ''],
  ])('malformed JSON (%s) → 400', async (_label, payload) => {
    const app = await setup();
    expectProblem(await app.inject({ method: 'POST', url: '/v1/tickets', headers: json, payload }), 400);
  });

  it.each([
    ['null', 'null'],
    ['an array', '[]'],
    ['a number', '42'],
    ['a string', '"ticket"'],
  ])('JSON that is no ticket (%s) → 422, never a 500', async (_label, payload) => {
    const app = await setup();
    const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: json, payload });
    expect(namedFields(res).length).toBeGreaterThan(0);
  });

  it('deep nesting → 400 naming the nesting, before any parse', async () => {
    const app = await setup();
    const payload = `{"reporter": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const body = expectProblem(await app.inject({ method: 'POST', url: '/v1/tickets', headers: json, payload }), 400);
    expect(body.errors?.[0]?.message).toMatch(/nested deeper than 32/);
  });

  it('a body over 1 MiB → 413', async () => {
    const app = await setup();
    const payload = JSON.stringify(ticketBody({ description: 'x'.repeat(1024 * 1024) }));
    expect(expectProblem(await app.inject({ method: 'POST', url: '/v1/tickets', headers: json, payload }), 413).type).toMatch(/too-large$/);
  });

  it.each([
    ['top-level __proto__', (b: string) => b.replace('{', '{"__proto__": {"polluted": "yes"},')],
    ['nested __proto__', (b: string) => b.replace('{', '{"reporter": {"__proto__": {"polluted": "yes"}},')],
    ['constructor.prototype', (b: string) => b.replace('{', '{"constructor": {"prototype": {"polluted": "yes"}},')],
    ['nested constructor.prototype', (b: string) => b.replace('{', '{"attachments": [{"constructor": {"prototype": {"polluted": "yes"}}}],')],
  ])('%s → 400, and no object is polluted', async (_label, poison) => {
    const app = await setup();
    const payload = poison(JSON.stringify(ticketBody()));
    expectProblem(await app.inject({ method: 'POST', url: '/v1/tickets', headers: json, payload }), 400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(await ticketCount(app)).toBe(0);
  });

  it.each(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])('content type %s → 415', async (type) => {
    const app = await setup();
    const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'content-type': type }, payload: JSON.stringify(ticketBody()) });
    expect(expectProblem(res, 415).type).toMatch(/unsupported-media-type$/);
    expect(await ticketCount(app)).toBe(0);
  });

  it('application/json with a charset is fine', async () => {
    const app = await setup();
    const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'content-type': 'application/json; charset=utf-8' }, payload: JSON.stringify(ticketBody()) });
    expect(res.statusCode, res.body).toBe(201);
  });
});

describe('text is stored as given, control characters refused', () => {
  it('control characters (NUL, ESC, BEL, CR, C1) and lone surrogates are refused, naming each field', async () => {
    const app = await setup();
    const res = await post(app, ticketBody({
      subject: 'Rot: \u001b[31mFEHLER\u001b[0m',
      description: 'a\u0000b',
      reporter: { name: 'Mustermann\u0007' },
      externalRef: 'ref-\u0085',
    }));
    expect(namedFields(res)).toEqual(['description', 'externalRef', 'reporter.name', 'subject']);
    expect(namedFields(await post(app, ticketBody({ description: 'Zeile\r\nZeile' })))).toEqual(['description']);
    expect(namedFields(await post(app, ticketBody({ subject: 'halb \ud83d' })))).toEqual(['subject']);
    expect(await ticketCount(app)).toBe(0);
  });

  it('tab, newline, bidi overrides (outside the subject) and markup come back byte for byte', async () => {
    const app = await setup();
    // A subject with a bidi override is refused (test/integration/security-http.test.ts).
    const odd = {
      subject: 'Rot: FEHLER gnp.exe \u200f',
      description: 'a\tb\u202ed\n<script>alert(1)</script> & &amp; {{x}} ${x} \u2028\u2029 \ud83d\ude00',
      reporter: { name: 'Mustermann\u202e' },
      externalRef: 'ref-\u202e-rechts',
    };
    const created = await post(app, ticketBody(odd));
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers['content-type']).toMatch(/^application\/json/);
    const id = created.json().id as string;
    for (const res of [created, await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: desk })]) {
      expect(res.json()).toMatchObject(odd);
    }
    const list = await app.inject({ method: 'GET', url: '/v1/tickets', headers: desk });
    expect(list.json().items[0]).toMatchObject(odd);
  });

  it('a description of 20,000 characters is kept whole; 20,001 is refused naming description', async () => {
    const app = await setup();
    const unit = 'Zeile ä€\t\n';
    const long = unit.repeat(Math.ceil(20_000 / unit.length)).slice(0, 20_000);
    expect(long).toHaveLength(20_000);
    const created = await post(app, ticketBody({ description: long }));
    expect(created.statusCode, created.body).toBe(201);
    const read = await app.inject({ method: 'GET', url: `/v1/tickets/${created.json().id}`, headers: desk });
    expect(read.json().description).toBe(long);
    expect(namedFields(await post(app, ticketBody({ description: `${long}x` })))).toEqual(['description']);
  });
});

describe('routes and parameters', () => {
  it('an unknown route or method → 404 problem, with or without a key', async () => {
    const app = await setup();
    for (const req of [
      { method: 'GET' as const, url: '/v2/tickets' },
      { method: 'GET' as const, url: '/v1/tickets/T1/nothing', headers: desk },
      { method: 'DELETE' as const, url: '/v1/tickets', headers: desk },
    ]) {
      expectProblem(await app.inject(req), 404);
    }
  });

  it.each([
    ['limit', 'limit=0'],
    ['limit', 'limit=201'],
    ['limit', 'limit=ten'],
    ['level', 'level=7'],
    ['level', 'level=0'],
    ['status', 'status=done'],
    ['land', 'land=XX'],
    ['sla', 'sla=late'],
    ['assignee', 'assignee=a:b'],
    ['cursor', 'cursor=a%20b'],
    ['colour', 'colour=blue'],
  ])('a bad query parameter (%s: %s) → 400 naming it', async (param, query) => {
    const app = await setup();
    const body = expectProblem(await app.inject({ method: 'GET', url: `/v1/tickets?${query}`, headers: desk }), 400);
    expect(body.errors?.map((e) => e.path)).toEqual([expect.stringMatching(new RegExp(`(^|\\.)${param}$`))]);
  });

  it('several bad parameters are all named', async () => {
    const app = await setup();
    const body = expectProblem(await app.inject({ method: 'GET', url: '/v1/tickets?limit=0&level=7&colour=blue', headers: desk }), 400);
    const params = (body.errors ?? []).map((e) => e.path.split('.').pop()).sort();
    expect(params).toEqual(['colour', 'level', 'limit']);
  });

  it('a ticket id that cannot be one → 400 naming it, not a 500', async () => {
    const app = await setup();
    for (const id of ['a:b', 'x'.repeat(100), '%00', '123']) {
      const body = expectProblem(await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: desk }), 400);
      expect(body.errors?.map((e) => e.path)).toEqual([expect.stringMatching(/(^|\.)id$/)]);
    }
  });
});
