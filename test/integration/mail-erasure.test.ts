import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import { QUEUE } from '../../src/queue/names.js';
import { createDeadLetterStore } from '../../src/store/dead-letters.js';
import { createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

/**
 * What an erasure leaves of a handoff to an organisation that works by
 * e-mail, without an SMTP server (no mail worker runs, so the mail waits as
 * while the server is away): its mail job, its dead letter and the replay's
 * job all go. The round trips against real servers are in test/e2e.
 */
const ORG = 'vendor-lc';

function topology() {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) => (o.id === ORG ? { ...o, mail: { address: 'support@vendor.example' } } : o)) as TopologyInput['organisations'];
  return parseTopology(base, 'mail topology');
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('an erasure of a ticket handed to an organisation that works by e-mail', () => {
  it('removes the mail job, the mail dead letter and the replay\'s job mail-<event id>-r<n>', async () => {
    h = await createHarness({ topology: topology(), roles: ['relay', 'retention'], principalEnv: { LOTSE_SMTP_URL: 'smtp://127.0.0.1:9', LOTSE_MAIL_FROM: 'lotse@lotse.example' } });
    const { record } = await h.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ service: 'lieferantencockpit', category: 'question' }));
    const eventId = `${record.id}-v1-handoff-${ORG}`;
    const queue = h.runtime.queues.queue(QUEUE.mail);
    const job = await waitFor(() => queue.getJob(`mail-${eventId}`), { what: 'the mail job' });
    // The mail failed for good once (a dead letter as the mail worker writes it), and an operator replayed it.
    const store = createDeadLetterStore(h.runtime.redis, h.runtime.keys);
    await store.add({ id: `mail-${eventId}`, orgId: ORG, event: job.data.event, reason: 'SMTP 554', attempts: 1, lastStatus: null, failedAt: new Date().toISOString(), jobId: `mail-${eventId}`, channel: 'mail' });
    const app = await h.app();
    const replay = await app.inject({ method: 'POST', url: `/v1/dead-letters/mail-${eventId}/replay`, headers: { authorization: 'Bearer dev-ops-bremen' } });
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.json().jobId).toBe(`mail-${eventId}-r1`);
    expect(await queue.getJob(`mail-${eventId}-r1`)).toBeDefined();
    // It fails again: a dead letter once more, beside the replay's job.
    await store.add({ id: `mail-${eventId}`, orgId: ORG, event: job.data.event, reason: 'SMTP 554', attempts: 1, lastStatus: null, failedAt: new Date().toISOString(), jobId: `mail-${eventId}-r1`, channel: 'mail' });

    const res = await app.inject({ method: 'POST', url: `/v1/tickets/${record.id}/erasure`, headers: { authorization: 'Bearer dev-ops-bremen' } });
    expect(res.statusCode).toBe(200);
    await waitFor(async () => (await store.get(`mail-${eventId}`)) === null, { what: 'the mail dead letter to go' });
    await waitFor(async () => (await queue.getJob(`mail-${eventId}`)) === undefined, { what: 'the mail job to go' });
    expect(await queue.getJob(`mail-${eventId}-r1`)).toBeUndefined();
    expect(await h.redis.zcard(h.runtime.keys.deadLetterChannelIndex('mail', ORG))).toBe(0);
  });
});
