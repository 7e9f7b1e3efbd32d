import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { Topology, TopologyInput } from '../../src/domain/topology.js';
import type { HistoryEntry } from '../../src/domain/ticket.js';
import { ERASED_TEXT } from '../../src/engine/ticket/index.js';
import { WORKER_ROLES } from '../../src/runtime.js';
import { bearer, createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { findMarkers } from '../helpers/key-scan.js';

const SECRET = `whsec_${Buffer.from('lotse-retention-test-secret-32by').toString('base64')}`;

/** Unique strings planted in every personal field and free text: none may survive an erasure anywhere in Redis. */
function markers() {
  const tag = randomBytes(4).toString('hex');
  const digits = String(randomBytes(4).readUInt32BE()).padStart(10, '7');
  return {
    name: `NAME${tag}Mustermann`, email: `mail${tag}@example.org`, phone: `+49 ${digits}`,
    description: `DESC${tag}`, note: `NOTE${tag}`, reason: `REASON${tag}`, answer: `ANSWER${tag}`,
    resolution: `RESOLUTION${tag}`, refused: `REFUSED${tag}`, attachment: `ATTACH${tag}.pdf`,
  };
}

/** A provider endpoint that has gone for good (410): Dataport's deliveries land in the dead letters. */
async function startGoneEndpoint() {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(410).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function topologyWith(o: { webhookUrl?: string; closedTicketDays?: number }): Topology {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  if (o.webhookUrl) base.organisations = base.organisations.map((org) => (org.id === 'dataport' ? { ...org, webhook: { url: o.webhookUrl!, secret: SECRET } } : org));
  if (o.closedTicketDays) base.retention = { closedTicketDays: o.closedTicketDays };
  return parseTopology(base, 'retention test topology');
}

let h: Harness | undefined;
let endpoint: Awaited<ReturnType<typeof startGoneEndpoint>> | undefined;
afterEach(async () => {
  await h?.close();
  await endpoint?.close();
  h = undefined;
  endpoint = undefined;
});

const history = async (id: string) => (await h!.runtime.engine.history(dev('ops-bremen'), id)) as HistoryEntry[];
const erasedEntries = async (id: string) => (await history(id)).filter((e) => e.type === 'ERASED');

/** The relay has carried out every committed effect. */
const settled = async () => (await h!.redis.xlen(`${h!.prefix}:outbox`)) === 0;

async function jobDone(queue: string, jobId: string) {
  return waitFor(async () => {
    const job = await h!.runtime.queues.queue(queue).getJob(jobId);
    return job?.finishedOn ? job : null;
  }, { what: `${queue} job ${jobId} to finish` });
}

/** A uvo ticket of desk-BY through intake, with the reporter shared with Dataport, escalated to Dataport and answered over the events queue. */
async function plantTicket(m: ReturnType<typeof markers>) {
  const engine = h!.runtime.engine;
  const desk = dev('desk-BY');
  const intakeId = `in-${randomBytes(4).toString('hex')}`;
  await h!.runtime.queues.queue('intake').add('create', {
    ...ticketBody({ description: `Antrag hängt ${m.description}`, attachments: [{ name: m.attachment, url: 'https://files.example.org/a.pdf', size: 10 }] }),
    reporter: { name: m.name, email: m.email, phone: m.phone },
    orgId: 'desk-BY',
  }, { jobId: intakeId });
  const ticketId = ((await jobDone('intake', intakeId)).returnvalue as { ticketId: string }).ticketId;
  await engine.applyEvent(desk, ticketId, { type: 'ACCEPT', note: m.note });
  await engine.applyEvent(desk, ticketId, { type: 'ESCALATE', reason: m.reason });
  const events = h!.runtime.queues.queue('events');
  await events.add('accept', { ticketId, orgId: 'dataport', event: { type: 'ACCEPT' } }, { jobId: `acc-${ticketId}` });
  await jobDone('events', `acc-${ticketId}`);
  await events.add('return', { ticketId, orgId: 'dataport', event: { type: 'RETURN', answer: m.answer } }, { jobId: `ret-${ticketId}` });
  await jobDone('events', `ret-${ticketId}`);
  // Dataport no longer holds it: refused, failed at once. Its text must not stay in the failed job.
  await events.add('resolve', { ticketId, orgId: 'dataport', event: { type: 'RESOLVE', resolution: m.refused } }, { jobId: `bad-${ticketId}`, attempts: 3 });
  expect((await jobDone('events', `bad-${ticketId}`)).failedReason).toMatch(/FORBIDDEN|INVALID_TRANSITION/);
  return { ticketId, intakeId };
}

describe('erasure of personal data', () => {
  it('on request leaves nothing of a planted reporter or text anywhere in Redis; one audit entry; a repeat writes nothing', async () => {
    endpoint = await startGoneEndpoint();
    h = await createHarness({ topology: topologyWith({ webhookUrl: endpoint.url }), roles: [...WORKER_ROLES] });
    const m = markers();
    const { ticketId } = await plantTicket(m);
    const desk = dev('desk-BY');
    await h.runtime.engine.applyEvent(desk, ticketId, { type: 'RESOLVE', resolution: m.resolution });
    await waitFor(settled, { what: 'the relay to carry out every effect' });
    await waitFor(async () => (await h!.redis.hlen(`${h!.prefix}:wh:dead`)) > 0, { what: 'a webhook dead letter' });

    // The scan can find what it looks for: before the erasure the texts lie in many places.
    const before = await findMarkers(h.redis, h.prefix, Object.values(m));
    for (const k of ['name', 'email', 'phone', 'description', 'note', 'reason', 'answer', 'resolution', 'attachment'] as const) expect(before[m[k]], k).toBeDefined();
    expect(before[m.email]!.some((k) => k.includes(':handoff-dataport:')), 'the reporter in the handoff job (uvo shares it)').toBe(true);
    expect(before[m.answer]!.some((k) => k.endsWith(':events')), 'the answer in the events stream').toBe(true);
    expect(before[m.description]!.some((k) => k.includes(':intake:')), 'the description in the intake job').toBe(true);
    expect(before[m.email]!.some((k) => k.endsWith(':wh:dead')), 'the reporter in the dead letter').toBe(true);
    // A finished events job keeps no text at all.
    expect(before[m.refused]).toBeUndefined();
    expect(before[m.answer]!.filter((k) => k.includes(':events:'))).toEqual([]);

    const app = await h.app();
    const erase = (orgId: string, id = ticketId) => app.inject({ method: 'POST', url: `/v1/tickets/${id}/erasure`, headers: bearer(orgId) });
    // Operators only: a desk (even the ticket's own) and a provider are refused; an unknown ticket is 404.
    for (const org of ['desk-BY', 'dataport', 'desk-HB']) {
      const res = await erase(org);
      expect(res.statusCode, org).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const missing = await erase('ops-bremen', 'T0000000000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().type).toBeDefined();
    expect((await app.inject({ method: 'POST', url: `/v1/tickets/${ticketId}/erasure` })).statusCode).toBe(401);
    expect(await erasedEntries(ticketId)).toEqual([]);

    const res = await erase('ops-bremen');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: ticketId, erased: true, what: expect.arrayContaining(['reporter', 'description', 'attachments', 'history']) });
    await waitFor(async () => (await h!.redis.zcard(`${h!.prefix}:ix:erasing`)) === 0 && (await settled()), { what: 'the purge to finish' });

    const after = await findMarkers(h.redis, h.prefix, Object.values(m));
    expect(after).toEqual({});
    const audit = await erasedEntries(ticketId);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toEqual({ orgId: 'ops-bremen', role: 'operator' });
    expect(audit[0]!.details).toMatchObject({ cause: 'request' });
    // The audit says what and when, never what it was; the rest of the history keeps its shape.
    expect(JSON.stringify(audit[0])).not.toContain(ERASED_TEXT);
    const entries = await history(ticketId);
    expect(entries.find((e) => e.type === 'RETURN')!.details).toEqual({ answer: ERASED_TEXT });
    const view = (await app.inject({ method: 'GET', url: `/v1/tickets/${ticketId}`, headers: bearer('desk-BY') })).json();
    expect(view.reporter).toBeUndefined();
    expect(view.description).toBe(ERASED_TEXT);
    expect(view.attachments).toEqual([]);
    // The ticket still lives: its desk closes it.
    await h.runtime.engine.applyEvent(desk, ticketId, { type: 'CLOSE' });

    const again = await erase('ops-bremen');
    expect(again.statusCode).toBe(200);
    // Closed since: the retention index lets it go with one more (empty) audit entry; then nothing at all.
    const third = await erase('ops-bremen');
    expect(third.json()).toMatchObject({ erased: false, what: [] });
    expect((await erasedEntries(ticketId)).length).toBe(2);
    expect(await h.redis.zscore(`${h.prefix}:ix:closed`, ticketId)).toBeNull();
  }, 30_000);

  it('the sweep erases closed tickets past closedTicketDays, and only those', async () => {
    let offset = 0;
    h = await createHarness({
      topology: topologyWith({ closedTicketDays: 1 }),
      roles: [...WORKER_ROLES],
      env: { LOTSE_RETENTION_SWEEP_MS: '1000' },
      now: () => Date.now() + offset,
    });
    const engine = h.runtime.engine;
    const desk = dev('desk-BY');
    const closeOne = async (m: ReturnType<typeof markers>) => {
      const { record } = await engine.createTicket(desk, ticketBody({ description: m.description, reporter: { name: m.name, email: m.email, phone: m.phone } }));
      await engine.applyEvent(desk, record.id, { type: 'ACCEPT', note: m.note });
      await engine.applyEvent(desk, record.id, { type: 'RESOLVE', resolution: m.resolution });
      await engine.applyEvent(desk, record.id, { type: 'CLOSE' });
      return record.id;
    };
    const old = markers();
    const oldId = await closeOne(old);
    offset = 2 * 86_400_000;
    const recent = markers();
    const recentId = await closeOne(recent);
    const open = markers();
    const { record: openTicket } = await engine.createTicket(desk, ticketBody({ description: open.description, reporter: { name: open.name, email: open.email, phone: open.phone } }));

    await waitFor(async () => (await erasedEntries(oldId)).length === 1, { what: 'the sweep to erase the old ticket' });
    const sweeps = async () => (await h!.runtime.queues.queue('retention').getJobs(['completed'])).filter((j) => j.name === 'sweep').length;
    const seen = await sweeps();
    await waitFor(async () => (await sweeps()) > seen, { what: 'one more sweep', timeoutMs: 5000 });
    await waitFor(async () => (await h!.redis.zcard(`${h!.prefix}:ix:erasing`)) === 0 && (await settled()), { what: 'the purge to finish' });

    const found = await findMarkers(h.redis, h.prefix, [...Object.values(old), recent.name, recent.description, open.email]);
    expect(Object.keys(found).filter((k) => Object.values(old).includes(k as never))).toEqual([]);
    expect(found[recent.name]).toBeDefined();
    expect(found[recent.description]).toBeDefined();
    expect(found[open.email]).toBeDefined();
    expect(await erasedEntries(recentId)).toEqual([]);
    expect(await erasedEntries(openTicket.id)).toEqual([]);
    const audit = (await erasedEntries(oldId))[0]!;
    expect(audit.actor).toEqual({ system: true });
    expect(audit.details).toMatchObject({ cause: 'retention', erased: expect.arrayContaining(['reporter', 'description', 'history']) });
    expect(await h.redis.zscore(`${h.prefix}:ix:closed`, oldId)).toBeNull();
    expect(await h.redis.zscore(`${h.prefix}:ix:closed`, recentId)).not.toBeNull();
    // Sweeps go on; the erased ticket gets no second audit entry.
    const now = await sweeps();
    await waitFor(async () => (await sweeps()) > now, { what: 'another sweep', timeoutMs: 5000 });
    expect(await erasedEntries(oldId)).toHaveLength(1);
  }, 30_000);
});
