import { Job, Queue } from 'bullmq';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventsJobKey, makeEventsProcessor, type EventsJobResult } from '../../workers/events.worker.js';
import { createHarness, dev, redisUrl, ticketBody, type Harness } from '../helpers/harness.js';

/**
 * BullMQ runs an events job again when its worker died after the commit and
 * before completing the job (a stall). Here the job's processor runs twice
 * on the same job, as the stalled job's second worker would run it: the
 * event must be applied once.
 */
let h: Harness;
let events: Queue;
const log = pino({ level: 'silent' });

beforeEach(async () => {
  h = await createHarness();
  events = new Queue('events', { connection: { url: redisUrl() }, prefix: h.prefix });
});

afterEach(async () => {
  await events.close();
  await h.close();
});

async function newTicket(): Promise<string> {
  const { record } = await h.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ land: 'BY', service: 'uvo' }));
  return record.id;
}

const historyTypes = async (id: string) => (await h.runtime.engine.history(dev('ops-bremen'), id)).map((e) => e.type);

describe('an events job that runs again after it committed', () => {
  const process = () => makeEventsProcessor({ engine: h.runtime.engine, principals: h.runtime.principals });

  it('applies its event once when the job has an id of its own', async () => {
    const ticketId = await newTicket();
    const added = await events.add('event', { ticketId, orgId: 'desk-BY', event: { type: 'ACCEPT' } }, { jobId: 'desk-BY-accept-1' });
    const job = (await Job.fromId(events, added.id!)) as Job<unknown, EventsJobResult>;

    const first = await process()(job, log);
    expect(first).toEqual({ ticketId, version: 2, state: 'level1.open' });
    // The re-run: committed before, so nothing is applied again, and it says so.
    const second = await process()(job, log);
    expect(second).toEqual({ ticketId, version: 2, state: 'level1.open', replayed: true });
    expect(await historyTypes(ticketId)).toEqual(['CREATED', 'ACCEPT']);
  });

  it('applies its event once with BullMQ’s own numeric id, even after the ticket moved on', async () => {
    const ticketId = await newTicket();
    const added = await events.add('event', { ticketId, orgId: 'desk-BY', event: { type: 'SUGGEST_IMPROVEMENT', title: 'Knopf fehlt', description: '' } });
    expect(added.id).toMatch(/^\d+$/);
    const job = (await Job.fromId(events, added.id!)) as Job<unknown, EventsJobResult>;
    await h.runtime.engine.applyEvent(dev('desk-BY'), ticketId, { type: 'ACCEPT' });

    expect((await process()(job, log)).version).toBe(3);
    await h.runtime.engine.applyEvent(dev('desk-BY'), ticketId, { type: 'REQUEST_INFO', question: 'Welcher Browser?' });
    // SUGGEST_IMPROVEMENT leaves the state as it is: without the key a re-run would record it twice.
    const again = await process()(job, log);
    expect(again).toMatchObject({ version: 4, replayed: true });
    expect(await historyTypes(ticketId)).toEqual(['CREATED', 'ACCEPT', 'SUGGEST_IMPROVEMENT', 'REQUEST_INFO']);
  });

  it('keys a numeric id by the job’s creation too, so a new queue’s job 1 is another event', () => {
    expect(eventsJobKey({ id: '1', timestamp: 1000 })).not.toBe(eventsJobKey({ id: '1', timestamp: 2000 }));
    expect(eventsJobKey({ id: 'receipt-E1', timestamp: 1000 })).toBe('receipt-E1');
  });

  it('shares its key with HTTP’s Idempotency-Key: the same answer sent both ways applies once', async () => {
    const ticketId = await newTicket();
    const app = await h.app();
    const res = await app.inject({
      method: 'POST', url: `/v1/tickets/${ticketId}/events`,
      headers: { authorization: 'Bearer dev-desk-BY', 'idempotency-key': 'accept-once' }, payload: { type: 'ACCEPT' },
    });
    expect(res.statusCode).toBe(200);
    const added = await events.add('event', { ticketId, orgId: 'desk-BY', event: { type: 'ACCEPT' } }, { jobId: 'accept-once' });
    const job = (await Job.fromId(events, added.id!)) as Job<unknown, EventsJobResult>;
    expect(await process()(job, log)).toMatchObject({ version: 2, replayed: true });
    expect(await historyTypes(ticketId)).toEqual(['CREATED', 'ACCEPT']);
  });
});
