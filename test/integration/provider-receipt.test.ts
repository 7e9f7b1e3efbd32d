import { Queue } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { HANDOFF_EVENT_TYPES } from '../../src/index.js';
import { createHarness, dev, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { fastSlaTopology } from '../helpers/topologies.js';

// A receipt deadline of 2 s on 24x7 calendars; SLA targets of hours, so no SLA timer comes first.
const topology = fastSlaTopology({ firstResponse: 3600, resolution: 7200, receipt: 2 });
const desk = dev('desk-BY', topology);
const operator = dev('ops-bremen', topology);
let h: Harness;
let handoffs: Queue;

beforeEach(async () => {
  h = await createHarness({ topology, roles: ['intake', 'events', 'relay', 'sla'] });
  handoffs = new Queue('handoff-dataport', { connection: { url: redisUrl() }, prefix: h.prefix });
});
afterEach(async () => {
  await handoffs.close();
  await h.close();
});

it('re-sends a handoff nobody received once, tells operations, then gives the ticket to operations', async () => {
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody({ service: 'uvo' }));
  const id = record.id;
  await h.runtime.engine.applyEvent(desk, id, { type: 'ACCEPT' });
  await h.runtime.engine.applyEvent(desk, id, { type: 'ESCALATE', reason: 'Fehler 500' });

  // No provider runs: both receipt deadlines pass.
  const withdrawn = await waitFor(() => handoffs.getJob(`${id}-v5-withdrawn-dataport`), { timeoutMs: 20_000, what: 'the withdrawal after the second deadline' });
  const t = await h.runtime.engine.getTicket(operator, id);
  expect(t.state.value).toEqual({ level2: 'open' });
  expect(t.state.context.assignee).toBe('ops-bremen');
  const history = await h.runtime.engine.history(operator, id);
  expect(history.map((e) => e.type)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'RECEIPT_OVERDUE', 'RECEIPT_OVERDUE']);
  expect(history.slice(3)).toEqual([
    expect.objectContaining({ actor: { system: true }, from: 'level2.handoffPending', to: 'level2.handoffPending', assignee: 'dataport' }),
    expect.objectContaining({ actor: { system: true }, from: 'level2.handoffPending', to: 'level2.open', assignee: 'ops-bremen' }),
  ]);

  // On the provider's queue: the handoff, its second attempt, and the withdrawal.
  const jobs = (await handoffs.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).sort((a, b) => a.id!.localeCompare(b.id!));
  expect(jobs.map((j) => [j.id, j.data.type, j.data.data.attempt])).toEqual([
    [`${id}-v3-handoff-dataport`, HANDOFF_EVENT_TYPES.requested, 1],
    [`${id}-v4-handoff-dataport`, HANDOFF_EVENT_TYPES.requested, 2],
    [`${id}-v5-withdrawn-dataport`, HANDOFF_EVENT_TYPES.withdrawn, undefined],
  ]);
  expect(jobs[1]!.data.data).toMatchObject({ receiptRequired: true, reason: 'no receipt yet' });
  expect(withdrawn!.data.data).toMatchObject({ ticketId: id, version: 5, reason: 'no receipt', state: 'level2.open' });

  // Operations heard of it on the event stream, at the re-send and at the return.
  const notified = await waitFor(async () => {
    const entries = await h.redis.xrange(`${h.prefix}:events`, '-', '+');
    const notes = entries
      .map(([, f]) => JSON.parse(f[5]!) as { id: string; type: string; data: Record<string, unknown> })
      .filter((e) => e.type === 'lotse.notification' && e.data.ticketId === id);
    return notes.length >= 2 && notes;
  }, { what: 'the notifications' });
  expect(notified.map((n) => [n.id, n.data.reason, n.data.holder, n.data.audience])).toEqual([
    [`${id}-v4-notify`, 'receipt-overdue', 'dataport', ['ops-bremen']],
    [`${id}-v5-notify`, 'receipt-overdue', 'dataport', ['ops-bremen']],
  ]);
});
