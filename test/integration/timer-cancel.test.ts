import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { timerJobId } from '../../src/engine/index.js';
import { delayedJobKeys } from '../../src/queue/job-keys.js';
import { createDelayedJobRemover } from '../../src/store/delayed-jobs.js';
import { bearer, dropPrefix, harnessPerTest, newPrefix, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { relayOnce } from '../helpers/relay.js';

/**
 * A ticket's timer cancelled: by the close's own commit when nothing of the
 * ticket is left in the outbox, else by the relay; either way a timer still
 * delayed is removed by Lotse's script (src/store/delayed-jobs.ts, COMMIT)
 * and leaves what BullMQ's removeJob leaves, and a timer no longer delayed
 * is left to BullMQ (or to fire stale, which the engine ignores).
 */

const open = harnessPerTest();

async function send(h: Harness, path: string, payload: Record<string, unknown>, status: number) {
  const res = await (await h.app()).inject({ method: 'POST', url: path, headers: bearer('desk-BY'), payload });
  expect(res.statusCode, res.body).toBe(status);
  return res.json() as { id: string };
}


/** Every key under the prefix that names the job. */
async function keysOfJob(redis: Redis, prefix: string, jobId: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*${jobId}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

const published = async (h: Harness) => ((await h.redis.xrange(h.runtime.keys.events, '-', '+')) as [string, string[]][]).map(([, f]) => f[1]);
const outboxAdded = async (h: Harness) => {
  const info = (await h.redis.xinfo('STREAM', h.runtime.keys.outbox)) as unknown[];
  return Number(info[info.indexOf('entries-added') + 1]);
};
/** The `removed` events BullMQ's removeJob wrote for the job on the queue's events stream: none when Lotse's script removed it. */
const removedByBullmq = async (h: Harness, jobId: string) =>
  ((await h.redis.xrange(`${h.prefix}:sla:events`, '-', '+')) as [string, string[]][]).filter(([, f]) => f.includes('removed') && f.includes(jobId));
const delayed = (h: Harness, jobId: string) => h.redis.zscore(`${h.prefix}:sla:delayed`, jobId);

/** Created, accepted and resolved by the desk: a ticket whose next CLOSE has no deadline left, so it cancels the timer (epoch 1). */
async function resolvedTicket(h: Harness): Promise<string> {
  const { id } = await send(h, '/v1/tickets', ticketBody(), 201);
  await send(h, `/v1/tickets/${id}/events`, { type: 'ACCEPT' }, 200);
  await send(h, `/v1/tickets/${id}/events`, { type: 'RESOLVE', resolution: 'erledigt' }, 200);
  return id;
}

describe("BullMQ's keys of a job, as Lotse names them", () => {
  it("are BullMQ's own, and Lotse's removal of a delayed job leaves what BullMQ's removeJob leaves", async () => {
    const prefix = newPrefix('tc');
    const redis = new Redis(redisUrl());
    const queue = new Queue('sla', { connection: redis, prefix });
    try {
      const keys = delayedJobKeys(prefix, 'sla', 'timer-a-1');
      expect(keys.delayedKey).toBe(queue.keys.delayed);
      expect(keys.jobKeys[0]).toBe(queue.toKey('timer-a-1'));
      // Two timers armed as Lotse arms them; one removed by Lotse's script, the other by BullMQ.
      const opts = { delay: 60_000, attempts: 8, backoff: 1000, removeOnComplete: true, stackTraceLimit: 0 };
      await queue.add('timer', { ticketId: 'a', epoch: 1 }, { ...opts, jobId: 'timer-a-1' });
      await queue.add('timer', { ticketId: 'b', epoch: 1 }, { ...opts, jobId: 'timer-b-1' });
      await queue.getJob('timer-a-1').then((job) => job?.log('a line in its log, so it has one more key'));
      const remove = createDelayedJobRemover(redis);
      expect(await remove(keys.delayedKey, keys.jobKeys, 'timer-a-1')).toBe(true);
      expect(await queue.remove('timer-b-1', { removeChildren: false })).toBe(1);
      for (const id of ['timer-a-1', 'timer-b-1']) {
        expect(await queue.getJob(id)).toBeUndefined();
        expect(await keysOfJob(redis, prefix, id)).toEqual([]);
      }
      expect(await queue.getJobCounts('delayed', 'wait', 'prioritized')).toEqual({ delayed: 0, wait: 0, prioritized: 0 });
      // Removed once: a second removal finds nothing and changes nothing.
      expect(await remove(keys.delayedKey, keys.jobKeys, 'timer-a-1')).toBe(false);
    } finally {
      await queue.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it('leaves a job that is no longer delayed alone (promoted to run: it fires, and a cancelled timer fires stale)', async () => {
    const prefix = newPrefix('tc');
    const redis = new Redis(redisUrl());
    const queue = new Queue('sla', { connection: redis, prefix });
    try {
      const job = await queue.add('timer', { ticketId: 'a', epoch: 1 }, { jobId: 'timer-a-1', delay: 60_000 });
      await job.promote();
      const { delayedKey, jobKeys } = delayedJobKeys(prefix, 'sla', 'timer-a-1');
      expect(await createDelayedJobRemover(redis)(delayedKey, jobKeys, 'timer-a-1')).toBe(false);
      expect(await (await queue.getJob('timer-a-1'))?.getState()).toBe('waiting');
      expect((await queue.getJob('timer-a-1'))?.data).toEqual({ ticketId: 'a', epoch: 1 });
    } finally {
      await queue.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});

describe("a close cancels the ticket's timer", () => {
  it('in its own commit when nothing of the ticket is left in the outbox: no outbox entry, the job gone when the request is answered', async () => {
    const h = await open({ roles: ['relay'] });
    const id = await resolvedTicket(h);
    const timer = timerJobId(id, 1);
    await waitFor(async () => (await h.redis.xlen(h.runtime.keys.outbox)) === 0 && (await delayed(h, timer)) !== null, { what: 'the timer armed and the outbox empty' });
    const added = await outboxAdded(h);
    await send(h, `/v1/tickets/${id}/events`, { type: 'CLOSE' }, 200);
    // Answered: the event is on the stream, the timer's job is gone, and no outbox entry was written.
    expect(await delayed(h, timer)).toBeNull();
    expect(await keysOfJob(h.redis, h.prefix, timer)).toEqual([]);
    expect(await outboxAdded(h)).toBe(added);
    expect(await removedByBullmq(h, timer)).toEqual([]);
    expect((await published(h)).filter((e) => e?.startsWith(`${id}-`))).toEqual([`${id}-v1`, `${id}-v2`, `${id}-v3`, `${id}-v4`]);
  });

  it('through the outbox when an entry of the ticket is still pending: the relay arms the timer first and removes it after, with the events in order', async () => {
    // No relay: the creation's entry (which arms the timer) is still pending when the ticket closes.
    const h = await open({ roles: [] });
    const id = await resolvedTicket(h);
    const timer = timerJobId(id, 1);
    await send(h, `/v1/tickets/${id}/events`, { type: 'CLOSE' }, 200);
    expect(await published(h)).toEqual([]);
    expect(await delayed(h, timer)).toBeNull();
    await relayOnce(h);
    // Armed and cancelled in one batch: cancelled last, so nothing of the timer is left.
    expect(await delayed(h, timer)).toBeNull();
    expect(await keysOfJob(h.redis, h.prefix, timer)).toEqual([]);
    expect(await published(h)).toEqual([`${id}-v1`, `${id}-v2`, `${id}-v3`, `${id}-v4`]);
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(0);
  });

  it('through the relay by the cheap removal when the close must wait behind an entry of its own (the timer already armed)', async () => {
    const h = await open({ roles: [] });
    const id = await resolvedTicket(h);
    const timer = timerJobId(id, 1);
    await relayOnce(h);
    expect(await delayed(h, timer)).not.toBeNull();
    // An entry of the ticket pending again (a suggestion is a backlog effect, run by the relay): the close waits behind it.
    await send(h, `/v1/tickets/${id}/events`, { type: 'SUGGEST_IMPROVEMENT', title: 'Formular vereinfachen' }, 200);
    const pending = await h.redis.xlen(h.runtime.keys.outbox);
    expect(pending).toBe(1);
    await send(h, `/v1/tickets/${id}/events`, { type: 'CLOSE' }, 200);
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(2);
    expect(await delayed(h, timer)).not.toBeNull();
    await relayOnce(h);
    expect(await delayed(h, timer)).toBeNull();
    expect(await keysOfJob(h.redis, h.prefix, timer)).toEqual([]);
    expect(await removedByBullmq(h, timer)).toEqual([]);
    expect((await published(h)).filter((e) => e?.startsWith(`${id}-`))).toEqual([`${id}-v1`, `${id}-v2`, `${id}-v3`, `${id}-v4`, `${id}-v5`]);
  });
});
