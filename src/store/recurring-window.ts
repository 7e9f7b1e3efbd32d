import { LRUCache } from 'lru-cache';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { ENTER_WINDOW } from './scripts.js';

/**
 * The recurring-problem window of a service: recent technical tickets by
 * term (`rx:<service>:<term>`, ticket ids scored by creation time, capped to
 * the `cap` newest; reads skip what is older than the window by score) and
 * each ticket's observation (`rt:<ticketId>`, JSON, living as long as the
 * window). Fed by `rfeed`: a stream of ticket ids, one entry per technical
 * ticket, written by the ticket's creating commit and read by the backlog
 * workers through one consumer group.
 */
export interface Observed {
  ticketId: string;
  service: string;
  at: number;
  terms: readonly string[];
  /** The observation itself (JSON-encoded here, decoded by readObservations). */
  observation: unknown;
}

/** The backlog workers' consumer group on the feed. */
export const FEED_GROUP = 'backlog';

type EnterFn = (...args: (string | number)[]) => Promise<string[]>;
const enterers = new WeakMap<RedisClient, EnterFn>();

/** The script ENTER_WINDOW, defined once per connection. */
function enterer(redis: RedisClient): EnterFn {
  let fn = enterers.get(redis);
  if (!fn) {
    redis.defineCommand('lotseEnterWindow', { lua: ENTER_WINDOW });
    fn = (redis as unknown as { lotseEnterWindow: EnterFn }).lotseEnterWindow.bind(redis);
    enterers.set(redis, fn);
  }
  return fn;
}

/** What the window is asked for a ticket it takes in: its nearest neighbours since `since`. */
export interface Nearest {
  /** The window's start (ms): older entries are not read. */
  since: number;
  /** The newest entries read per term. */
  perTerm: number;
  /** The neighbours given back at most. */
  limit: number;
}

/**
 * Enters a ticket in the window under each of its terms and gives back the
 * tickets seen since `since` under most of its terms (at most `perTerm`
 * newest of each term read, at most `limit` given back, the most terms in
 * common first, the ticket itself among them), in one script.
 */
export async function enterWindow(redis: RedisClient, keys: Keys, o: Observed, windowMs: number, cap: number, near: Nearest): Promise<string[]> {
  const ttl = Math.ceil(windowMs / 1000);
  const postings = o.terms.map((term) => keys.recurringPosting(o.service, term));
  return enterer(redis)(1 + postings.length, keys.recurringTicket(o.ticketId), ...postings, JSON.stringify(o.observation), ttl, o.at, o.ticketId, cap, near.since, near.perTerm, near.limit);
}

/** The observations of these tickets still in the window; a ticket whose observation expired is left out. */
export async function readObservations(redis: RedisClient, keys: Keys, ticketIds: readonly string[]): Promise<unknown[]> {
  if (ticketIds.length === 0) return [];
  const stored = await redis.mget(...ticketIds.map((id) => keys.recurringTicket(id)));
  return stored.flatMap((raw) => (raw ? [JSON.parse(raw) as unknown] : []));
}

/** Observations one process keeps decoded, at most… */
export const OBSERVATION_CACHE_MAX = 1_024;
/** …and for this long after it wrote or read them. */
export const OBSERVATION_CACHE_TTL_MS = 30_000;

/**
 * readObservations with the observations this process wrote or read in the
 * last OBSERVATION_CACHE_TTL_MS kept decoded: in a burst every new ticket of
 * a service is compared with up to a hundred recent ones, mostly the same,
 * and an observation never changes once written (the ticket's subject at its
 * creation). Only the others are read from Redis. The same objects come back
 * each time, so the text analysis keeps what it derived from them. An
 * observation deleted meanwhile (the ticket erased) is still compared for at
 * most the cache's lifetime; its window's postings, which say it is there,
 * are read each time.
 */
export function cachedObservations(read: (ticketIds: readonly string[]) => Promise<unknown[]>, idOf: (observation: unknown) => string) {
  const cache = new LRUCache<string, object>({ max: OBSERVATION_CACHE_MAX, ttl: OBSERVATION_CACHE_TTL_MS });
  return {
    remember(ticketId: string, observation: unknown) {
      if (typeof observation === 'object' && observation !== null) cache.set(ticketId, observation);
    },
    async read(ticketIds: readonly string[]): Promise<unknown[]> {
      const found = new Map<string, unknown>();
      for (const id of ticketIds) {
        const o = cache.get(id);
        if (o !== undefined) found.set(id, o);
      }
      for (const o of await read(ticketIds.filter((id) => !found.has(id)))) {
        if (typeof o !== 'object' || o === null) continue;
        cache.set(idOf(o), o);
        found.set(idOf(o), o);
      }
      return ticketIds.flatMap((id) => (found.has(id) ? [found.get(id)] : []));
    },
  };
}

/** The window's functions bound to a client and keys: what the backlog feed is given. */
export interface RecurringWindow {
  /** Enters the ticket and gives back its nearest neighbours in the window (enterWindow). */
  enter(o: Observed, windowMs: number, cap: number, near: Nearest): Promise<string[]>;
  /** The observations of these tickets, all of `service`'s window (with partitions, the service's partition holds them). */
  readObservations(ticketIds: readonly string[], service: string): Promise<unknown[]>;
}

/** The windows of every partition (LOTSE_PARTITIONS), each service's in its backlog's partition. */
export function partitionedWindow(windows: readonly RecurringWindow[], partitionOf: (service: string) => number): RecurringWindow {
  if (windows.length === 1) return windows[0]!;
  return {
    enter: (o, windowMs, cap, near) => windows[partitionOf(o.service)]!.enter(o, windowMs, cap, near),
    readObservations: (ticketIds, service) => windows[partitionOf(service)]!.readObservations(ticketIds, service),
  };
}

/**
 * The window bound to a client. The script is defined here, at once, not at
 * its first use: the shared client pipelines automatically, and a command
 * defined while an automatic pipeline of that client is being filled is
 * missing from it (`pipeline[functionName] is not a function`), which leaves
 * that pipeline's replies one short and makes ioredis throw outside any
 * promise ("results[i] is not iterable"), ending the process.
 */
export function makeRecurringWindow(redis: RedisClient, keys: Keys): RecurringWindow {
  enterer(redis);
  const observations = cachedObservations((ids) => readObservations(redis, keys, ids), (o) => String((o as { ticketId?: unknown }).ticketId));
  return {
    async enter(o, windowMs, cap, near) {
      const nearest = await enterWindow(redis, keys, o, windowMs, cap, near);
      observations.remember(o.ticketId, o.observation);
      return nearest;
    },
    readObservations: (ids) => observations.read(ids),
  };
}

/** A feed entry: its stream id and the ticket to observe (null when the entry was trimmed away meanwhile). */
export interface FeedEntry {
  id: string;
  ticketId: string | null;
}

type RawEntry = [id: string, fields: string[] | null];
const asEntries = (raw: RawEntry[]): FeedEntry[] => raw.map(([id, fields]) => ({ id, ticketId: fields && fields[0] === 't' ? (fields[1] ?? null) : null }));

/**
 * One backlog worker's view of the feed: blocking reads on a connection of
 * their own (a duplicate, closed by `interrupt`), taking over the entries of
 * a worker gone silent, and finishing entries (deleted, then acknowledged:
 * an entry deleted but left pending by a crash is dropped from the pending
 * list by the next take-over).
 */
export function createFeedReader(redis: RedisClient, keys: Keys, o: { consumer: string; onError?: (err: Error) => void }) {
  const blocking = redis.duplicate();
  blocking.on('error', (err: Error) => o.onError?.(err));
  const key = keys.recurringFeed;
  return {
    consumer: o.consumer,
    async ensureGroup(): Promise<void> {
      try {
        await redis.xgroup('CREATE', key, FEED_GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!String(err).includes('BUSYGROUP')) throw err;
      }
    },
    /** Waits up to `blockMs` for entries no worker has read yet. */
    async waitForNew(count: number, blockMs: number): Promise<FeedEntry[]> {
      const res = (await blocking.xreadgroup('GROUP', FEED_GROUP, o.consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, '>')) as [string, RawEntry[]][] | null;
      return res ? asEntries(res[0]![1]) : [];
    },
    /** Entries pending longer than `idleMs` with a silent worker, taken over. */
    async claimStale(idleMs: number, count: number): Promise<FeedEntry[]> {
      const [, raw] = (await redis.xautoclaim(key, FEED_GROUP, o.consumer, idleMs, '0-0', 'COUNT', count)) as [string, RawEntry[]];
      return asEntries(raw);
    },
    /** Still working on these entries: their idle time starts again, so no other worker takes them over meanwhile. */
    async keep(ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      await redis.xclaim(key, FEED_GROUP, o.consumer, 0, ...ids, 'JUSTID');
    },
    /** Done with these entries: deleted and acknowledged. */
    async finish(ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      const results = (await redis.pipeline().xdel(key, ...ids).xack(key, FEED_GROUP, ...ids).exec()) ?? [];
      for (const [err] of results) if (err) throw err;
    },
    /** Consumers other than this one idle past `goneIdleMs` with nothing pending: workers that are gone. Removed; their names. */
    async removeGoneConsumers(goneIdleMs: number): Promise<string[]> {
      const consumers = (await redis.xinfo('CONSUMERS', key, FEED_GROUP)) as unknown[][];
      const removed: string[] = [];
      for (const raw of consumers) {
        const info: Record<string, string> = {};
        for (let i = 0; i + 1 < raw.length; i += 2) info[String(raw[i])] = String(raw[i + 1]);
        if (info.name && info.name !== o.consumer && Number(info.pending) === 0 && Number(info.idle) > goneIdleMs) {
          await redis.xgroup('DELCONSUMER', key, FEED_GROUP, info.name);
          removed.push(info.name);
        }
      }
      return removed;
    },
    /** Ends a blocking read under way; no read may follow. */
    interrupt: () => blocking.disconnect(),
  };
}

export type FeedReader = ReturnType<typeof createFeedReader>;
