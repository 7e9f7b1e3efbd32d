import { describe, expect, it } from 'vitest';
import { FEED_GROUP } from '../../src/store/recurring-window.js';
import { bearer, harnessPerTest, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

const open = harnessPerTest();

async function createTechnical(h: Harness, land: string, subject: string) {
  const app = await h.app();
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(`desk-${land}`), payload: ticketBody({ land, service: 'elfe', category: 'technical', subject }) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

describe("the recurring-problem window's feed", () => {
  it("is written by a technical ticket's commit (no observe job), and a batch a worker read and never finished is taken over by another", async () => {
    // Relay only: the feed fills, nobody reads it yet.
    const h = await open({ roles: ['relay'] });
    const feedKey = h.runtime.keys.recurringFeed;
    const id = await createTechnical(h, 'HB', 'Upload der Geburtsurkunde schlägt fehl');
    const question = await (await h.app()).inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-HB'), payload: ticketBody({ land: 'HB', service: 'elfe', category: 'question' }) });
    expect(question.statusCode).toBe(201);
    await waitFor(async () => (await h.redis.xlen(`${h.prefix}:outbox`)) === 0, { what: 'the outbox drained' });
    // One entry, the technical ticket's; the question feeds nothing; no BullMQ job for either.
    const entries = (await h.redis.xrange(feedKey, '-', '+')) as [string, string[]][];
    expect(entries.map(([, fields]) => fields)).toEqual([['t', id]]);
    expect(await h.runtime.queues.queue('backlog').getJobCounts('waiting', 'delayed', 'active', 'completed')).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 0 });

    // A backlog worker that read the entry and died before it finished it.
    await h.redis.xgroup('CREATE', feedKey, FEED_GROUP, '0', 'MKSTREAM');
    const read = (await h.redis.xreadgroup('GROUP', FEED_GROUP, 'gone-worker', 'COUNT', 10, 'STREAMS', feedKey, '>')) as [string, [string, string[]][]][];
    expect(read[0]![1]).toHaveLength(1);
    expect(await h.redis.exists(`${h.prefix}:rt:${id}`)).toBe(0);

    // A live worker takes it over once it has been idle past the claim time, observes it, and finishes it.
    await h.runtime.startWorkers(['backlog']);
    await waitFor(async () => (await h.redis.xlen(feedKey)) === 0, { what: 'the entry taken over and finished' });
    expect(await h.redis.exists(`${h.prefix}:rt:${id}`)).toBe(1);
    const pending = (await h.redis.xpending(feedKey, FEED_GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it('waits for a service whose lock another worker holds, then observes the batch', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const lock = `${h.prefix}:blk:elfe`;
    await h.redis.set(lock, 'another-worker', 'PX', 10_000);
    const id = await createTechnical(h, 'BY', 'Geburtsurkunde lässt sich nicht hochladen');
    await waitFor(async () => (await h.redis.xlen(`${h.prefix}:outbox`)) === 0, { what: 'the outbox drained' });
    // Read, but not observed while the lock is held.
    await waitFor(async () => ((await h.redis.xpending(h.runtime.keys.recurringFeed, FEED_GROUP)) as [number])[0] === 1, { what: 'the entry read' });
    expect(await h.redis.exists(`${h.prefix}:rt:${id}`)).toBe(0);
    await h.redis.del(lock);
    await waitFor(async () => (await h.redis.xlen(h.runtime.keys.recurringFeed)) === 0, { what: 'the entry observed once the lock was given back' });
    expect(await h.redis.exists(`${h.prefix}:rt:${id}`)).toBe(1);
  });
});
