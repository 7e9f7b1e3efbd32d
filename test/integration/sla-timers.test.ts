import { Queue, QueueEvents } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createHarness, dev, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { fastSlaTopology } from '../helpers/topologies.js';
import { timerJobWaitsFor } from '../helpers/timers.js';

const topology = fastSlaTopology();
let h: Harness;
const desk = dev('desk-BY', topology);
const operator = dev('ops-bremen', topology);

beforeEach(async () => {
  h = await createHarness({ topology, roles: ['relay', 'sla'] });
});
afterEach(async () => h.close());

const ticket = (id: string) => h.runtime.engine.getTicket(operator, id);
const types = async (id: string) => (await h.runtime.engine.history(operator, id)).map((e) => e.type);
async function streamTypes(id: string): Promise<string[]> {
  const entries = await h.redis.xrange(`${h.prefix}:events`, '-', '+');
  return entries.filter(([, f]) => f[3] === id).map(([, f]) => (JSON.parse(f[5]!) as { type: string }).type);
}

it('warns at the configured fraction, then records the breach and notifies (P3: notify)', async () => {
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
  expect(record.state.context.priority).toBe('P3');
  await waitFor(async () => (await ticket(record.id)).state.context.sla.breaches.length > 0, { what: 'the first-response breach' });
  const t = await ticket(record.id);
  const clock = t.state.context.sla.clocks[0]!;
  // The resolution clock (PT4S) warns at 2 s too, as the first response breaches: look at one clock.
  const first = <T extends { clock: string }>(marks: T[]) => marks.filter((m) => m.clock === 'firstResponse');
  expect(first(t.state.context.sla.warnings)).toEqual([expect.objectContaining({ level: 1, holder: 'desk-BY', dueAt: clock.dueAt })]);
  expect(first(t.state.context.sla.breaches)).toEqual([expect.objectContaining({ level: 1, dueAt: clock.dueAt })]);
  // The warning came at half the target, the breach at the due time; neither early.
  expect(t.state.context.sla.warnings[0]!.at).toBeGreaterThanOrEqual(clock.warnAt);
  expect(t.state.context.sla.breaches[0]!.at).toBeGreaterThanOrEqual(clock.dueAt);
  expect(t.state.value).toEqual({ level1: 'new' });
  expect((await types(record.id)).slice(0, 3)).toEqual(['CREATED', 'SLA_WARNING', 'SLA_BREACHED']);
  expect(await h.redis.zscore(`${h.prefix}:ix:sla:breached`, record.id)).not.toBeNull();
  await waitFor(async () => (await streamTypes(record.id)).includes('lotse.ticket.sla-breached'), { what: 'the stream' });
  expect((await streamTypes(record.id)).slice(0, 5)).toEqual([
    'lotse.ticket.created',
    'lotse.ticket.sla-warning',
    'lotse.notification',
    'lotse.ticket.sla-breached',
    'lotse.notification',
  ]);
  const view = h.runtime.engine.view(operator, t);
  expect(first(view.sla.breaches)).toHaveLength(1);
});

it('escalates one level on a breach when the policy says so (P1: escalate)', async () => {
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody({ impact: 'high', urgency: 'high' }));
  expect(record.state.context.priority).toBe('P1');
  await waitFor(async () => (await ticket(record.id)).state.context.level === 2, { what: 'the escalation' });
  const t = await ticket(record.id);
  expect(t.state.value).toEqual({ level2: 'handoffPending' });
  expect(t.state.context.assignee).toBe('dataport');
  const history = await h.runtime.engine.history(operator, record.id);
  const breach = history.find((e) => e.type === 'SLA_BREACHED')!;
  expect(breach).toMatchObject({ from: 'level1.new', to: 'level2.handoffPending', actor: { system: true } });
  // The new holder's clocks start on its calendar at the escalation.
  const running = t.state.context.sla.clocks.filter((c) => c.stoppedAt === null);
  expect(running.map((c) => [c.name, c.level, c.holder])).toEqual([
    ['firstResponse', 2, 'dataport'],
    ['resolution', 2, 'dataport'],
  ]);
});

it('does not breach while paused, and moves the due time by the pause when resumed', async () => {
  const paused = (await h.runtime.engine.createTicket(desk, ticketBody())).record;
  const twin = (await h.runtime.engine.createTicket(desk, ticketBody())).record;
  for (const id of [paused.id, twin.id]) await h.runtime.engine.applyEvent(desk, id, { type: 'ACCEPT' });
  const waiting = await h.runtime.engine.applyEvent(desk, paused.id, { type: 'REQUEST_INFO', question: 'Welche Browserversion?' });
  const dueBefore = waiting.state.context.sla.clocks.find((c) => c.name === 'resolution' && c.stoppedAt === null)!.dueAt;
  expect(waiting.state.context.timer).toBeNull();

  // The twin, accepted at the same time and never paused, breaches its resolution clock.
  await waitFor(async () => (await ticket(twin.id)).state.context.sla.breaches.some((b) => b.clock === 'resolution'), { what: 'the twin to breach', timeoutMs: 15_000 });
  expect((await ticket(paused.id)).state.context.sla.breaches).toEqual([]);
  expect(await types(paused.id)).toEqual(['CREATED', 'ACCEPT', 'REQUEST_INFO']);

  const resumed = await h.runtime.engine.applyEvent(desk, paused.id, { type: 'INFO_RECEIVED', info: 'Firefox 140' });
  const clock = resumed.state.context.sla.clocks.find((c) => c.name === 'resolution' && c.stoppedAt === null)!;
  const pause = clock.pauses[0]!;
  expect(pause.businessMs).toBe(pause.to - pause.from); // 24x7: all of it counts
  expect(clock.dueAt).toBe(dueBefore + pause.businessMs);
  expect(resumed.state.context.timer).toMatchObject({ kind: 'warning', clock: 'resolution' });
});

it('ignores a timer for an epoch the ticket has left', async () => {
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
  const armed = record.state.context.timer!;
  await h.runtime.engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  // A pause cancels the timer; resuming arms one of a new epoch.
  await h.runtime.engine.applyEvent(desk, record.id, { type: 'REQUEST_INFO' });
  const resumed = await h.runtime.engine.applyEvent(desk, record.id, { type: 'INFO_RECEIVED' });
  expect(resumed.state.context.timer!.epoch).toBe(armed.epoch + 1);

  // Deliver the old timer through the sla queue, as a worker would see it.
  const { sla, events, close } = await slaQueue();
  try {
    const job = await sla.add('timer', { ticketId: record.id, epoch: armed.epoch }, { jobId: `stale-${record.id}` });
    expect(await job.waitUntilFinished(events, 10_000)).toEqual({ applied: false });
  } finally {
    await close();
  }
  const after = await ticket(record.id);
  expect(after.version).toBe(resumed.version);
  expect(await h.runtime.engine.fireTimer(record.id, armed.epoch)).toEqual({ applied: false });
});

/**
 * Whether the ticket's timer job waits for about `at`, read from the sla
 * queue's delayed set (BullMQ scores it as due * 0x1000 + counter). About:
 * BullMQ counts the delay from its own clock reading when the job is added,
 * a few ms off the relay's; the times compared here lie a second apart.
 */
const jobWaitsFor = (ticketId: string, epoch: number, at: number) => timerJobWaitsFor(h.redis, h.prefix, ticketId, epoch, at);

it('leaves the timer job in place for a later deadline (it waits again when it comes) and moves it for an earlier one', async () => {
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
  const armed = record.state.context.timer!;
  await waitFor(() => jobWaitsFor(record.id, armed.epoch, armed.at), { what: 'the timer job at the first-response warning' });
  const accepted = await h.runtime.engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  // Same epoch, later deadline: the resolution clock's warning. The job stays where it was.
  expect(accepted.state.context.timer).toMatchObject({ epoch: armed.epoch, kind: 'warning', clock: 'resolution' });
  expect(accepted.state.context.timer!.at).toBeGreaterThan(armed.at);
  await waitFor(async () => (await h.redis.xlen(`${h.prefix}:outbox`)) === 0, { what: 'the outbox to drain' });
  expect(await jobWaitsFor(record.id, armed.epoch, armed.at)).toBe(true);

  // The job comes at the old time, changes nothing and waits again until the deadline.
  await waitFor(() => jobWaitsFor(record.id, armed.epoch, accepted.state.context.timer!.at), { what: 'the early job to wait again' });
  expect((await ticket(record.id)).version).toBe(accepted.version);
  // When the deadline comes the warning is recorded once.
  await waitFor(async () => (await ticket(record.id)).state.context.sla.warnings.some((w) => w.clock === 'resolution'), { what: 'the resolution warning' });
  const t = await ticket(record.id);
  expect(t.state.context.sla.warnings.filter((w) => w.clock === 'resolution')).toHaveLength(1);
  expect((await types(record.id)).filter((x) => x === 'SLA_WARNING')).toHaveLength(1); // accepted before the first-response warning

  // An earlier deadline moves the job at once: escalated right after it was accepted, the ticket
  // starts level 2's clocks, whose first warning comes before level 1's resolution warning.
  const other = (await h.runtime.engine.createTicket(desk, ticketBody())).record;
  const first = (await h.runtime.engine.applyEvent(desk, other.id, { type: 'ACCEPT' })).state.context.timer!;
  const escalated = await h.runtime.engine.applyEvent(desk, other.id, { type: 'ESCALATE', reason: 'dataport' });
  const sooner = escalated.state.context.timer!;
  expect(sooner.epoch).toBe(first.epoch);
  expect(sooner.at).toBeLessThan(first.at - 500);
  await waitFor(async () => (await jobWaitsFor(other.id, first.epoch, sooner.at)) || (await ticket(other.id)).state.context.sla.warnings.length > 0, { what: 'the job moved to the earlier deadline' });
  await waitFor(async () => (await ticket(other.id)).state.context.sla.warnings.length > 0, { what: 'the level 2 warning' });
  const warned = await ticket(other.id);
  // It came at the earlier deadline, not at the old one.
  expect(warned.state.context.sla.warnings[0]!.at).toBeLessThan(first.at);
});

it('runs a job for the current epoch that comes before its deadline only when the deadline comes', async () => {
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
  const armed = record.state.context.timer!;
  const accepted = await h.runtime.engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  // A job for the current epoch that runs before the deadline puts itself back until then.
  const { sla, close } = await slaQueue();
  try {
    const early = await sla.add('timer', { ticketId: record.id, epoch: armed.epoch }, { jobId: `early-${record.id}` });
    await waitFor(async () => (await early.getState()) === 'delayed' && (await sla.getJob(early.id!))!.attemptsStarted > 0, { what: 'the early job to wait again' });
    expect((await ticket(record.id)).version).toBe(accepted.version);
    // When the deadline comes the warning is recorded once, whichever of the two jobs gets there first.
    await waitFor(async () => (await ticket(record.id)).state.context.sla.warnings.some((w) => w.clock === 'resolution'), { what: 'the resolution warning' });
    await waitFor(async () => ['completed', 'unknown'].includes(await early.getState()), { what: 'the early job to finish' });
    expect((await ticket(record.id)).state.context.sla.warnings.filter((w) => w.clock === 'resolution')).toHaveLength(1);
  } finally {
    await close();
  }
});

async function slaQueue() {
  const connection = { url: redisUrl() };
  const sla = new Queue('sla', { connection, prefix: h.prefix });
  const events = new QueueEvents('sla', { connection, prefix: h.prefix });
  await events.waitUntilReady();
  return { sla, events, close: () => Promise.all([sla.close(), events.close()]) };
}

it('explains the clocks: calendar, pauses, due times, warnings and breaches', async () => {
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
  await h.runtime.engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  await h.runtime.engine.applyEvent(desk, record.id, { type: 'REQUEST_INFO' });
  await h.runtime.engine.applyEvent(desk, record.id, { type: 'INFO_RECEIVED' });
  await waitFor(async () => (await ticket(record.id)).state.context.sla.breaches.length > 0, { what: 'the resolution breach' });
  const app = await h.app();
  const res = await app.inject({ method: 'GET', url: `/v1/tickets/${record.id}/sla`, headers: { authorization: 'Bearer dev-ops-bremen' } });
  expect(res.statusCode).toBe(200);
  const body = res.json();
  expect(body.policy).toEqual({ firstResponse: 'PT2S', resolution: 'PT4S', warnAt: 0.5, onBreach: 'notify' });
  expect(body.clocks.map((c: { name: string; outcome: string }) => [c.name, c.outcome])).toEqual([
    ['firstResponse', 'met'],
    ['resolution', 'breached'],
  ]);
  expect(body.clocks[1]).toMatchObject({ calendar: '24x7', target: 'PT4S', targetBusinessTime: 'PT4S', holder: 'desk-BY', closedDays: [] });
  expect(body.clocks[1].pauses).toHaveLength(1);
  expect(body.breaches).toEqual([expect.objectContaining({ clock: 'resolution', level: 1 })]);
  const other = await app.inject({ method: 'GET', url: `/v1/tickets/${record.id}/sla`, headers: { authorization: 'Bearer dev-desk-HB' } });
  expect(other.statusCode).toBe(404);
});
