import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDOFF_EVENT_TYPES } from '../../src/domain/cloudevent.js';
import { CreateTicketSchema } from '../../src/domain/ticket.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * The HTTP routes of the contract (docs/reference/api.md, "Routes"), in one table. `key`:
 * the route needs an API key (so it must document a 401 problem besides its
 * other errors). A route others are still building carries `pending`:
 * delete the mark once it exists, and the tests below hold it to the same rules.
 */
const CONTRACT_ROUTES: { route: string; key: boolean; pending?: true }[] = [
  { route: 'POST /v1/tickets', key: true },
  { route: 'GET /v1/tickets/{id}', key: true },
  { route: 'GET /v1/tickets', key: true },
  { route: 'POST /v1/tickets/{id}/events', key: true },
  { route: 'GET /v1/tickets/{id}/history', key: true },
  { route: 'GET /v1/backlog', key: true },
  { route: 'GET /v1/backlog/{id}', key: true },
  { route: 'POST /v1/backlog/{id}/events', key: true },
  { route: 'GET /v1/reports/cost-split', key: true },
  { route: 'GET /v1/stats', key: true },
  { route: 'GET /v1/stream', key: true },
  { route: 'GET /healthz', key: false },
  { route: 'GET /readyz', key: false },
  { route: 'GET /metrics', key: false },
  { route: 'GET /docs', key: false },
  { route: 'GET /docs/asyncapi', key: false },
  { route: 'GET /dashboard', key: false },
  { route: 'GET /admin/queues', key: false },
];

type Response = { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> };
type Operation = { responses: Record<string, Response>; security?: unknown[] };
type OpenApi = { openapi: string; info: { version: string }; paths: Record<string, Record<string, Operation>> };
type Json = Record<string, unknown>;

let h: Harness;
let openapi: OpenApi;
let asyncapi: Json;

beforeAll(async () => {
  h = await createHarness();
  const app = await h.app();
  const docs = await app.inject({ method: 'GET', url: '/docs', headers: { accept: 'application/json' } });
  expect(docs.statusCode).toBe(200);
  openapi = docs.json();
  const async = await app.inject({ method: 'GET', url: '/docs/asyncapi' });
  expect(async.statusCode, async.body).toBe(200);
  expect(async.headers['content-type']).toMatch(/^application\/json/);
  asyncapi = async.json();
});
afterAll(async () => h.close());

const operation = (route: string): Operation | undefined => {
  const [method, path] = route.split(' ') as [string, string];
  return openapi.paths[path]?.[method.toLowerCase()];
};

/** A problem response: RFC 9457 members in the schema of one of its media types. */
const isProblem = (r: Response | undefined) =>
  Object.values(r?.content ?? {}).some((c) => {
    const props = (c.schema?.properties ?? {}) as Json;
    return ['type', 'title', 'status', 'detail'].every((p) => p in props);
  });

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and carries the package\'s version', () => {
    expect(openapi.openapi).toBe('3.1.0');
    expect(openapi.info.version).toBe(PACKAGE.version);
  });

  for (const { route, key, pending } of CONTRACT_ROUTES) {
    const name = `documents ${route}${key ? ' with its 4xx problems, 401 among them' : ''}`;
    if (pending) {
      it.todo(name);
      continue;
    }
    it(name, () => {
      const op = operation(route);
      expect(op, `${route} is missing from the OpenAPI document`).toBeDefined();
      if (!key) return;
      const problems = Object.entries(op!.responses).filter(([code, r]) => /^4\d\d$/.test(code) && isProblem(r)).map(([code]) => code);
      expect(problems).toContain('401');
      expect(problems.length, `${route} names only 401 among its errors`).toBeGreaterThan(1);
    });
  }

  it('names a server error problem on every route Lotse answers itself, and a 4xx problem on every route that needs a key', () => {
    for (const [path, ops] of Object.entries(openapi.paths)) {
      if (path === '/docs') continue; // swagger-ui's own route, described by hand
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(isProblem(op.responses['500']), `${where}: 500`).toBe(true);
        expect(isProblem(op.responses['503']), `${where}: 503`).toBe(true);
        if (path.startsWith('/v1/')) expect(Object.keys(op.responses).filter((c) => /^4/.test(c) && isProblem(op.responses[c])).length, `${where}: 4xx`).toBeGreaterThan(0);
      }
    }
  });
});

/** The value a local `$ref` points at. */
function resolve(doc: Json, ref: string): unknown {
  expect(ref, 'only local references').toMatch(/^#\//);
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Json)[part] : undefined), doc);
}

const deref = (doc: Json, node: unknown): Json => {
  const n = node as Json;
  return typeof n?.$ref === 'string' ? deref(doc, resolve(doc, n.$ref)) : n;
};

function allRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => allRefs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else allRefs(v, out);
    }
  }
  return out;
}

describe('the AsyncAPI document', () => {
  type Channel = { address: string | null; messages: Record<string, unknown>; parameters?: Record<string, unknown> };
  const channels = () => asyncapi.channels as Record<string, Channel>;
  const byAddress = (address: string) => Object.entries(channels()).find(([, c]) => c.address === address);

  it('has the structure of AsyncAPI 3.0: version, info, channels with address and messages, operations, components', () => {
    expect(asyncapi.asyncapi).toBe('3.0.0');
    expect(asyncapi.info).toMatchObject({ title: expect.any(String), version: PACKAGE.version });
    expect(Object.keys(channels()).length).toBeGreaterThan(0);
    for (const [name, channel] of Object.entries(channels())) {
      expect(typeof channel.address === 'string' || channel.address === null, `${name}.address`).toBe(true);
      expect(Object.keys(channel.messages ?? {}).length, `${name}.messages`).toBeGreaterThan(0);
      // Every {parameter} of an address is declared on the channel.
      for (const [, param] of (channel.address ?? '').matchAll(/\{([^}]+)\}/g)) expect(channel.parameters, `${name}: parameter ${param}`).toHaveProperty(param!);
      for (const [m, msg] of Object.entries(channel.messages)) {
        const message = deref(asyncapi, msg);
        expect(message.payload, `${name}.messages.${m}.payload`).toBeDefined();
        expect(deref(asyncapi, message.payload).type, `${name}.messages.${m}: a schema`).toBe('object');
      }
    }
    const operations = asyncapi.operations as Record<string, { action: string; channel: { $ref: string }; messages?: { $ref: string }[] }>;
    expect(Object.keys(operations).length).toBeGreaterThan(0);
    for (const [name, op] of Object.entries(operations)) {
      expect(['send', 'receive'], `${name}.action`).toContain(op.action);
      expect(op.channel.$ref, `${name}.channel`).toMatch(/^#\/channels\/[^/]+$/);
      expect(resolve(asyncapi, op.channel.$ref), `${name}.channel resolves`).toBeDefined();
      // An operation's messages are messages of its own channel.
      for (const m of op.messages ?? []) expect(m.$ref.startsWith(`${op.channel.$ref}/messages/`), `${name}: ${m.$ref}`).toBe(true);
    }
    expect(asyncapi.components).toMatchObject({ schemas: expect.any(Object), messages: expect.any(Object) });
    for (const ref of allRefs(asyncapi)) expect(resolve(asyncapi, ref), `${ref} resolves`).toBeDefined();
  });

  it.each([
    ['the intake queue', 'intake', 'receive'],
    ['the events queue', 'events', 'receive'],
    ["an organisation's own intake queue", 'intake-{orgId}', 'receive'],
    ["an organisation's own events queue", 'events-{orgId}', 'receive'],
    ['the handoff queues', 'handoff-{orgId}', 'send'],
    ['the webhook', '{webhookUrl}', 'send'],
    ['the event stream', '{prefix}:events', 'send'],
    ['the SSE stream', '/v1/stream', 'send'],
  ])('describes %s (%s), with an operation Lotse does on it', (_label, address, action) => {
    const found = byAddress(address);
    expect(found, `no channel at ${address}`).toBeDefined();
    const operations = Object.values(asyncapi.operations as Record<string, { action: string; channel: { $ref: string } }>);
    expect(operations.some((o) => o.action === action && o.channel.$ref === `#/channels/${found![0]}`)).toBe(true);
  });

  it('gives the queues\' job payloads from the zod schemas: the create body plus orgId, and the events job', () => {
    const [, intake] = byAddress('intake')!;
    const job = deref(asyncapi, deref(asyncapi, Object.values(intake.messages)[0]).payload);
    expect(Object.keys(job.properties as Json).sort()).toEqual([...Object.keys(CreateTicketSchema.shape), 'orgId'].sort());
    expect(job.additionalProperties).toBe(false);
    const [, events] = byAddress('events')!;
    const eventsJob = deref(asyncapi, deref(asyncapi, Object.values(events.messages)[0]).payload);
    expect(eventsJob.required).toEqual(expect.arrayContaining(['ticketId', 'orgId', 'event']));
    // On an organisation's own queue the queue says who sent the job: orgId may be left out.
    for (const [address, required] of [['intake-{orgId}', ['subject']], ['events-{orgId}', ['ticketId', 'event']]] as const) {
      const [, own] = byAddress(address)!;
      const ownJob = deref(asyncapi, deref(asyncapi, Object.values(own.messages)[0]).payload);
      expect(ownJob.required, address).toEqual(expect.arrayContaining([...required]));
      expect(ownJob.required, address).not.toContain('orgId');
      expect(Object.keys(ownJob.properties as Json), address).toContain('orgId');
    }
  });

  it('gives the three handoff CloudEvent types, on the queue and the webhook, the webhook with Standard Webhooks headers', () => {
    for (const address of ['handoff-{orgId}', '{webhookUrl}']) {
      const [, channel] = byAddress(address)!;
      const types = Object.values(channel.messages).map((m) => {
        const payload = deref(asyncapi, deref(asyncapi, m).payload);
        expect(payload.required).toEqual(expect.arrayContaining(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data']));
        return ((payload.properties as Json).type as Json).const;
      });
      expect(types.sort()).toEqual(Object.values(HANDOFF_EVENT_TYPES).sort());
    }
    const [, webhook] = byAddress('{webhookUrl}')!;
    for (const m of Object.values(webhook.messages)) {
      const headers = deref(asyncapi, deref(asyncapi, m).headers);
      expect(Object.keys(headers.properties as Json)).toEqual(expect.arrayContaining(['webhook-id', 'webhook-timestamp', 'webhook-signature']));
    }
  });

  it('is public like /docs', async () => {
    const res = await (await h.app()).inject({ method: 'GET', url: '/docs/asyncapi', headers: { authorization: 'Bearer nonsense' } });
    expect(res.statusCode).toBe(200);
  });
});
