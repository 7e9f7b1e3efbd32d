import { Redis } from 'ioredis';
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import { loadConnectorSettings, resolveConnectors } from '../../src/connectors/settings.js';
import type { Topology, TopologyInput } from '../../src/domain/topology.js';
import { createLogger } from '../../src/logger.js';
import { QUEUE } from '../../src/queue/names.js';
import { connectorKeys, createConnectorStore } from '../../src/store/connector-store.js';
import { createDeadLetterStore } from '../../src/store/dead-letters.js';
import { createDeadLetters } from '../../src/webhooks/dead-letters.js';
import { createConnectorWorker } from '../../workers/connector.worker.js';
import { createHarness, dev, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { rtAgent, startRt, type RtInstance } from './rt-server.js';

/**
 * The connector against a real Request Tracker 5 (Debian's packages, its own
 * PostgreSQL database, rt-server on a loopback port): vendor-lc works in RT,
 * and the service Lieferantencockpit hands its tickets to vendor-lc first.
 */
const ORG = 'vendor-lc';
const desk = dev('desk-BY');

function rtTopology(rt: RtInstance, extra: Record<string, unknown> = {}): Topology {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) =>
    o.id === ORG ? { ...o, calendar: '24x7', connector: { kind: 'rt', url: rt.url, token: 'env:RT_TOKEN', queue: rt.queue, customField: rt.customField, pollSeconds: 1, ...extra } } : o,
  ) as TopologyInput['organisations'];
  return parseTopology(base, 'RT topology');
}

const env = (rt: RtInstance) => ({ RT_TOKEN: rt.lotseToken, LOTSE_CONNECTOR_ATTEMPTS: '3', LOTSE_CONNECTOR_BACKOFF_MS: '200', LOTSE_CONNECTOR_BACKOFF_CAP_MS: '400' });

const newTicket = (h: Harness) => h.runtime.engine.createTicket(desk, ticketBody({ service: 'lieferantencockpit', category: 'question', subject: 'Angebot lässt sich nicht hochladen', description: 'Der Upload bricht bei 80 % ab.' }));

let rt: RtInstance;
beforeAll(async () => {
  rt = await startRt();
}, 300_000);
afterAll(async () => {
  await rt?.close();
}, 60_000);

describe('connector to Request Tracker 5', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ topology: rtTopology(rt), roles: ['relay', 'connector'], principalEnv: env(rt) });
  }, 60_000);
  afterAll(async () => h?.close());

  it('round trip: handoff → RT ticket → RT reply → receipt and note → RT resolve → resolved, with no echo', async () => {
    const agent = rtAgent(rt);
    const store = createConnectorStore(h.runtime.redis, h.prefix);
    const { record } = await newTicket(h);
    expect(h.runtime.engine.view('system', record).status).toBe('handoff-pending');

    // The correlation was committed with the handoff; the worker fills in RT's id.
    const remoteId = await waitFor(async () => {
      const link = await store.link(ORG, record.id);
      return link && link !== 'pending' ? link : null;
    }, { timeoutMs: 30_000, what: 'the RT ticket' });
    expect(await agent.byLotseId(record.id)).toEqual([remoteId]);
    expect((await agent.ticket(remoteId)).Subject).toBe(`[Lotse#${record.id}] Angebot lässt sich nicht hochladen`);

    // The vendor's first reply is the receipt, with its text.
    await agent.reply(remoteId, 'Wir sehen uns das an.');
    const accepted = await waitFor(async () => (await h.runtime.engine.history(desk, record.id)).find((e) => e.type === 'ACCEPT'), { timeoutMs: 30_000, what: 'the receipt' });
    expect(accepted.actor).toMatchObject({ orgId: ORG });
    expect(accepted.details).toMatchObject({ note: 'Wir sehen uns das an.', via: { channel: 'connector', system: 'rt', remoteId, matchedBy: 'correlation', remoteType: 'Correspond' } });
    expect(accepted.details?.via).not.toHaveProperty('by');

    // A note from the desk goes to RT as Lotse's comment; reading it back changes nothing (echo).
    await h.runtime.engine.applyEvent(desk, record.id, { type: 'NOTE', text: 'Die Meldende hat Firefox 128.' });
    await waitFor(async () => (await agent.history(remoteId)).some((t) => t.Type === 'Comment' && t.Creator.id === 'lotse'), { timeoutMs: 30_000, what: "Lotse's comment in RT" });

    // A second reply is a note.
    await agent.reply(remoteId, 'Ursache gefunden: Zeitüberschreitung am Proxy.');
    await waitFor(async () => (await h.runtime.engine.history(desk, record.id)).some((e) => e.type === 'NOTE' && e.details?.text === 'Ursache gefunden: Zeitüberschreitung am Proxy.'), { timeoutMs: 30_000, what: 'the note' });

    // Resolved in RT: resolved in Lotse.
    await agent.setStatus(remoteId, 'resolved');
    const resolved = await waitFor(async () => {
      const t = await h.runtime.engine.getTicket(desk, record.id);
      return h.runtime.engine.view(desk, t).status === 'resolved' ? t : null;
    }, { timeoutMs: 30_000, what: 'the resolution' });
    const history = await h.runtime.engine.history(desk, record.id);
    expect(history.map((e) => e.type)).toEqual(['CREATED', 'ACCEPT', 'NOTE', 'NOTE', 'RESOLVE']);
    expect(history[2]!.actor).toMatchObject({ orgId: 'desk-BY' });
    expect(history[4]!.details).toMatchObject({ via: { remoteType: 'Status', remoteId } });
    expect(resolved.version).toBe(5);

    // No echo: Lotse's own RT changes (the create, its comment) were read and counted, never applied.
    const health = (await store.health([ORG]))[0]!;
    expect(health.echoes).toBeGreaterThanOrEqual(2);
    expect(health.applied).toBe(3);
    expect(health.queued).toBe(0);
    expect(health.failing).toBe(0);
    expect(health.lastSuccessAt).not.toBeNull();

    // Health on the board's overview and in /metrics.
    const app = await h.app();
    const overview = await app.inject({ method: 'GET', url: '/dashboard/api/overview', headers: { authorization: 'Bearer dev-ops-bremen' } });
    expect(overview.statusCode).toBe(200);
    expect(overview.json().connectors).toEqual([expect.objectContaining({ orgId: ORG, queued: 0, failing: 0, applied: 3 })]);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/lotse_connector_queued\{org="vendor-lc"\} 0/);
    expect(metrics.body).toMatch(/lotse_connector_changes_total\{org="vendor-lc",outcome="applied"\} 3/);
    expect(metrics.body).toMatch(/lotse_connector_last_success_timestamp_seconds\{org="vendor-lc"\} [1-9]/);
  }, 120_000);

  it('a status without mapping is kept on the ticket as a note and counted, the ticket left as it is', async () => {
    const agent = rtAgent(rt);
    const store = createConnectorStore(h.runtime.redis, h.prefix);
    const { record } = await newTicket(h);
    const remoteId = await waitFor(async () => {
      const link = await store.link(ORG, record.id);
      return link && link !== 'pending' ? link : null;
    }, { timeoutMs: 30_000, what: 'the RT ticket' });
    const before = (await store.health([ORG]))[0]!.unmappedIn;
    await agent.setStatus(remoteId, 'stalled');
    const note = await waitFor(async () => (await h.runtime.engine.history(desk, record.id)).find((e) => e.type === 'NOTE'), { timeoutMs: 30_000, what: 'the note of the unmapped status' });
    expect(note.details).toMatchObject({ text: expect.stringContaining('„stalled“ hat keine Zuordnung in Lotse'), via: { remoteType: 'Status', remoteId } });
    expect(h.runtime.engine.view(desk, await h.runtime.engine.getTicket(desk, record.id)).status).toBe('handoff-pending');
    expect((await store.health([ORG]))[0]!.unmappedIn).toBe(before + 1);
    const metrics = await (await h.app()).inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(new RegExp(`lotse_connector_changes_total\\{org="vendor-lc",outcome="unmapped"\\} ${before + 1}`));
  }, 60_000);

  it("a handoff taken back is a comment and RT's rejected status; both come back as echoes and change nothing", async () => {
    const agent = rtAgent(rt);
    const store = createConnectorStore(h.runtime.redis, h.prefix);
    const { record } = await newTicket(h);
    const remoteId = await waitFor(async () => {
      const link = await store.link(ORG, record.id);
      return link && link !== 'pending' ? link : null;
    }, { timeoutMs: 30_000, what: 'the RT ticket' });
    await h.runtime.engine.applyEvent(dev('ops-bremen'), record.id, { type: 'ESCALATE', reason: 'Betrieb übernimmt.' });
    await waitFor(async () => (await agent.ticket(remoteId)).Status === 'rejected', { timeoutMs: 30_000, what: 'RT status rejected' });
    const own = (await agent.history(remoteId)).filter((t) => t.Creator.id === 'lotse' && (t.Type === 'Comment' || t.Type === 'Status'));
    expect(own.map((t) => t.Type)).toEqual(['Comment', 'Status']);
    // The poll has read past Lotse's own changes: each one was an echo.
    const last = Math.max(...own.map((t) => Number(t.id)));
    await waitFor(async () => Number(await h.redis.get(connectorKeys(h.prefix, ORG).cursor)) >= last, { timeoutMs: 30_000, what: 'the poll past the status' });
    expect((await h.runtime.engine.history(desk, record.id)).map((e) => e.type)).toEqual(['CREATED', 'ESCALATE']);
    // The worker records the change as its own once RT has answered the write: RT may show the status a moment before.
    expect(await waitFor(() => store.isOwn(ORG, String(last)), { timeoutMs: 10_000, what: "the status change recorded as Lotse's own" })).toBe(true);
  }, 60_000);

  it('RT down: the create is retried, then dead-lettered; health says failing; a replay opens the ticket once', async () => {
    const agent = rtAgent(rt);
    const store = createConnectorStore(h.runtime.redis, h.prefix);
    await rt.stopServer();
    let restarted = false;
    try {
      const { record } = await newTicket(h);
      const app = await h.app();
      const ops = { authorization: 'Bearer dev-ops-bremen' };
      const letter = await waitFor(async () => {
        const res = await app.inject({ method: 'GET', url: `/v1/dead-letters?orgId=${ORG}`, headers: ops });
        return (res.json().items as { id: string; event: { subject: string }; channel?: string; attempts: number; reason: string }[]).find((d) => d.event.subject === record.id);
      }, { timeoutMs: 30_000, what: 'the dead letter' });
      expect(letter.channel).toBe('connector');
      expect(letter.id).toMatch(/^cx-/);
      expect(letter.attempts).toBe(3);
      expect(letter.reason).toMatch(/RT not reached.*gave up after 3 attempts/);
      const health = (await store.health([ORG]))[0]!;
      expect(health.failing).toBeGreaterThanOrEqual(3);
      expect(health.lastError).toMatch(/RT not reached/);
      expect(await store.link(ORG, record.id)).toBe('pending');
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/lotse_connector_failing\{org="vendor-lc"\} [3-9]/);

      await rt.startServer();
      restarted = true;
      const replay = await app.inject({ method: 'POST', url: `/v1/dead-letters/${letter.id}/replay`, headers: ops });
      expect(replay.statusCode).toBeLessThan(300);
      const remoteId = await waitFor(async () => {
        const link = await store.link(ORG, record.id);
        return link && link !== 'pending' ? link : null;
      }, { timeoutMs: 30_000, what: 'the RT ticket after the replay' });
      expect(await agent.byLotseId(record.id)).toEqual([remoteId]);
      await waitFor(async () => (await store.health([ORG]))[0]!.failing === 0, { timeoutMs: 30_000, what: 'health back' });
    } finally {
      if (!restarted) await rt.startServer();
    }
  }, 180_000);
});

describe('connector worker of its own (no scheduler): retried create, cursor across a restart', () => {
  let h: Harness;
  let connection: Redis;
  const topologyEnv = () => env(rt);
  beforeAll(async () => {
    h = await createHarness({ topology: rtTopology(rt, { pollSeconds: 3600 }), roles: ['relay'], principalEnv: topologyEnv() });
    connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  }, 60_000);
  afterAll(async () => {
    connection?.disconnect();
    await h?.close();
  });

  function worker(afterRemoteCreate?: (remoteId: string) => void) {
    const topology = rtTopology(rt, { pollSeconds: 3600 });
    const settings = loadConnectorSettings(topologyEnv());
    return createConnectorWorker({
      connection, prefix: h.prefix, logger: createLogger('silent'),
      targets: resolveConnectors(topology, topologyEnv(), settings),
      store: createConnectorStore(h.runtime.redis, h.prefix),
      engine: h.runtime.engine,
      principals: h.runtime.principals,
      deadLetters: createDeadLetters({ store: createDeadLetterStore(h.runtime.redis, h.runtime.keys), queues: h.runtime.queues, attempts: 3, connectorAttempts: 3 }),
      settings,
      ...(afterRemoteCreate ? { afterRemoteCreate } : {}),
    }, 2);
  }
  const poll = async () => {
    const job = await h.runtime.queues.queue(QUEUE.connector).add('poll', { type: 'poll', orgId: ORG });
    return waitFor(async () => {
      const j = await Job.fromId(h.runtime.queues.queue(QUEUE.connector), job.id!);
      return j?.finishedOn ? (j.returnvalue as { read: number; applied: number; cursor: string }) ?? false : false;
    }, { timeoutMs: 30_000, what: 'the poll' });
  };

  it('a create whose answer was lost (the worker failed after RT answered) opens one RT ticket, not two', async () => {
    const agent = rtAgent(rt);
    const store = createConnectorStore(h.runtime.redis, h.prefix);
    let crashes = 0;
    const w = worker(() => {
      if (crashes++ === 0) throw new Error('crashed after RT answered');
    });
    const results: unknown[] = [];
    w.on('completed', (_job, result) => results.push(result));
    try {
      const { record } = await newTicket(h);
      const remoteId = await waitFor(async () => {
        const link = await store.link(ORG, record.id);
        return link && link !== 'pending' ? link : null;
      }, { timeoutMs: 30_000, what: 'the RT ticket' });
      expect(crashes).toBe(2);
      expect(await agent.byLotseId(record.id)).toEqual([remoteId]);
      await waitFor(() => results.length > 0, { what: 'the job to complete' });
      expect(results).toEqual([{ outcome: 'found', remoteId }]);
      expect(results).not.toContainEqual(expect.objectContaining({ outcome: 'created' }));
    } finally {
      await w.close();
    }
  }, 60_000);

  it('a handoff and an update of one ticket waiting side by side open one RT ticket: one change of a ticket at a time', async () => {
    const agent = rtAgent(rt);
    const store = createConnectorStore(h.runtime.redis, h.prefix);
    const { record } = await newTicket(h);
    await h.runtime.engine.applyEvent(desk, record.id, { type: 'NOTE', text: 'Nachtrag vor dem Eingang.' });
    const connector = h.runtime.queues.queue(QUEUE.connector);
    await waitFor(async () => (await connector.getJobs(['waiting'])).filter((j) => (j.data as { event?: { subject?: string } }).event?.subject === record.id).length === 2, { what: 'both changes queued' });
    const w = worker();
    try {
      await waitFor(async () => (await store.health([ORG]))[0]!.queued === 0, { timeoutMs: 30_000, what: 'both changes carried out' });
      const remoteId = await store.link(ORG, record.id);
      expect(await agent.byLotseId(record.id)).toEqual([remoteId]);
      const comments = (await agent.history(remoteId!)).filter((t) => t.Type === 'Comment' && t.Creator.id === 'lotse');
      expect(comments).toHaveLength(1);
    } finally {
      await w.close();
    }
  }, 60_000);

  it('the cursor survives a restart of the worker: a reply made while it was down is applied once after', async () => {
    const agent = rtAgent(rt);
    const store = createConnectorStore(h.runtime.redis, h.prefix);
    let w = worker();
    const { record } = await newTicket(h);
    const remoteId = await waitFor(async () => {
      const link = await store.link(ORG, record.id);
      return link && link !== 'pending' ? link : null;
    }, { timeoutMs: 30_000, what: 'the RT ticket' });
    await poll();
    await poll();
    const cursor = await h.redis.get(connectorKeys(h.prefix, ORG).cursor);
    expect(cursor).toMatch(/^\d+$/);
    await w.close();

    await agent.reply(remoteId, 'Antwort, während Lotse neu startet.');
    w = worker();
    try {
      const r = await poll();
      expect(Number(r.cursor)).toBeGreaterThan(Number(cursor));
      expect(r.applied).toBe(1);
      const history = await h.runtime.engine.history(desk, record.id);
      expect(history.filter((e) => e.type === 'ACCEPT').map((e) => e.details?.note)).toEqual(['Antwort, während Lotse neu startet.']);
      // Polled again: nothing new, nothing twice.
      expect((await poll()).applied).toBe(0);
      expect((await h.runtime.engine.history(desk, record.id)).length).toBe(history.length);
    } finally {
      await w.close();
    }
  }, 60_000);
});
