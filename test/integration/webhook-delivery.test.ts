import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { Topology, TopologyInput } from '../../src/domain/topology.js';
import { bearer, createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const SECRET = `whsec_${Buffer.from('lotse-webhook-test-secret-32byte').toString('base64')}`;
const REPORTER = { name: 'Erika Mustermann', email: 'erika@example.org', phone: '+49 421 1234567' };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** Verified with the standardwebhooks library, independently of Lotse's signing code. */
  verified: boolean;
  arrivedAt: number;
}
type Answer = { status: number; headers?: Record<string, string> };

/** A provider's endpoint: a real HTTP server on a free port that answers as `respond` says. */
async function startReceiver(respond: (n: number) => Answer) {
  const received: Received[] = [];
  const state = { respond };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      try {
        new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      received.push({ headers: req.headers, body, verified, arrivedAt: Date.now() });
      const answer = state.respond(received.length);
      res.writeHead(answer.status, answer.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answer(respond: (n: number) => Answer) {
      state.respond = respond;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** The built-in topology with a webhook for Dataport. */
function webhookTopology(url: string): Topology {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) => (o.id === 'dataport' ? { ...o, webhook: { url, secret: SECRET } } : o));
  return parseTopology(base, 'webhook topology');
}

let h: Harness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

async function setup(respond: (n: number) => Answer, env: Record<string, string> = {}) {
  receiver = await startReceiver(respond);
  h = await createHarness({
    topology: webhookTopology(receiver.url),
    roles: ['relay', 'webhook'],
    principalEnv: { LOTSE_WEBHOOK_BACKOFF_MS: '20', LOTSE_WEBHOOK_ATTEMPTS: '3', ...env },
  });
  return { h, receiver };
}

/** A ticket of desk-BY, accepted and escalated: its level 2 (Dataport for uvo and elfe) gets `lotse.ticket.handoff.requested`. */
async function escalate(service = 'uvo', reporter: Record<string, string> | undefined = REPORTER): Promise<{ ticketId: string; eventId: string }> {
  const desk = dev('desk-BY');
  const engine = h!.runtime.engine;
  const { record } = await engine.createTicket(desk, ticketBody({ service, ...(reporter ? { reporter } : {}) }));
  await engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  const escalated = await engine.applyEvent(desk, record.id, { type: 'ESCALATE', reason: 'Upload schlägt fehl' });
  expect(escalated.state.context.assignee).toBe('dataport');
  return { ticketId: record.id, eventId: `${record.id}-v${escalated.version}-handoff-dataport` };
}

const webhookJob = (id: string) => h!.runtime.queues.queue('webhook').getJob(id);
const deadLetter = (id: string) => h!.redis.hget(`${h!.prefix}:wh:dead`, id);
const bodies = (r: Receiver) => r.received.map((x) => JSON.parse(x.body) as { id: string; type: string; subject: string; data: unknown });

describe('webhook delivery', () => {
  it('POSTs the handoff CloudEvent once, signed, in structured mode, the same event as on the handoff queue', async () => {
    const { receiver } = await setup(() => ({ status: 204 }));
    const { ticketId, eventId } = await escalate();
    const job = await waitFor(async () => ((await webhookJob(`wh-${eventId}`))?.finishedOn ? webhookJob(`wh-${eventId}`) : null), { what: 'the delivery to finish' });
    expect(job?.returnvalue).toEqual({ outcome: 'delivered', status: 204 });
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    expect(got!.verified).toBe(true);
    expect(got!.headers['content-type']).toBe('application/cloudevents+json');
    expect(got!.headers['webhook-id']).toBe(eventId);
    expect(Number(got!.headers['webhook-timestamp'])).toBeGreaterThan(1_700_000_000);
    expect(got!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const event = JSON.parse(got!.body) as Record<string, unknown>;
    expect(event).toMatchObject({ specversion: '1.0', id: eventId, type: 'lotse.ticket.handoff.requested', subject: ticketId, datacontenttype: 'application/json' });
    const queued = await h!.runtime.queues.queue('handoff-dataport').getJob(eventId);
    expect(event).toEqual(queued?.data);

    // The effect run again (as after a relay crash) adds no second delivery: the job id is the event id.
    await h!.runtime.queues.deliverWebhooks([{ jobId: `wh-${eventId}`, data: { orgId: 'dataport', event: queued!.data } }], 3);
    expect(await h!.runtime.queues.queue('webhook').getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 0 });
    expect(receiver.received).toHaveLength(1);
  });

  it('retries 5xx with backoff: the same webhook-id each time, a timestamp of each attempt, delivered on the third', async () => {
    const { receiver } = await setup((n) => ({ status: n <= 2 ? 500 : 200 }));
    const { eventId } = await escalate();
    const job = await waitFor(async () => ((await webhookJob(`wh-${eventId}`))?.finishedOn ? webhookJob(`wh-${eventId}`) : null), { what: 'the delivery to finish' });
    expect(job?.returnvalue).toEqual({ outcome: 'delivered', status: 200 });
    expect(job?.attemptsMade).toBe(3);
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));
    for (const r of receiver.received) {
      expect(r.verified).toBe(true);
      // Signed when sent, not when first queued: the timestamp is the attempt's own second.
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Math.floor(r.arrivedAt / 1000))).toBeLessThanOrEqual(1);
    }
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    expect(await deadLetter(eventId)).toBeNull();
  });

  it('waits out 429 with Retry-After without using an attempt, then delivers with a new timestamp', async () => {
    // One attempt only: had the 429 used it up, the event would be dead-lettered.
    const { receiver } = await setup((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }), { LOTSE_WEBHOOK_ATTEMPTS: '1' });
    const { eventId } = await escalate();
    const job = await waitFor(async () => ((await webhookJob(`wh-${eventId}`))?.finishedOn ? webhookJob(`wh-${eventId}`) : null), { what: 'the delivery to finish' });
    expect(job?.returnvalue).toEqual({ outcome: 'delivered', status: 200 });
    expect(receiver.received).toHaveLength(2);
    const [first, second] = receiver.received;
    expect(second!.arrivedAt - first!.arrivedAt).toBeGreaterThanOrEqual(1000);
    expect(Number(second!.headers['webhook-timestamp'])).toBeGreaterThan(Number(first!.headers['webhook-timestamp']));
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second!.verified).toBe(true);
    expect(await deadLetter(eventId)).toBeNull();
  });

  it('gives up after the last attempt and dead-letters the event with why', async () => {
    const { receiver } = await setup(() => ({ status: 503 }));
    const { eventId } = await escalate();
    const raw = await waitFor(() => deadLetter(eventId), { what: 'the dead letter' });
    expect(JSON.parse(raw)).toMatchObject({ id: eventId, orgId: 'dataport', attempts: 3, lastStatus: 503, reason: 'HTTP 503; gave up after 3 attempts', jobId: `wh-${eventId}` });
    expect(JSON.parse(raw).event.id).toBe(eventId);
    expect(receiver.received).toHaveLength(3);
    expect((await webhookJob(`wh-${eventId}`))?.returnvalue).toEqual({ outcome: 'dead-lettered', status: 503 });
  });

  it('dead-letters a 4xx at once, without retrying', async () => {
    const { receiver } = await setup(() => ({ status: 400 }));
    const { eventId } = await escalate();
    const raw = await waitFor(() => deadLetter(eventId), { what: 'the dead letter' });
    expect(JSON.parse(raw)).toMatchObject({ attempts: 1, lastStatus: 400, reason: 'HTTP 400' });
    expect(receiver.received).toHaveLength(1);
  });

  it('410 disables the endpoint: that event and the next are dead-lettered, the next without a request; a replay re-enables it', async () => {
    const { receiver } = await setup(() => ({ status: 410 }));
    const first = await escalate();
    expect(JSON.parse(await waitFor(() => deadLetter(first.eventId), { what: 'the first dead letter' }))).toMatchObject({
      reason: 'endpoint disabled (410)',
      lastStatus: 410,
      attempts: 1,
    });
    expect(await h!.redis.exists(`${h!.prefix}:wh:off:dataport`)).toBe(1);

    const second = await escalate('elfe');
    expect(JSON.parse(await waitFor(() => deadLetter(second.eventId), { what: 'the second dead letter' }))).toMatchObject({
      reason: 'endpoint disabled (410)',
      lastStatus: null,
      attempts: 0,
    });
    expect(receiver.received).toHaveLength(1);

    receiver.answer(() => ({ status: 200 }));
    const app = await h!.app();
    const replay = await app.inject({ method: 'POST', url: `/v1/dead-letters/${second.eventId}/replay`, headers: bearer('ops-bremen') });
    expect(replay.statusCode, replay.body).toBe(202);
    await waitFor(() => receiver.received.length === 2, { what: 'the replayed delivery' });
    expect(receiver.received[1]!.headers['webhook-id']).toBe(second.eventId);
    expect(await h!.redis.exists(`${h!.prefix}:wh:off:dataport`)).toBe(0);
  });
});

describe('dead letters over HTTP', () => {
  it('lists, shows and replays a dead letter for operators: the same event id again, the entry gone', async () => {
    const { receiver } = await setup(() => ({ status: 500 }));
    const { eventId } = await escalate('uvo', REPORTER);
    await waitFor(() => deadLetter(eventId), { what: 'the dead letter' });
    const app = await h!.app();
    const ops = bearer('ops-bremen');

    const list = await app.inject({ method: 'GET', url: '/v1/dead-letters?orgId=dataport', headers: ops });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toMatchObject({ items: [{ id: eventId, orgId: 'dataport', attempts: 3, lastStatus: 500 }], next: null });
    expect((await app.inject({ method: 'GET', url: '/v1/dead-letters?orgId=vendor-lc', headers: ops })).json()).toEqual({ items: [], next: null });

    const one = await app.inject({ method: 'GET', url: `/v1/dead-letters/${eventId}`, headers: ops });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: eventId, event: { id: eventId, type: 'lotse.ticket.handoff.requested' }, reason: 'HTTP 500; gave up after 3 attempts' });
    // uvo shares the reporter with Dataport, not with operators: the receiver had it, the operator's view has not.
    expect(receiver.received[0]!.body).toContain(REPORTER.name);
    for (const value of Object.values(REPORTER)) {
      expect(one.body).not.toContain(value);
      expect(list.body).not.toContain(value);
    }

    receiver.answer(() => ({ status: 200 }));
    const replay = await app.inject({ method: 'POST', url: `/v1/dead-letters/${eventId}/replay`, headers: ops });
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.json()).toEqual({ id: eventId, orgId: 'dataport', jobId: `wh-${eventId}-r1`, replayedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    // Kept among the replays with its time, for the board to say that (and when) it was replayed.
    const kept = JSON.parse((await h!.redis.hget(`${h!.prefix}:wh:replayed`, eventId))!);
    expect(kept).toMatchObject({ id: eventId, replayedAt: replay.json().replayedAt, replayJobId: `wh-${eventId}-r1` });
    await waitFor(() => receiver.received.length === 4, { what: 'the replayed delivery' });
    const last = receiver.received[3]!;
    expect(last.headers['webhook-id']).toBe(eventId);
    expect(last.verified).toBe(true);
    expect(JSON.parse(last.body)).toEqual(JSON.parse(receiver.received[0]!.body));
    const replayed = await waitFor(async () => ((await webhookJob(`wh-${eventId}-r1`))?.finishedOn ? webhookJob(`wh-${eventId}-r1`) : null));
    expect(replayed?.returnvalue).toEqual({ outcome: 'delivered', status: 200 });

    expect((await app.inject({ method: 'GET', url: `/v1/dead-letters/${eventId}`, headers: ops })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: ops })).json()).toEqual({ items: [], next: null });
    const again = await app.inject({ method: 'POST', url: `/v1/dead-letters/${eventId}/replay`, headers: ops });
    expectProblem(again, 404);
  });

  it('a replay that fails again lands again, under its new job', async () => {
    const { receiver } = await setup(() => ({ status: 422 }));
    const { eventId } = await escalate();
    await waitFor(() => deadLetter(eventId), { what: 'the dead letter' });
    const app = await h!.app();
    const replay = await app.inject({ method: 'POST', url: `/v1/dead-letters/${eventId}/replay`, headers: bearer('ops-bremen') });
    expect(replay.statusCode).toBe(202);
    const raw = await waitFor(async () => {
      const r = await deadLetter(eventId);
      return r && JSON.parse(r).jobId === `wh-${eventId}-r1` ? r : null;
    }, { what: 'the replay to land again' });
    expect(JSON.parse(raw)).toMatchObject({ id: eventId, lastStatus: 422 });
    // Listed again, with the time of the replay it failed after.
    const listed = (await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: bearer('ops-bremen') })).json();
    expect(listed.items.find((d: { id: string }) => d.id === eventId).replayedAt).toBe(replay.json().replayedAt);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);
  });

  it('answers 403 to desks and providers, 401 without a key, 404 problem for an unknown id, and pages', async () => {
    await setup(() => ({ status: 400 }));
    const ids = [(await escalate()).eventId, (await escalate()).eventId, (await escalate()).eventId];
    await waitFor(async () => (await h!.redis.hlen(`${h!.prefix}:wh:dead`)) === 3, { what: 'three dead letters' });
    const app = await h!.app();
    for (const org of ['desk-BY', 'dataport']) {
      const res = await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: bearer(org) });
      expect(res.statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url: `/v1/dead-letters/${ids[0]}/replay`, headers: bearer(org) })).statusCode).toBe(403);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/dead-letters' })).statusCode).toBe(401);
    const missing = await app.inject({ method: 'GET', url: '/v1/dead-letters/T0000000000-v1-handoff-dataport', headers: bearer('ops-bremen') });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ status: 404, type: expect.any(String), detail: expect.stringContaining('T0000000000-v1-handoff-dataport') });

    const seen: string[] = [];
    let url = '/v1/dead-letters?limit=2';
    for (;;) {
      const page = (await app.inject({ method: 'GET', url, headers: bearer('ops-bremen') })).json() as { items: { id: string }[]; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      if (!page.next) break;
      url = `/v1/dead-letters?limit=2&cursor=${page.next}`;
    }
    expect(seen.sort()).toEqual([...ids].sort());
  });

  it('shows the dead-letter routes and their schemas in /docs', async () => {
    await setup(() => ({ status: 200 }));
    const app = await h!.app();
    const doc = (await app.inject({ method: 'GET', url: '/docs' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/dead-letters', '/v1/dead-letters/{id}', '/v1/dead-letters/{id}/replay']));
    expect(JSON.stringify(doc.paths['/v1/dead-letters/{id}']!.get!.responses['200'])).toContain('lastStatus');
  });
});

describe('webhook secrets at start', () => {
  it('resolves env:NAME when the runtime starts; an unset variable stops it naming the field', async () => {
    const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
    const index = base.organisations.findIndex((o) => o.id === 'dataport');
    base.organisations[index] = { ...base.organisations[index]!, webhook: { url: 'http://127.0.0.1:9/hook', secret: 'env:DATAPORT_WEBHOOK_SECRET' } };
    const topology = parseTopology(base, 'env secret topology');
    await expect(createHarness({ topology })).rejects.toThrow(`organisations.${index}.webhook.secret: environment variable DATAPORT_WEBHOOK_SECRET is not set`);
    h = await createHarness({ topology, principalEnv: { DATAPORT_WEBHOOK_SECRET: SECRET } });
    expect(h.runtime.config.prefix).toBe(h.prefix);
  });
});

describe('personal data in webhooks', () => {
  it('carries the reporter only where the service shares it with the provider: uvo does, elfe does not', async () => {
    const { receiver } = await setup(() => ({ status: 200 }));
    const uvo = await escalate('uvo', REPORTER);
    const elfe = await escalate('elfe', REPORTER);
    await waitFor(() => receiver.received.length === 2, { what: 'both deliveries' });
    const byId = new Map(receiver.received.map((r) => [r.headers['webhook-id'], r.body]));
    const uvoBody = byId.get(uvo.eventId)!;
    const elfeBody = byId.get(elfe.eventId)!;
    for (const value of Object.values(REPORTER)) {
      expect(uvoBody).toContain(value);
      expect(elfeBody).not.toContain(value);
    }
    expect(bodies(receiver).map((b) => b.type)).toEqual(['lotse.ticket.handoff.requested', 'lotse.ticket.handoff.requested']);
  });
});
