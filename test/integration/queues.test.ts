import { Queue, QueueEvents } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, redisUrl, ticketBody, type Harness } from '../helpers/harness.js';

let h: Harness;
let intake: Queue;
let events: Queue;
let intakeEvents: QueueEvents;
let eventsEvents: QueueEvents;

beforeEach(async () => {
  h = await createHarness({ roles: ['intake', 'events', 'relay'] });
  const connection = { url: redisUrl() };
  intake = new Queue('intake', { connection, prefix: h.prefix });
  events = new Queue('events', { connection, prefix: h.prefix });
  intakeEvents = new QueueEvents('intake', { connection, prefix: h.prefix });
  eventsEvents = new QueueEvents('events', { connection, prefix: h.prefix });
  await Promise.all([intakeEvents.waitUntilReady(), eventsEvents.waitUntilReady()]);
});

afterEach(async () => {
  await Promise.all([intake.close(), events.close(), intakeEvents.close(), eventsEvents.close()]);
  await h.close();
});

describe('intake queue', () => {
  it('creates a ticket; the job returns its id and the job id is the idempotency key', async () => {
    const job = await intake.add('ticket', { ...ticketBody({ externalRef: 'BY-q-1' }), orgId: 'desk-BY' }, { jobId: 'desk-BY-4711', attempts: 3 });
    const result = (await job.waitUntilFinished(intakeEvents, 10_000)) as { ticketId: string };
    expect(result.ticketId).toMatch(/^T[0-9A-Z]{20}$/);
    const record = await h.runtime.engine.getTicket({ orgId: 'desk-BY', role: 'desk', land: 'BY' }, result.ticketId);
    expect(record.data.externalRef).toBe('BY-q-1');
    expect(record.state.context.createdBy).toBe('desk-BY');

    // The same job id again, after BullMQ forgot the first job: the same ticket, not a second one.
    await job.remove();
    const again = await intake.add('ticket', { ...ticketBody({ externalRef: 'BY-q-1' }), orgId: 'desk-BY' }, { jobId: 'desk-BY-4711' });
    const second = (await again.waitUntilFinished(intakeEvents, 10_000)) as { ticketId: string };
    expect(second.ticketId).toBe(result.ticketId);
    expect(await h.redis.zcard(`${h.prefix}:ix:all`)).toBe(1);
  });

  it('fails an invalid job at once, without retries, naming every wrong field', async () => {
    const job = await intake.add(
      'ticket',
      { ...ticketBody({ channel: 'fax', impact: 'huge', reporter: { email: 'nope' } }), orgId: 'desk-BY', colour: 'red' },
      { attempts: 5, backoff: { type: 'fixed', delay: 10 } },
    );
    await expect(job.waitUntilFinished(intakeEvents, 10_000)).rejects.toThrow(/VALIDATION_FAILED/);
    const failed = await intake.getJob(job.id!);
    expect(failed?.attemptsMade).toBe(1);
    for (const field of ['channel', 'impact', 'reporter.email', 'colour']) expect(failed?.failedReason).toContain(field);
    expect(await h.redis.zcard(`${h.prefix}:ix:all`)).toBe(0);
  });

  it('refuses a job from an organisation that is not a desk', async () => {
    const job = await intake.add('ticket', { ...ticketBody(), orgId: 'dataport' }, { attempts: 3 });
    await expect(job.waitUntilFinished(intakeEvents, 10_000)).rejects.toThrow(/orgId/);
    expect((await intake.getJob(job.id!))?.attemptsMade).toBe(1);
  });

  it('refuses a service the topology does not know, naming the field', async () => {
    const job = await intake.add('ticket', { ...ticketBody({ service: 'nope' }), orgId: 'desk-BY' }, { attempts: 3 });
    await expect(job.waitUntilFinished(intakeEvents, 10_000)).rejects.toThrow(/service/);
  });
});

describe('events queue', () => {
  async function created(): Promise<string> {
    const job = await intake.add('ticket', { ...ticketBody({ land: 'BY', service: 'uvo' }), orgId: 'desk-BY' });
    return ((await job.waitUntilFinished(intakeEvents, 10_000)) as { ticketId: string }).ticketId;
  }

  it('applies answers from desks and providers through the same engine', async () => {
    const ticketId = await created();
    const steps: [string, Record<string, unknown>, string][] = [
      ['desk-BY', { type: 'ACCEPT' }, 'level1.open'],
      ['desk-BY', { type: 'ESCALATE', reason: 'Upload schlägt fehl' }, 'level2.handoffPending'],
      ['dataport', { type: 'ACCEPT' }, 'level2.open'],
      ['dataport', { type: 'RESOLVE', resolution: 'Zertifikat erneuert' }, 'resolved'],
    ];
    for (const [orgId, event, state] of steps) {
      const job = await events.add('event', { ticketId, orgId, event });
      const result = (await job.waitUntilFinished(eventsEvents, 10_000)) as { state: string };
      expect(result.state).toBe(state);
    }
    const history = await h.runtime.engine.history({ orgId: 'ops-bremen', role: 'operator' }, ticketId);
    expect(history.map((e) => e.type)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'RESOLVE']);
    expect(history[3]!.actor).toEqual({ orgId: 'dataport', role: 'provider' });
  });

  it('fails a refused transition at once with the allowed events in the reason', async () => {
    const ticketId = await created();
    const job = await events.add('event', { ticketId, orgId: 'desk-BY', event: { type: 'RESOLVE' } }, { attempts: 4 });
    await expect(job.waitUntilFinished(eventsEvents, 10_000)).rejects.toThrow(/resolution/);
    const refused = await events.add('event', { ticketId, orgId: 'desk-BY', event: { type: 'RETURN', answer: 'x' } }, { attempts: 4 });
    await expect(refused.waitUntilFinished(eventsEvents, 10_000)).rejects.toThrow(/INVALID_TRANSITION/);
    expect((await events.getJob(refused.id!))?.attemptsMade).toBe(1);
  });

  it('does not let a provider act on a ticket it does not hold', async () => {
    const ticketId = await created();
    const job = await events.add('event', { ticketId, orgId: 'dataport', event: { type: 'ACCEPT' } }, { attempts: 4 });
    await expect(job.waitUntilFinished(eventsEvents, 10_000)).rejects.toThrow(/TICKET_NOT_FOUND/);
  });

  it('fails a malformed job naming its fields', async () => {
    const job = await events.add('event', { ticketId: 'x:y', event: 'ACCEPT' }, { attempts: 4 });
    await expect(job.waitUntilFinished(eventsEvents, 10_000)).rejects.toThrow(/ticketId.*orgId|orgId.*ticketId/s);
  });
});
