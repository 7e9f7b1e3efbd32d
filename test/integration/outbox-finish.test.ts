/**
 * The relay's finishing script on a real Redis: it publishes a batch's
 * stream events and removes its outbox entries in one step, and finishing
 * the same batch again (a second relay, or a retry after a lost answer)
 * publishes nothing twice and leaves nothing pending.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FINISH_OUTBOX } from '../../src/store/scripts.js';
import { dropPrefix, redisUrl } from '../helpers/harness.js';

let redis: Redis;
const prefix = `lotse-finish-${process.pid}-${Date.now()}`;
const outbox = `${prefix}:outbox`;
const events = `${prefix}:events`;

beforeEach(async () => {
  redis = new Redis(redisUrl());
  await redis.xgroup('CREATE', outbox, 'relay', '0', 'MKSTREAM');
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const finish = (args: (string | number)[]) => redis.eval(FINISH_OUTBOX, 2, outbox, events, 'relay', 1000, ...args) as Promise<number>;

it('publishes each entry\'s events once and removes the entries, however often the batch is finished', async () => {
  const a = (await redis.xadd(outbox, '*', 't', 'T1', 'v', '1', 'fx', '[]'))!;
  const b = (await redis.xadd(outbox, '*', 't', 'T2', 'v', '1', 'fx', '[]'))!;
  const read = (await redis.xreadgroup('GROUP', 'relay', 'r1', 'COUNT', 10, 'STREAMS', outbox, '>')) as [string, unknown[]][];
  expect(read[0]![1]).toHaveLength(2);
  const args = [a, 2, 'e1', 'T1', '{"n":1}', 'e2', 'T1', '{"n":2}', b, 1, 'e3', 'T2', '{"n":3}'];

  expect(await finish(args)).toBe(3);
  expect(await finish(args)).toBe(0);
  const published = await redis.xrange(events, '-', '+');
  expect(published.map(([, f]) => f[1])).toEqual(['e1', 'e2', 'e3']);
  expect(await redis.xlen(outbox)).toBe(0);
  const pending = (await redis.xpending(outbox, 'relay')) as [number, ...unknown[]];
  expect(pending[0]).toBe(0);
});

it('finishes the entries still there and skips one another relay finished first', async () => {
  const a = (await redis.xadd(outbox, '*', 't', 'T1', 'v', '1', 'fx', '[]'))!;
  const b = (await redis.xadd(outbox, '*', 't', 'T2', 'v', '1', 'fx', '[]'))!;
  await redis.xreadgroup('GROUP', 'relay', 'r1', 'COUNT', 10, 'STREAMS', outbox, '>');
  expect(await finish([b, 1, 'e2', 'T2', '{}'])).toBe(1);
  expect(await finish([a, 1, 'e1', 'T1', '{}', b, 1, 'e2', 'T2', '{}'])).toBe(1);
  expect((await redis.xrange(events, '-', '+')).map(([, f]) => f[1])).toEqual(['e2', 'e1']);
  const pending = (await redis.xpending(outbox, 'relay')) as [number, ...unknown[]];
  expect(pending[0]).toBe(0);
});
