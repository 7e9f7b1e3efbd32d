import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';
import { FINISH_OUTBOX } from './scripts.js';

/**
 * The outbox: a stream (`outbox`) of committed effects, one entry per commit
 * (`t` the record id, `v` its version, `fx` the effects as JSON), read by
 * the relays through one consumer group; entries that failed too often are
 * parked in a second stream (`outbox:dead`), kept for a person to look at.
 */

/** The relays' consumer group: the metrics read its pending list too. */
export const RELAY_GROUP = 'relay';
/** Parked entries kept at most (about): the oldest go first, so a relay failing for ever cannot fill Redis. */
export const DEAD_OUTBOX_MAXLEN = 10_000;
/** Entries read per XRANGE page when the outbox is scanned. */
const PAGE = 1_000;

/** An outbox entry as Redis answers it: its id and flat field list (null fields: deleted meanwhile). */
export type OutboxEntry = [id: string, fields: string[]];

/** What the relay's last step writes of one entry: the events its publish effects carry. */
export interface FinishedEntry {
  id: string;
  events: { id: string; subject: string; json: string }[];
}

/** A field of a flat stream field list. */
export function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** A flat field list as an object. */
export function fieldsOf(fields: readonly unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[String(fields[i])] = String(fields[i + 1]);
  return out;
}

export async function ensureRelayGroup(redis: RedisClient, keys: Keys, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', keys.outbox, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String(err).includes('BUSYGROUP')) throw err;
  }
}

/** Entries no consumer of the group has read yet, at most `count`; with `blockMs`, waits that long for some. */
export async function readNewEntries(redis: RedisClient, keys: Keys, o: { group: string; consumer: string; count: number; blockMs?: number }): Promise<OutboxEntry[]> {
  const res = (o.blockMs === undefined
    ? await redis.xreadgroup('GROUP', o.group, o.consumer, 'COUNT', o.count, 'STREAMS', keys.outbox, '>')
    : await redis.xreadgroup('GROUP', o.group, o.consumer, 'COUNT', o.count, 'BLOCK', o.blockMs, 'STREAMS', keys.outbox, '>')) as [string, OutboxEntry[]][] | null;
  return res ? res[0]![1] : [];
}

/** Entries pending longer than `idleMs` with a silent consumer, taken over by `consumer`, with how often each was delivered. */
export async function claimStaleEntries(redis: RedisClient, keys: Keys, o: { group: string; consumer: string; idleMs: number; count: number }): Promise<{ entries: OutboxEntry[]; deliveries: Map<string, number> }> {
  const [, entries] = (await redis.xautoclaim(keys.outbox, o.group, o.consumer, o.idleMs, '0-0', 'COUNT', o.count)) as [string, OutboxEntry[]];
  if (entries.length === 0) return { entries, deliveries: new Map() };
  const pending = (await redis.xpending(keys.outbox, o.group, '-', '+', entries.length * 2, o.consumer)) as [string, string, number, number][];
  return { entries, deliveries: new Map(pending.map(([id, , , count]) => [id, count])) };
}

/**
 * Deletes the group's consumers other than `self` that are idle past
 * `goneIdleMs` with nothing pending (what they held was claimed first), so
 * the group does not grow by one member per process ever started. The names removed.
 */
export async function removeGoneConsumers(redis: RedisClient, keys: Keys, o: { group: string; self: string; goneIdleMs: number }): Promise<string[]> {
  const consumers = (await redis.xinfo('CONSUMERS', keys.outbox, o.group)) as unknown[][];
  const removed: string[] = [];
  for (const raw of consumers) {
    const info = fieldsOf(raw);
    if (info.name && info.name !== o.self && Number(info.pending) === 0 && Number(info.idle) > o.goneIdleMs) {
      // XGROUP DELCONSUMER drops the member's pending entries too: only ever for one with none.
      await redis.xgroup('DELCONSUMER', keys.outbox, o.group, info.name);
      removed.push(info.name);
    }
  }
  return removed;
}

/** Moves an entry to the dead outbox (its fields and its id), acknowledged and deleted, in one MULTI. */
export async function parkEntry(redis: RedisClient, keys: Keys, group: string, entryId: string, fields: readonly string[]): Promise<void> {
  await redis.multi().xadd(keys.outboxDead, 'MAXLEN', '~', DEAD_OUTBOX_MAXLEN, '*', ...fields, 'entry', entryId).xack(keys.outbox, group, entryId).xdel(keys.outbox, entryId).exec();
}

type FinishFn = (...args: (string | number)[]) => Promise<number>;
const finishers = new WeakMap<RedisClient, FinishFn>();

/** The script FINISH_OUTBOX, defined once per connection. */
function finisher(redis: RedisClient): FinishFn {
  let fn = finishers.get(redis);
  if (!fn) {
    redis.defineCommand('lotseFinishOutbox', { numberOfKeys: 2, lua: FINISH_OUTBOX });
    fn = (redis as unknown as { lotseFinishOutbox: FinishFn }).lotseFinishOutbox.bind(redis);
    finishers.set(redis, fn);
  }
  return fn;
}

/**
 * The relay's last step for a batch: publishes the entries' events on the
 * events stream (capped at about `eventsMaxLen`) and removes the entries,
 * atomically and only once. The number of events published.
 */
export async function finishEntries(redis: RedisClient, keys: Keys, o: { group: string; eventsMaxLen: number }, entries: readonly FinishedEntry[]): Promise<number> {
  const args: (string | number)[] = [];
  for (const entry of entries) {
    args.push(entry.id, entry.events.length);
    for (const e of entry.events) args.push(e.id, e.subject, e.json);
  }
  return Number(await finisher(redis)(keys.outbox, keys.events, o.group, o.eventsMaxLen, ...args));
}

export async function outboxLength(redis: RedisClient, keys: Keys): Promise<number> {
  return redis.xlen(keys.outbox);
}

/** The record ids (`t`) of every entry in the outbox, page by page: a bounded scan only when the outbox is short. */
export async function outboxRecordIds(redis: RedisClient, keys: Keys): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let start = '-'; ;) {
    const page = (await redis.xrange(keys.outbox, start, '+', 'COUNT', PAGE)) as OutboxEntry[];
    for (const [, fields] of page) ids.add(fieldOf(fields, 't') ?? '');
    if (page.length < PAGE) return ids;
    start = `(${page.at(-1)![0]}`;
  }
}

/** Deletes the parked entries of these records (they hold the effects, with the texts, as committed). */
export async function deleteParkedEntries(redis: RedisClient, keys: Keys, recordIds: ReadonlySet<string>): Promise<void> {
  for (let start = '-'; ;) {
    const page = (await redis.xrange(keys.outboxDead, start, '+', 'COUNT', PAGE)) as OutboxEntry[];
    const gone = page.filter(([, fields]) => recordIds.has(fieldOf(fields, 't') ?? '')).map(([id]) => id);
    if (gone.length > 0) await redis.xdel(keys.outboxDead, ...gone);
    if (page.length < PAGE) return;
    start = `(${page.at(-1)![0]}`;
  }
}

/**
 * One relay's view of the outbox: the functions above bound to its client,
 * prefix, group and consumer name. Blocking reads get their own connection
 * (a duplicate), so stopping can cut a read short without touching work in
 * progress; `interrupt` closes it.
 */
export function createRelayOutbox(redis: RedisClient, keys: Keys, o: { consumer: string; group?: string; eventsMaxLen?: number; onError?: (err: Error) => void }) {
  const group = o.group ?? RELAY_GROUP;
  const eventsMaxLen = o.eventsMaxLen ?? 100_000;
  const blocking = redis.duplicate();
  blocking.on('error', (err: Error) => o.onError?.(err));
  // Defined now, not at the first finish: on an auto-pipelining client a command defined while a pipeline is filled is missing from it.
  finisher(redis);
  return {
    group,
    consumer: o.consumer,
    ensureGroup: () => ensureRelayGroup(redis, keys, group),
    /** Waits up to `blockMs` for new entries, on the blocking connection. */
    waitForNew: (count: number, blockMs: number) => readNewEntries(blocking, keys, { group, consumer: o.consumer, count, blockMs }),
    readNew: (count: number) => readNewEntries(redis, keys, { group, consumer: o.consumer, count }),
    claimStale: (idleMs: number, count: number) => claimStaleEntries(redis, keys, { group, consumer: o.consumer, idleMs, count }),
    removeGoneConsumers: (goneIdleMs: number) => removeGoneConsumers(redis, keys, { group, self: o.consumer, goneIdleMs }),
    park: (entryId: string, fields: readonly string[]) => parkEntry(redis, keys, group, entryId, fields),
    finish: (entries: readonly FinishedEntry[]) => finishEntries(redis, keys, { group, eventsMaxLen }, entries),
    /** Ends a blocking read under way; the relay must not read again after. */
    interrupt: () => blocking.disconnect(),
  };
}

export type RelayOutbox = ReturnType<typeof createRelayOutbox>;
