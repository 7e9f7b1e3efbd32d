import { describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import type { WorkerRole } from '../../src/runtime.js';
import { harnessPerTest } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const harness = harnessPerTest();
const setup = async (roles: WorkerRole[] = []): Promise<App> => (await harness({ roles })).app();

describe('health', () => {
  it('GET /healthz answers 200 without a key', async () => {
    const app = await setup();
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when Redis answers and every worker role runs', async () => {
    const app = await setup(['intake', 'events', 'sla', 'relay', 'backlog', 'retention']);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', checks: { redis: 'ok', workers: 'ok' } });
  });

  it.each([
    ['no workers', [] as WorkerRole[]],
    ['only some roles', ['intake', 'events'] as WorkerRole[]],
  ])('GET /readyz answers a 503 problem naming workers with %s', async (_label, roles) => {
    const app = await setup(roles);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    const body = expectProblem(res, 503);
    expect(body).toMatchObject({ checks: { redis: 'ok', workers: 'failing' } });
    expect(body.detail).toContain('workers');
    expect(body.detail).not.toContain('redis');
  });

  it.each([
    ['no workers', [] as WorkerRole[], 'missing roles: intake, events, sla, relay, backlog, retention'],
    ['intake and events only', ['intake', 'events'] as WorkerRole[], 'missing roles: sla, relay, backlog, retention'],
    ['every role but the relay', ['intake', 'events', 'sla', 'backlog', 'retention'] as WorkerRole[], 'missing roles: relay'],
  ])('GET /readyz with %s names the missing roles', async (_label, roles, reason) => {
    const app = await setup(roles);
    const body = expectProblem(await app.inject({ method: 'GET', url: '/readyz' }), 503);
    expect(body.detail).toBe(`Not ready: workers failing (${reason})`);
    expect(body.reasons).toEqual({ workers: reason });
  });

  it('readiness follows the workers: ready once they run, not ready once they stop', async () => {
    const h = await harness();
    const app = await h.app();
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    await h.runtime.startWorkers(['intake', 'events', 'sla', 'relay', 'backlog', 'retention']);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('GET /docs', () => {
  type Operation = {
    parameters?: { in: string; name: string }[];
    requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
    responses: Record<string, unknown>;
  };
  type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>>; components?: { securitySchemes?: Record<string, unknown> } };

  async function openapi(app: App): Promise<OpenApi> {
    const res = await app.inject({ method: 'GET', url: '/docs', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    return res.json();
  }

  it('answers API clients with an OpenAPI 3.1 document of every route', async () => {
    const doc = await openapi(await setup());
    expect(doc.openapi).toMatch(/^3\.1\./);
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/tickets',
        'GET /v1/tickets',
        'GET /v1/tickets/{id}',
        'POST /v1/tickets/{id}/events',
        'GET /v1/tickets/{id}/history',
        'GET /healthz',
        'GET /readyz',
      ]),
    );
    expect(doc.components?.securitySchemes).toHaveProperty('bearer');
  });

  it('is generated from the zod schemas: the create body, the list filters, the event types, the problems', async () => {
    const doc = await openapi(await setup());
    const create = doc.paths['/v1/tickets']!.post!;
    const body = create.requestBody!.content['application/json']!.schema as { properties: Record<string, unknown>; required: string[]; additionalProperties: unknown };
    expect(Object.keys(body.properties).sort()).toEqual(
      ['externalRef', 'channel', 'land', 'ars', 'service', 'category', 'impact', 'urgency', 'subject', 'description', 'reporter', 'attachments', 'receivedAt'].sort(),
    );
    expect(body.required).toEqual(expect.arrayContaining(['externalRef', 'channel', 'service', 'category', 'impact', 'urgency', 'subject']));
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.channel).toMatchObject({ enum: ['phone-115', 'service-desk', 'email', 'web', 'chat'] });
    expect(create.parameters?.map((p) => `${p.in}:${p.name}`)).toContain('header:idempotency-key');
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['200', '201', '401', '403', '409', '413', '422']));

    const list = doc.paths['/v1/tickets']!.get!;
    expect(list.parameters?.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(
      ['active', 'assignee', 'cursor', 'externalRef', 'land', 'level', 'limit', 'order', 'priority', 'q', 'service', 'sla', 'sort', 'status'],
    );

    const events = doc.paths['/v1/tickets/{id}/events']!.post!;
    const eventSchema = JSON.stringify(events.requestBody!.content['application/json']!.schema);
    for (const type of ['ACCEPT', 'REQUEST_INFO', 'INFO_RECEIVED', 'ESCALATE', 'RETURN', 'REJECT_HANDOFF', 'RESOLVE', 'REOPEN', 'NOTE', 'CLOSE', 'SUGGEST_IMPROVEMENT']) {
      expect(eventSchema).toContain(`"${type}"`);
    }
    expect(events.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['path:id', 'header:if-match']));
    expect(Object.keys(events.responses)).toEqual(expect.arrayContaining(['200', '403', '404', '409', '412', '422']));
  });

  it('answers people with a page', async () => {
    const app = await setup();
    const res = await app.inject({ method: 'GET', url: '/docs', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/<html/i);
    expect(res.body).toContain('swagger-ui');
  });
});
