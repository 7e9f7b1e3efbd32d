import { QueueEvents } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnswerError, HANDOFF_EVENT_TYPES } from '../../src/index.js';
import { bearer, dev, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { handedToDataport as handedOver, openDataportTest, type DataportKitOptions, type DataportTest } from '../helpers/provider.js';

let t: DataportTest;
const desk = dev('desk-BY');
const operator = dev('ops-bremen');

beforeEach(async () => {
  t = await openDataportTest(['intake', 'events', 'relay', 'sla']);
});
afterEach(() => t.close());

const startProvider = (over: DataportKitOptions = {}) => t.start(over);

const handedToDataport = (body: Record<string, unknown> = {}) => handedOver(t.h.runtime.engine, body);

const ticket = (id: string) => t.h.runtime.engine.getTicket(operator, id);
const stateOf = async (id: string) => (await ticket(id)).state.value;
const history = (id: string) => t.h.runtime.engine.history(operator, id);
async function answersOn(ticketId: string) {
  const jobs = await t.queues.events.getJobs(['completed', 'failed', 'active', 'wait', 'delayed']);
  return jobs.filter((j) => (j.data as { ticketId: string }).ticketId === ticketId);
}

describe('the provider kit', () => {
  it('receives the handoff once, sends the receipt through the events queue, and resolves through a helper', async () => {
    const id = await handedToDataport();
    const seen = startProvider();
    await waitFor(async () => JSON.stringify(await stateOf(id)) === JSON.stringify({ level2: 'open' }), { what: 'the receipt to open the ticket' });
    // The handler runs once the receipt is applied.
    await waitFor(() => seen.handoffs.length > 0, { what: 'the handler' });

    expect(seen.handoffs).toHaveLength(1);
    const event = seen.handoffs[0]!;
    expect(event).toMatchObject({ specversion: '1.0', type: HANDOFF_EVENT_TYPES.requested, subject: id, id: `${id}-v3-handoff-dataport` });
    expect(event.data).toMatchObject({ attempt: 1, receiptRequired: true, ticket: { id, assignee: 'dataport', state: 'level2.handoffPending' } });
    const receipts = await answersOn(id);
    expect(receipts.map((j) => [j.id, j.data])).toEqual([[`receipt-${event.id}`, { ticketId: id, orgId: 'dataport', event: { type: 'ACCEPT' } }]]);
    const accept = (await history(id)).at(-1)!;
    expect(accept).toMatchObject({ type: 'ACCEPT', actor: { orgId: 'dataport', role: 'provider' }, from: 'level2.handoffPending', to: 'level2.open' });

    const resolved = await t.kit!.answersFor(event).resolve('Zertifikat erneuert');
    expect(resolved).toMatchObject({ jobId: `resolve-${event.id}`, ticketId: id, version: 5, state: 'resolved' });
    // The same answer again (a handler that ran twice) adds no job and changes nothing.
    expect(await t.kit!.answersFor(event).resolve('Zertifikat erneuert')).toEqual(resolved);
    expect((await history(id)).map((e) => e.type)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'RESOLVE']);
  });

  it('deduplicates a re-delivered event by its id: the handler runs once, one receipt', async () => {
    const id = await handedToDataport();
    const seen = startProvider();
    const original = await waitFor(() => t.queues.handoff.getJob(`${id}-v3-handoff-dataport`), { what: 'the handoff job' });
    expect(await original!.waitUntilFinished(t.queues.handoffEvents, 10_000)).toMatchObject({ handled: true, receiptVersion: 4 });

    // The same CloudEvent under another job id, as a re-publish or a replay would put it.
    const again = await t.queues.handoff.add(original!.name, original!.data, { jobId: `again-${id}` });
    expect(await again.waitUntilFinished(t.queues.handoffEvents, 10_000)).toEqual({ skipped: 'duplicate' });
    expect(seen.handoffs).toHaveLength(1);
    expect((await answersOn(id)).map((j) => j.id)).toEqual([`receipt-${original!.id}`]);
    expect((await history(id)).filter((e) => e.type === 'ACCEPT' && 'orgId' in e.actor && e.actor.orgId === 'dataport')).toHaveLength(1);
    expect(await t.h.redis.get(`${t.h.prefix}:provider:dataport:seen:${original!.id}`)).toBe('done');
    expect(await t.h.redis.ttl(`${t.h.prefix}:provider:dataport:seen:${original!.id}`)).toBeGreaterThan(86_400);
  });

  it('passes changes by others to onUpdate and the escalation away to onWithdrawn', async () => {
    const id = await handedToDataport();
    const seen = startProvider({ then: async (_e, ctx) => void (await ctx.requestInfo('Welcher Browser?')) });
    await waitFor(async () => JSON.stringify(await stateOf(id)) === JSON.stringify({ level2: 'waiting' }), { what: 'the question' });

    await t.h.runtime.engine.applyEvent(desk, id, { type: 'INFO_RECEIVED', info: 'Firefox 140' });
    await t.h.runtime.engine.applyEvent(desk, id, { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'medium', reason: 'mehr Betroffene' });
    await waitFor(() => seen.updates.length >= 2, { what: 'two updates' });
    const changes = seen.updates.map((u) => u.data.change).sort();
    expect(changes).toEqual(['CHANGE_PRIORITY', 'INFO_RECEIVED']);
    const latest = seen.updates.find((u) => u.data.change === 'CHANGE_PRIORITY')!;
    expect(latest).toMatchObject({ type: HANDOFF_EVENT_TYPES.updated, subject: id, data: { ticket: { priority: 'P2', assignee: 'dataport' } } });

    const escalated = await t.kit!.answersFor(seen.handoffs[0]!).escalate('Landesnetz betroffen');
    expect(escalated.state).toBe('level3.handoffPending');
    await waitFor(() => seen.withdrawals.length === 1, { what: 'the withdrawal' });
    expect(seen.withdrawals[0]).toMatchObject({ type: HANDOFF_EVENT_TYPES.withdrawn, subject: id, data: { ticketId: id, reason: 'escalated', state: 'level3.handoffPending' } });
    expect((await ticket(id)).state.context.assignee).toBe('it-BY');
  });

  it("sends REJECT_HANDOFF through reject(reason): the ticket goes to operations with the reason", async () => {
    const id = await handedToDataport();
    startProvider({ autoReceipt: false, then: async (_e, ctx) => void (await ctx.reject('Nicht unser Verfahren')) });
    await waitFor(async () => (await ticket(id)).state.context.assignee === 'ops-bremen', { what: 'the rejection' });
    const t = await ticket(id);
    expect(t.state.value).toEqual({ level2: 'open' });
    const last = (await history(id)).at(-1)!;
    expect(last).toMatchObject({ type: 'REJECT_HANDOFF', actor: { orgId: 'dataport' }, to: 'level2.open', assignee: 'ops-bremen', details: { reason: 'Nicht unser Verfahren' } });
    // No receipt was sent beside the rejection.
    expect((await answersOn(id)).map((j) => (j.data as { event: { type: string } }).event.type)).toEqual(['REJECT_HANDOFF']);
  });

  it('refuses a provider that acts on a ticket it does not hold, changing nothing', async () => {
    const id = await handedToDataport();
    const seen = startProvider();
    await waitFor(async () => JSON.stringify(await stateOf(id)) === JSON.stringify({ level2: 'open' }) && seen.handoffs.length > 0, { what: 'the receipt and the handler' });
    const answers = t.kit!.answersFor(seen.handoffs[0]!);
    await answers.escalate('Landesnetz betroffen');
    const before = (await ticket(id)).version;

    // dataport handed it on to it-BY: it still reaches the ticket but no longer holds it.
    // Taking it is it-BY's (403); resolving is nobody's while it waits for it-BY's receipt (409).
    const forbidden = await answers.send({ type: 'ACCEPT' }, { key: 'late' }).catch((err: unknown) => err);
    expect(forbidden).toBeInstanceOf(AnswerError);
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', refused: true });
    expect((forbidden as AnswerError).reason).toMatch(/holder \(it-BY\)/);
    const invalid = await answers.resolve('doch erledigt').catch((err: unknown) => err);
    expect(invalid).toMatchObject({ code: 'INVALID_TRANSITION', refused: true });
    for (const jobId of [`receipt-${seen.handoffs[0]!.id}-late`, `resolve-${seen.handoffs[0]!.id}`]) {
      const failed = await t.queues.events.getJob(jobId);
      expect(await failed!.getState()).toBe('failed');
      expect(failed!.attemptsMade).toBe(1);
    }
    expect((await ticket(id)).version).toBe(before);

    // An ehe ticket goes to it-HE and never to dataport: dataport does not even learn it exists.
    const { record: other } = await t.h.runtime.engine.createTicket(desk, ticketBody({ service: 'ehe' }));
    await t.h.runtime.engine.applyEvent(desk, other.id, { type: 'ACCEPT' });
    await t.h.runtime.engine.applyEvent(desk, other.id, { type: 'ESCALATE', reason: 'Termin-Buchung defekt' });
    // Listen before adding: a job that fails before the listener is ready would be missed.
    const eventsEvents = new QueueEvents('events', { connection: { url: redisUrl() }, prefix: t.h.prefix });
    await eventsEvents.waitUntilReady();
    const job = await t.queues.events.add('event', { ticketId: other.id, orgId: 'dataport', event: { type: 'ACCEPT' } }, { attempts: 3, jobId: 'foreign-accept' });
    try {
      await expect(job.waitUntilFinished(eventsEvents, 10_000)).rejects.toThrow(/TICKET_NOT_FOUND/);
    } finally {
      await eventsEvents.close();
    }
    expect((await ticket(other.id)).version).toBe(3);

    // The same over HTTP with dataport's key: 404 where it never held the ticket, 403 where it no longer does.
    const app = await t.h.app();
    const post = (ticketId: string, event: unknown) => app.inject({ method: 'POST', url: `/v1/tickets/${ticketId}/events`, headers: bearer('dataport'), payload: event as object });
    expect((await app.inject({ method: 'GET', url: `/v1/tickets/${other.id}`, headers: bearer('dataport') })).statusCode).toBe(404);
    expect((await post(other.id, { type: 'ACCEPT' })).statusCode).toBe(404);
    const stale = await post(id, { type: 'RESOLVE', resolution: 'doch erledigt' });
    expect([403, 409]).toContain(stale.statusCode);
    expect(stale.json()).toMatchObject({ status: stale.statusCode });
    expect((await ticket(id)).version).toBe(before);
  });

  it('fails a job that is not a Lotse CloudEvent at once, naming the fields, and skips unknown types', async () => {
    startProvider();
    const bad = await t.queues.handoff.add('x', { specversion: '0.3', id: 'e1', type: HANDOFF_EVENT_TYPES.requested, data: { attempt: 'one' } }, { jobId: 'bad-1', attempts: 3 });
    await expect(bad.waitUntilFinished(t.queues.handoffEvents, 10_000)).rejects.toThrow(/VALIDATION_FAILED.*specversion.*source/s);
    expect((await t.queues.handoff.getJob('bad-1'))!.attemptsMade).toBe(1);
    const future = await t.queues.handoff.add('x', { specversion: '1.0', id: 'e2', source: 'urn:lotse:x', type: 'lotse.ticket.something-new', subject: 'T1', time: new Date().toISOString(), datacontenttype: 'application/json', data: {} }, { jobId: 'future-1' });
    expect(await future.waitUntilFinished(t.queues.handoffEvents, 10_000)).toEqual({ skipped: 'unknown-type' });
  });

  it('retries a handler that throws, and the retry repeats no answer', async () => {
    const id = await handedToDataport();
    let runs = 0;
    const seen = startProvider({
      then: async (_e, ctx) => {
        runs++;
        await ctx.requestInfo('Welcher Browser?');
        if (runs === 1) throw new Error('our own ticket system is down');
      },
    });
    // Lotse adds handoff jobs with attempts and backoff (2 s, exponential): the second run comes after the backoff.
    const job = await waitFor(() => t.queues.handoff.getJob(`${id}-v3-handoff-dataport`), { what: 'the handoff job' });
    expect(await job!.waitUntilFinished(t.queues.handoffEvents, 20_000)).toMatchObject({ handled: true });
    expect(runs).toBe(2);
    expect(seen.handoffs).toHaveLength(2);
    expect((await answersOn(id)).map((j) => j.id).sort()).toEqual([`info-${job!.id}`, `receipt-${job!.id}`]);
    expect((await history(id)).map((e) => e.type)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'REQUEST_INFO']);
  });
});
