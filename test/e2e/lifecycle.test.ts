import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dropPrefix, newPrefix, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { callAs, spawnLotse, type LotseProcess } from '../helpers/process.js';

let lotse: LotseProcess;
let url: string;
let redis: Redis;
const prefix = newPrefix('e2e');

beforeAll(async () => {
  redis = new Redis(redisUrl());
  lotse = spawnLotse(['start'], { REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix });
  url = await lotse.url();
});

afterAll(async () => {
  await lotse.kill();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const call = (orgId: string, method: string, path: string, body?: unknown) => callAs(url, orgId, method, path, body);

it('drives a ticket from a Land desk through all three levels and back over HTTP', async () => {
  const created = await call('desk-BY', 'POST', '/v1/tickets', ticketBody({ ars: '091620000000', land: undefined, service: 'uvo', reporter: { name: 'Erika Mustermann' } }));
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  expect(created.body).toMatchObject({ land: 'BY', level: 1, status: 'new', assignee: 'desk-BY', version: 1 });

  const steps: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['desk-BY', { type: 'ACCEPT' }, { level: 1, status: 'open' }],
    ['desk-BY', { type: 'ESCALATE', reason: 'Fehler beim Absenden' }, { level: 2, status: 'handoff-pending', assignee: 'dataport' }],
    ['dataport', { type: 'ACCEPT' }, { level: 2, status: 'open', assignee: 'dataport' }],
    ['dataport', { type: 'ESCALATE', reason: 'Zustellung ans Landesnetz scheitert' }, { level: 3, status: 'handoff-pending', assignee: 'it-BY' }],
    ['it-BY', { type: 'ACCEPT' }, { level: 3, status: 'open' }],
    ['it-BY', { type: 'RETURN', answer: 'Zertifikat des Postfachs erneuert' }, { level: 2, status: 'open', assignee: 'dataport' }],
    ['dataport', { type: 'RETURN', answer: 'Bitte erneut absenden' }, { level: 1, status: 'open', assignee: 'desk-BY' }],
    ['desk-BY', { type: 'RESOLVE', resolution: 'Antrag angekommen' }, { level: null, status: 'resolved' }],
    ['desk-BY', { type: 'CLOSE' }, { level: null, status: 'closed' }],
  ];
  let version = 1;
  for (const [orgId, event, expected] of steps) {
    const res = await call(orgId, 'POST', `/v1/tickets/${id}/events`, event);
    expect(res.status, `${orgId} ${String(event.type)}: ${JSON.stringify(res.body)}`).toBe(200);
    expect(res.body).toMatchObject({ ...expected, version: ++version });
  }

  const history = await call('ops-bremen', 'GET', `/v1/tickets/${id}/history`);
  expect((history.body.items as { type: string }[]).map((e) => e.type)).toEqual(['CREATED', ...steps.map(([, e]) => e.type)]);
  // The operator reads the ticket but not the citizen's name; the desk does.
  expect((await call('ops-bremen', 'GET', `/v1/tickets/${id}`)).body.reporter).toBeUndefined();
  expect((await call('desk-BY', 'GET', `/v1/tickets/${id}`)).body.reporter).toEqual({ name: 'Erika Mustermann' });
  // Every change reached the public event stream once.
  await waitFor(async () => (await redis.xlen(`${prefix}:events`)) >= steps.length + 1, { what: 'the event stream' });
  const ids = (await redis.xrange(`${prefix}:events`, '-', '+')).map(([, f]) => f[1]);
  expect(ids).toEqual(Array.from({ length: steps.length + 1 }, (_, i) => `${id}-v${i + 1}`));
});

it('closes cleanly on SIGTERM', async () => {
  const { code } = await lotse.stop();
  expect(code).toBe(0);
  expect(lotse.logs.some((l) => l.msg === 'shutting down')).toBe(true);
});
