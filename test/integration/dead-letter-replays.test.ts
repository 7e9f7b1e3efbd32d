import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addDeadLetter, KEEP_REPLAYED, markReplayed, purgeDeliveries, readRecentReplays, readReplayTimes, type DeadLetter } from '../../src/store/dead-letters.js';
import { makeKeys } from '../../src/store/keys.js';
import { dropPrefix, newPrefix, redisUrl } from '../helpers/harness.js';

let redis: Redis;
const prefix = newPrefix('replayed');
const keys = makeKeys(prefix);

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const letter = (i: number): DeadLetter => ({
  id: `T${String(i).padStart(20, '0')}-v1-handoff-dataport`, orgId: 'dataport', reason: 'HTTP 500', attempts: 3, lastStatus: 500,
  failedAt: new Date(1_800_000_000_000 + i).toISOString(), jobId: `wh-${i}`,
  event: { specversion: '1.0', id: `e${i}`, source: 'lotse', type: 'lotse.ticket.handoff.requested', subject: `T${i}`, time: '2026-12-07T10:00:00Z' } as never,
});

it('keeps the newest replays with their time, bounded: the oldest go as new ones come, and an erasure takes them', async () => {
  const base = 1_800_000_000_000;
  for (let i = 0; i < KEEP_REPLAYED + 5; i++) await markReplayed(redis, keys, letter(i), base + i * 1000, `wh-${i}-r1`);
  expect(await redis.zcard(keys.webhookReplayedIndex)).toBe(KEEP_REPLAYED);
  expect(await redis.hlen(keys.webhookReplayed)).toBe(KEEP_REPLAYED);
  const recent = await readRecentReplays(redis, keys, 3);
  expect(recent.map((r) => r.id)).toEqual([letter(KEEP_REPLAYED + 4).id, letter(KEEP_REPLAYED + 3).id, letter(KEEP_REPLAYED + 2).id]);
  expect(recent[0]).toMatchObject({ replayedAt: new Date(base + (KEEP_REPLAYED + 4) * 1000).toISOString(), replayJobId: `wh-${KEEP_REPLAYED + 4}-r1` });
  // The oldest is gone; one kept answers its time.
  expect(await readReplayTimes(redis, keys, [letter(0).id, letter(10).id])).toEqual([undefined, new Date(base + 10_000).toISOString()]);

  // The same event failing again: a dead letter again, and its replay time still there to show.
  await addDeadLetter(redis, keys, letter(10));
  expect((await readReplayTimes(redis, keys, [letter(10).id]))[0]).toBeDefined();
  await purgeDeliveries(redis, keys, [letter(10).id]);
  expect(await readReplayTimes(redis, keys, [letter(10).id])).toEqual([undefined]);
  expect(await redis.zscore(keys.webhookReplayedIndex, letter(10).id)).toBeNull();
});
