import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import { QUEUE } from '../../src/queue/names.js';
import { connectorKeys, createConnectorStore } from '../../src/store/connector-store.js';
import { createDeadLetterStore } from '../../src/store/dead-letters.js';
import { createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

/**
 * Without a remote system (no connector worker runs): what the commit and
 * the relay do for an organisation with a connector, and what an erasure
 * leaves of it. The round trips against a real RT are in test/rt.
 */
const ORG = 'vendor-lc';

function topology() {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) =>
    o.id === ORG ? { ...o, connector: { kind: 'rt', url: 'http://127.0.0.1:9', token: 'env:RT_TOKEN', queue: 'Lotse' } } : o,
  ) as TopologyInput['organisations'];
  return parseTopology(base, 'connector topology');
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a handoff to an organisation with a connector', () => {
  it('commits the correlation as pending with the handoff, goes to the connector queue (not handoff-<org>), and an erasure removes both', async () => {
    h = await createHarness({ topology: topology(), roles: ['relay', 'retention'], principalEnv: { RT_TOKEN: 'x' } });
    const keys = connectorKeys(h.prefix, ORG);
    const { record } = await h.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ service: 'lieferantencockpit', category: 'question' }));
    // In the creation's own commit: nothing ran yet but the script.
    expect(await h.redis.hget(keys.link, record.id)).toBe('pending');
    const eventId = `${record.id}-v1-handoff-${ORG}`;
    expect(await h.redis.zscore(keys.queued, eventId)).not.toBeNull();

    const connector = h.runtime.queues.queue(QUEUE.connector);
    const job = await waitFor(() => connector.getJob(`cx-${eventId}`), { what: 'the connector job' });
    expect(job.data).toMatchObject({ type: 'push', orgId: ORG, event: { id: eventId, subject: record.id } });
    expect(await h.runtime.queues.queue(`handoff-${ORG}`).getJob(eventId)).toBeUndefined();
    expect((await createConnectorStore(h.runtime.redis, h.prefix).health([ORG]))[0]).toMatchObject({ queued: 1, failing: 0, lastSuccessAt: null });

    const app = await h.app();
    const res = await app.inject({ method: 'POST', url: `/v1/tickets/${record.id}/erasure`, headers: { authorization: 'Bearer dev-ops-bremen' } });
    expect(res.statusCode).toBe(200);
    await waitFor(async () => (await h!.redis.hget(keys.link, record.id)) === null, { what: 'the correlation to go' });
    await waitFor(async () => (await connector.getJob(`cx-${eventId}`)) === undefined, { what: 'the connector job to go' });
  });

  it('an erasure while the change is still queued and its dead letter replayed removes the queued change, the job and the replay job', async () => {
    // No connector worker: the change stays queued, as while the remote system is away.
    h = await createHarness({ topology: topology(), roles: ['relay', 'retention'], principalEnv: { RT_TOKEN: 'x' } });
    const keys = connectorKeys(h.prefix, ORG);
    const { record } = await h.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ service: 'lieferantencockpit', category: 'question' }));
    const eventId = `${record.id}-v1-handoff-${ORG}`;
    const connector = h.runtime.queues.queue(QUEUE.connector);
    const job = await waitFor(() => connector.getJob(`cx-${eventId}`), { what: 'the connector job' });
    // The change failed for good once (a dead letter as the connector worker writes it), and an operator replayed it.
    await createDeadLetterStore(h.runtime.redis, h.runtime.keys).add({
      id: `cx-${eventId}`, orgId: ORG, event: job.data.event, reason: 'RT not reached', attempts: 1, lastStatus: null, failedAt: new Date().toISOString(), jobId: `cx-${eventId}`, channel: 'connector',
    });
    const app = await h.app();
    const replay = await app.inject({ method: 'POST', url: `/v1/dead-letters/cx-${eventId}/replay`, headers: { authorization: 'Bearer dev-ops-bremen' } });
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.json().jobId).toBe(`cx-${eventId}-r1`);
    expect(await connector.getJob(`cx-${eventId}-r1`)).toBeDefined();
    expect(await h.redis.zscore(keys.queued, eventId)).not.toBeNull();
    expect((await createConnectorStore(h.runtime.redis, h.prefix).health([ORG]))[0]!.queued).toBe(1);

    const res = await app.inject({ method: 'POST', url: `/v1/tickets/${record.id}/erasure`, headers: { authorization: 'Bearer dev-ops-bremen' } });
    expect(res.statusCode).toBe(200);
    await waitFor(async () => (await h!.redis.hget(keys.link, record.id)) === null, { what: 'the correlation to go' });
    expect(await h.redis.zscore(keys.queued, eventId)).toBeNull();
    expect((await createConnectorStore(h.runtime.redis, h.prefix).health([ORG]))[0]!.queued).toBe(0);
    expect(await connector.getJob(`cx-${eventId}`)).toBeUndefined();
    expect(await connector.getJob(`cx-${eventId}-r1`)).toBeUndefined();
  });

  it('an organisation without one is not touched: its handoff stays on handoff-<org>, no connector key is written', async () => {
    h = await createHarness({ topology: topology(), roles: ['relay'], principalEnv: { RT_TOKEN: 'x' } });
    const { record } = await h.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ service: 'uvo', category: 'question' }));
    await h.runtime.engine.applyEvent(dev('desk-BY'), record.id, { type: 'ESCALATE', reason: 'technisch' });
    await waitFor(() => h!.runtime.queues.queue('handoff-dataport').getJob(`${record.id}-v2-handoff-dataport`), { what: 'the queue handoff' });
    expect(await h.redis.keys(`${h.prefix}:cx:*`)).toEqual([]);
  });
});
