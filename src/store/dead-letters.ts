import type { CloudEvent } from '../domain/cloudevent.js';
import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';

/** A webhook delivery that failed for good, kept for an operator to look at and replay. */
export interface DeadLetter {
  /** The CloudEvent's id, which is also the `webhook-id` of every attempt and replay. */
  id: string;
  orgId: string;
  event: CloudEvent;
  reason: string;
  /** Requests made for this delivery (0 when the endpoint was already disabled). */
  attempts: number;
  /** The last HTTP status received; null when no answer came. */
  lastStatus: number | null;
  failedAt: string;
  /** The job that gave up: `wh-<id>`, or `wh-<id>-r<n>` for a replay (`mail-…` for mail, `cx-…` for a connector). */
  jobId: string;
  /** When an operator last replayed this event (it failed again since, if it lies among the dead letters). */
  replayedAt?: string | undefined;
  /** How it was to be delivered: by webhook (the default, when absent), as a mail (id `mail-<event id>`) or to another ticket system (id `cx-<event id>`). */
  channel?: 'webhook' | 'mail' | 'connector';
  /**
   * A mail that may have left already (the worker died after handing it to
   * the SMTP server and before recording it sent): its replay may deliver it
   * a second time, so it needs the operator's explicit `force`.
   */
  inDoubt?: boolean;
}

/** A dead letter as an operator replayed it: when, and the new delivery's job. */
export interface ReplayedLetter extends DeadLetter {
  replayedAt: string;
  replayJobId: string;
}

/** How many replays are kept to show (the newest); older ones are removed as new ones come. */
export const KEEP_REPLAYED = 50;

/**
 * Webhook dead letters lie in a hash (`wh:dead`, event id → entry) and two
 * sorted sets by failing time (all, and the organisation's); beside them the
 * disabled endpoints (`wh:off:<org>`) and the replays made so far
 * (`wh:replays`, event id → count), so a replay's job id is never reused.
 */
const parse = (raw: string | null) => (raw ? (JSON.parse(raw) as DeadLetter) : null);

/** A dead letter's channel by its id: `mail-…` and `cx-…` are mail's and the connectors'; every other id is a webhook's event id. */
export const deadLetterChannel = (id: string): 'webhook' | 'mail' | 'connector' => (id.startsWith('mail-') ? 'mail' : id.startsWith('cx-') ? 'connector' : 'webhook');

/**
 * Besides the indexes of all and of the organisation, mail and connector
 * dead letters lie in their channel's index (`wh:dead:mail:<org>`,
 * `wh:dead:cx:<org>`), so /metrics counts each channel where it belongs;
 * the webhook count is the organisation's less those (so webhook dead
 * letters from before the channel indexes are counted as they were).
 */
export async function addDeadLetter(redis: RedisClient, keys: Keys, entry: DeadLetter): Promise<void> {
  const score = Date.parse(entry.failedAt);
  const channel = deadLetterChannel(entry.id);
  const multi = redis
    .multi()
    .hset(keys.deadLetters, entry.id, JSON.stringify(entry))
    .zadd(keys.deadLetterIndex(), score, entry.id)
    .zadd(keys.deadLetterIndex(entry.orgId), score, entry.id);
  if (channel !== 'webhook') multi.zadd(keys.deadLetterChannelIndex(channel, entry.orgId), score, entry.id);
  await multi.exec();
}

/** Removes an entry; true only for the caller that removed it. */
export async function takeDeadLetter(redis: RedisClient, keys: Keys, entry: Pick<DeadLetter, 'id' | 'orgId'>): Promise<boolean> {
  const channel = deadLetterChannel(entry.id);
  const multi = redis.multi().hdel(keys.deadLetters, entry.id).zrem(keys.deadLetterIndex(), entry.id).zrem(keys.deadLetterIndex(entry.orgId), entry.id);
  if (channel !== 'webhook') multi.zrem(keys.deadLetterChannelIndex(channel, entry.orgId), entry.id);
  const res = await multi.exec();
  return res?.[0]?.[1] === 1;
}

export async function readDeadLetter(redis: RedisClient, keys: Keys, id: string): Promise<DeadLetter | null> {
  return parse(await redis.hget(keys.deadLetters, id));
}

export async function readDeadLetters(redis: RedisClient, keys: Keys, ids: readonly string[]): Promise<DeadLetter[]> {
  if (ids.length === 0) return [];
  return (await redis.hmget(keys.deadLetters, ...ids)).flatMap((raw) => (raw ? [JSON.parse(raw) as DeadLetter] : []));
}

/**
 * Ids and failing times of the entries at or before `maxScore` (all, or one
 * organisation's), newest first, `count` from `offset`; entries failing in the
 * same millisecond come in reverse id order, as ZRANGE REV gives them.
 */
export async function deadLetterIdsBefore(redis: RedisClient, keys: Keys, o: { orgId?: string | undefined; maxScore?: number | undefined; offset: number; count: number }): Promise<{ id: string; score: number }[]> {
  const batch = await redis.zrange(keys.deadLetterIndex(o.orgId), o.maxScore ?? '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', o.offset, o.count, 'WITHSCORES');
  const out: { id: string; score: number }[] = [];
  for (let i = 0; i < batch.length; i += 2) out.push({ id: batch[i]!, score: Number(batch[i + 1]) });
  return out;
}

export async function isEndpointDisabled(redis: RedisClient, keys: Keys, orgId: string): Promise<boolean> {
  return (await redis.exists(keys.webhookDisabled(orgId))) === 1;
}

export async function disableEndpoint(redis: RedisClient, keys: Keys, orgId: string, at: number): Promise<void> {
  await redis.set(keys.webhookDisabled(orgId), JSON.stringify({ at: new Date(at).toISOString(), status: 410 }));
}

export async function enableEndpoint(redis: RedisClient, keys: Keys, orgId: string): Promise<void> {
  await redis.del(keys.webhookDisabled(orgId));
}

/**
 * Keeps a replayed dead letter with its replay time, among the newest
 * KEEP_REPLAYED: the board shows that (and when) it was replayed, and a
 * dead letter that fails again carries the time of the replay before.
 */
export async function markReplayed(redis: RedisClient, keys: Keys, entry: DeadLetter, at: number, replayJobId: string): Promise<ReplayedLetter> {
  const replayed: ReplayedLetter = { ...entry, replayedAt: new Date(at).toISOString(), replayJobId };
  // The oldest beyond the bound once this one is in; a replay at the same moment may leave one more, the next trims it.
  const overflow = await redis.zrange(keys.webhookReplayedIndex, 0, -KEEP_REPLAYED);
  const multi = redis.multi().hset(keys.webhookReplayed, entry.id, JSON.stringify(replayed)).zadd(keys.webhookReplayedIndex, at, entry.id);
  const gone = overflow.filter((id) => id !== entry.id);
  if (gone.length > 0) multi.hdel(keys.webhookReplayed, ...gone).zrem(keys.webhookReplayedIndex, ...gone);
  await multi.exec();
  return replayed;
}

/** The newest replays, newest first. */
export async function readRecentReplays(redis: RedisClient, keys: Keys, count: number): Promise<ReplayedLetter[]> {
  const ids = await redis.zrange(keys.webhookReplayedIndex, 0, count - 1, 'REV');
  if (ids.length === 0) return [];
  return (await redis.hmget(keys.webhookReplayed, ...ids)).flatMap((raw) => (raw ? [JSON.parse(raw) as ReplayedLetter] : []));
}

/** When each of these events was last replayed (undefined: never, or too long ago to be kept). */
export async function readReplayTimes(redis: RedisClient, keys: Keys, ids: readonly string[]): Promise<(string | undefined)[]> {
  if (ids.length === 0) return [];
  return (await redis.hmget(keys.webhookReplayed, ...ids)).map((raw) => (raw ? (JSON.parse(raw) as ReplayedLetter).replayedAt : undefined));
}

/** Counts one more replay of an event: its number, for a job id never used before. */
export async function countReplay(redis: RedisClient, keys: Keys, eventId: string): Promise<number> {
  return redis.hincrby(keys.webhookReplays, eventId, 1);
}

/**
 * Everything kept of these events' webhook deliveries, for an erased
 * ticket's purge: removes their replay counts and dead letters, and answers
 * how many replays each had (their jobs may still lie on the webhook queue)
 * and how many dead letters went.
 */
export async function purgeDeliveries(redis: RedisClient, keys: Keys, eventIds: readonly string[]): Promise<{ replays: number[]; deadLetters: number }> {
  if (eventIds.length === 0) return { replays: [], deadLetters: 0 };
  const replays = (await redis.hmget(keys.webhookReplays, ...eventIds)).map((n) => Number(n ?? 0));
  const letters = await readDeadLetters(redis, keys, eventIds);
  const multi = redis.multi().hdel(keys.webhookReplays, ...eventIds).hdel(keys.webhookReplayed, ...eventIds).zrem(keys.webhookReplayedIndex, ...eventIds);
  for (const l of letters) {
    multi.hdel(keys.deadLetters, l.id).zrem(keys.deadLetterIndex(), l.id).zrem(keys.deadLetterIndex(l.orgId), l.id);
    const channel = deadLetterChannel(l.id);
    if (channel !== 'webhook') multi.zrem(keys.deadLetterChannelIndex(channel, l.orgId), l.id);
  }
  await multi.exec();
  return { replays, deadLetters: letters.length };
}

/** The dead-letter functions bound to one client and prefix: what the webhooks and the retention worker are handed instead of the client. */
export function createDeadLetterStore(redis: RedisClient, keys: Keys) {
  return {
    add: (entry: DeadLetter) => addDeadLetter(redis, keys, entry),
    take: (entry: Pick<DeadLetter, 'id' | 'orgId'>) => takeDeadLetter(redis, keys, entry),
    get: (id: string) => readDeadLetter(redis, keys, id),
    getMany: (ids: readonly string[]) => readDeadLetters(redis, keys, ids),
    idsBefore: (o: { orgId?: string | undefined; maxScore?: number | undefined; offset: number; count: number }) => deadLetterIdsBefore(redis, keys, o),
    isDisabled: (orgId: string) => isEndpointDisabled(redis, keys, orgId),
    disable: (orgId: string, at: number) => disableEndpoint(redis, keys, orgId, at),
    enable: (orgId: string) => enableEndpoint(redis, keys, orgId),
    countReplay: (eventId: string) => countReplay(redis, keys, eventId),
    markReplayed: (entry: DeadLetter, at: number, replayJobId: string) => markReplayed(redis, keys, entry, at, replayJobId),
    recentReplays: (count: number) => readRecentReplays(redis, keys, count),
    replayTimes: (ids: readonly string[]) => readReplayTimes(redis, keys, ids),
    purgeDeliveries: (eventIds: readonly string[]) => purgeDeliveries(redis, keys, eventIds),
  };
}

export type DeadLetterStore = ReturnType<typeof createDeadLetterStore>;
