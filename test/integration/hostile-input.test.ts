import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, ticketBody, type Harness } from '../helpers/harness.js';
import type { Problem } from '../helpers/http.js';

/**
 * Generated hostile requests against a real app on real Redis: zero 5xx,
 * every refusal a problem document, and where a body or query field was
 * wrong, the refusal names it.
 */
const topology = parseTopology(
  { ...(structuredClone(DEFAULT_TOPOLOGY) as TopologyInput), limits: { rate: { desk: { max: 1_000_000, windowSeconds: 60 }, provider: { max: 1_000_000, windowSeconds: 60 } } } },
  'unlimited topology',
);
const desk = bearer('desk-BY');
const CREATE_FIELDS = ['externalRef', 'channel', 'land', 'ars', 'service', 'category', 'impact', 'urgency', 'subject', 'description', 'reporter', 'attachments', 'receivedAt'];
const QUERY_FIELDS = ['level', 'status', 'assignee', 'land', 'service', 'sla', 'priority', 'active', 'limit', 'cursor', 'externalRef', 'q', 'sort', 'order'];

let h: Harness;
let app: App;
let port: number;
let ticketId: string;
let sent = 0;

beforeAll(async () => {
  h = await createHarness({ topology, env: { LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' } });
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
  ticketId = (await app.inject({ method: 'POST', url: '/v1/tickets', headers: desk, payload: ticketBody() })).json().id as string;
});

afterAll(async () => {
  // Still alive, and nothing was answered with a 5xx on the way (asserted per request).
  expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  expect(sent).toBeGreaterThanOrEqual(10_000);
  await h.close();
});

async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  sent++;
  return app.inject(opts);
}

/** No 5xx; a refusal is a problem document without internals; answers its body. */
function check(res: { statusCode: number; headers: Record<string, unknown>; body: string }): Problem | undefined {
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (res.statusCode < 400) return undefined;
  expect(res.headers['content-type'], res.body).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Problem;
  expect(body.status).toBe(res.statusCode);
  expect(body).toMatchObject({ type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  expect(res.body).not.toMatch(/FST_|node_modules|\bat .+\.(ts|js):\d+/);
  return body;
}

/** A refusal of a wrong field names it (or a path inside it). */
function expectNamed(problem: Problem | undefined, field: string, alternatives: string[] = []) {
  const paths = (problem?.errors ?? []).map((e) => e.path);
  const ok = paths.some((p) => p === field || p.startsWith(`${field}.`) || alternatives.includes(p));
  expect(ok, `${field} not named in ${JSON.stringify(problem)}`).toBe(true);
}

const nest = (depth: number): unknown => (depth === 0 ? 'x' : depth % 2 ? [nest(depth - 1)] : { a: nest(depth - 1) });

/** Values no field expects, or expects only in moderation. */
const hostile = fc.oneof(
  fc.anything({ maxDepth: 3, withNullPrototype: false }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '\u0000', 'a\u001b[31mb', 'x\u0085y', 'Zeile\r\n', 'halb\ud800', '\udc00', '\u202e', '%00', '../../etc/passwd', '${jndi:x}', '<script>'),
  fc.integer({ min: 190, max: 40_000 }).map((n) => 'ä'.repeat(n)),
  fc.integer({ min: 3, max: 60 }).map(nest),
  fc.constantFrom(-1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2, -0, true, null, [], {}),
);
const unknownKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'orgId', 'id', 'version'), fc.string({ maxLength: 20 }));

type Mutation = { kind: 'set'; field: string; value: unknown } | { kind: 'drop'; field: string } | { kind: 'add'; field: string; value: unknown };
const mutation = (fields: string[]) =>
  fc.oneof(
    fc.record({ kind: fc.constant('set' as const), field: fc.constantFrom(...fields), value: hostile }),
    fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...fields) }),
    fc.record({ kind: fc.constant('add' as const), field: unknownKey, value: fc.oneof(hostile, fc.constant({ prototype: { polluted: true } })) }),
  );

/** Serialised by hand: JSON.stringify would not write `__proto__` as a key. */
function serialise(base: Record<string, unknown>, m: Mutation): string {
  const entries = Object.entries(base).filter(([k]) => k !== m.field);
  if (m.kind !== 'drop') entries.push([m.field, m.value]);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
}

function expectFieldRefusal(problem: Problem | undefined, status: number, m: Mutation, alternatives: string[]) {
  if (!problem) return;
  expect(problem.errors?.length, JSON.stringify(problem)).toBeGreaterThan(0);
  const paths = problem.errors!.map((e) => e.path);
  // The depth and encoding guards name the body as a whole; everything else names the field.
  if (status === 400 && paths.every((p) => p === '')) return;
  expectNamed(problem, m.field, alternatives);
}

describe('generated hostile requests', () => {
  it('create bodies: wrong types, missing and unknown fields, huge strings, control characters, poisoned keys, deep nesting', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(mutation(CREATE_FIELDS), async (m) => {
        const res = await send({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'content-type': 'application/json' }, payload: serialise(ticketBody(), m) });
        const problem = check(res);
        if (res.statusCode === 400 || res.statusCode === 422) expectFieldRefusal(problem, res.statusCode, m, m.field === 'land' || m.field === 'ars' ? ['land', 'ars'] : []);
        else if (problem) expect([413], res.body).toContain(res.statusCode);
      }),
      { numRuns: 2000 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('event bodies (the valid ones meet a stale If-Match and change nothing)', { timeout: 240_000 }, async () => {
    const base = fc.constantFrom<Record<string, unknown>>(
      { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'low', reason: 'x' },
      { type: 'ESCALATE', reason: 'x' },
      { type: 'RESOLVE', resolution: 'y' },
      { type: 'ACCEPT', note: 'n' },
    );
    await fc.assert(
      fc.asyncProperty(base, mutation(['type', 'impact', 'urgency', 'reason', 'resolution', 'note']), async (event, m) => {
        const res = await send({ method: 'POST', url: `/v1/tickets/${ticketId}/events`, headers: { ...desk, 'content-type': 'application/json', 'if-match': '"999999"' }, payload: serialise(event, m) });
        const problem = check(res);
        if (res.statusCode === 422 && m.field in event) expectFieldRefusal(problem, 422, m, ['type']);
        else if (res.statusCode === 422 || res.statusCode === 400) expect(problem?.errors?.length, res.body).toBeGreaterThan(0);
        else expect([412, 413], res.body).toContain(res.statusCode);
      }),
      { numRuns: 2000 },
    );
    const ticket = (await send({ method: 'GET', url: `/v1/tickets/${ticketId}`, headers: desk })).json();
    expect(ticket.version).toBe(1);
  });

  it('queries: unknown keys, wrong values, repeated keys', { timeout: 240_000 }, async () => {
    const key = fc.oneof(fc.constantFrom(...QUERY_FIELDS), unknownKey);
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('-1', '0', '1e9', 'NaN', 'true', 'P9', '9', ''), fc.integer({ min: 101, max: 5000 }).map((n) => 'z'.repeat(n)));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 4 }), async (pairs) => {
        const qs = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        const res = await send({ method: 'GET', url: `/v1/tickets?${qs}`, headers: desk });
        const problem = check(res);
        if (res.statusCode === 400) {
          expect(problem?.errors?.length, res.body).toBeGreaterThan(0);
          for (const e of problem!.errors!) expect(e.path).toMatch(/^querystring/);
          const unknown = pairs.map(([k]) => k).filter((k) => !QUERY_FIELDS.includes(k));
          // An empty key ("=x") is the query itself.
          if (unknown.length > 0) expect(problem!.errors!.map((e) => e.path)).toContain(unknown[0] ? `querystring.${unknown[0]}` : 'querystring');
        } else expect(res.statusCode, res.body).toBe(200);
      }),
      { numRuns: 1500 },
    );
  });

  it('garbage in paths', { timeout: 240_000 }, async () => {
    const segment = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }).map(encodeURIComponent), fc.constantFrom('%zz', '%', '%c3%28', '..', '%2e%2e', '%00', 'T'.repeat(300), '%F0%9F%98', ';', '*'));
    const shape = fc.constantFrom('/v1/tickets/S', '/v1/tickets/S/history', '/v1/tickets/S/events', '/v1/tickets/S/sla', '/S', '/v1/S');
    await fc.assert(
      fc.asyncProperty(shape, segment, fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'OPTIONS', 'HEAD'), async (s, seg, method) => {
        const res = await send({ method: method as InjectOptions['method'], url: s.replace('S', seg), headers: { ...desk, 'content-type': 'application/json' }, payload: method === 'GET' || method === 'HEAD' ? undefined : '{}' });
        if (method === 'HEAD') return void expect(res.statusCode).toBeLessThan(500);
        check(res);
        expect(res.statusCode, `${method} ${s.replace('S', seg)} ${res.body}`).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 2500 },
    );
  });

  it('garbage in headers: keys, versions, idempotency keys, content types', { timeout: 240_000 }, async () => {
    const visible = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('authorization', 'if-match', 'idempotency-key', 'content-type', 'accept', 'x-request-id'), visible, async (name, value) => {
        const post = name === 'idempotency-key' || name === 'content-type';
        const headers = { ...desk, 'content-type': 'application/json', [name]: value };
        const res = post
          ? await send({ method: 'POST', url: '/v1/tickets', headers, payload: JSON.stringify(ticketBody()) })
          : await send({ method: 'POST', url: `/v1/tickets/${ticketId}/events`, headers: { 'if-match': '"999999"', ...headers }, payload: { type: 'ACCEPT' } });
        const problem = check(res);
        if (res.statusCode === 400 && (name === 'if-match' || name === 'idempotency-key')) expectNamed(problem, `headers.${name}`);
        if (name === 'authorization' && !/^Bearer\s+dev-desk-BY\s*$/i.test(value)) expect(res.statusCode).toBe(401);
      }),
      { numRuns: 1500 },
    );
  });

  it('replayed idempotency keys with other bodies → 422, the first ticket or event untouched', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/), fc.string({ minLength: 1, maxLength: 50 }), async (key, subject) => {
        const first = ticketBody();
        const k = `${key}-${sent}`;
        const created = await send({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'idempotency-key': k }, payload: first });
        expect(created.statusCode, created.body).toBe(201);
        const other = await send({ method: 'POST', url: '/v1/tickets', headers: { ...desk, 'idempotency-key': k }, payload: { ...first, subject: `${subject} anders` } });
        expect(check(other)?.type).toMatch(/idempotency-key-reused$/);
        const id = created.json().id as string;
        const applied = await send({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: { ...desk, 'idempotency-key': k }, payload: { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'high', reason: 'a' } });
        expect(applied.statusCode, applied.body).toBe(200);
        const again = await send({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: { ...desk, 'idempotency-key': k }, payload: { type: 'CHANGE_PRIORITY', impact: 'low', urgency: 'low', reason: 'b' } });
        expect(check(again)?.status).toBe(422);
        const ticket = (await send({ method: 'GET', url: `/v1/tickets/${id}`, headers: desk })).json();
        expect([ticket.version, ticket.subject]).toEqual([2, first.subject]);
      }),
      { numRuns: 150 },
    );
  });

  it('invalid UTF-8 as raw bytes over a real socket → 400 naming the field, never stored replaced', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.constantFrom('subject', 'description'), async (bytes, field) => {
        const text = JSON.stringify(ticketBody({ [field]: 'vorXXnach' }));
        const at = Buffer.from(text).indexOf('XX');
        const clean = Array.from(bytes, (b) => (b === 0x22 || b === 0x5c || b < 0x20 ? 0x41 : b)); // keep the JSON string closed
        const body = Buffer.concat([Buffer.from(text).subarray(0, at), Buffer.from(clean), Buffer.from(text).subarray(at + 2)]);
        sent++;
        const res = await new Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
          const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/tickets', headers: { ...desk, 'content-type': 'application/json', 'content-length': body.length } }, (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.on('end', () => resolve({ statusCode: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks).toString('utf8') }));
          });
          req.on('error', reject);
          req.end(body);
        });
        const problem = check(res);
        if (!Buffer.from(clean).toString('utf8').includes('\ufffd') || Buffer.from(Buffer.from(clean).toString('utf8')).equals(Buffer.from(clean))) {
          // Valid UTF-8: stored as sent, or refused for a control character it holds (C1), naming the field.
          if (problem) expectNamed(problem, field);
        } else {
          expect(res.statusCode, res.body).toBe(400);
          expect(problem!.errors).toEqual([{ path: field, message: 'not valid UTF-8' }]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
