import type { RedisClient } from './redis-client.js';
import type { Logger } from 'pino';

/** One entry of `<prefix>:events`, as FINISH_OUTBOX wrote it. */
export interface StreamEntry {
  /** The stream entry id (`1767000000000-0`): the SSE `id:`. */
  id: string;
  subject: string;
  /** The CloudEvent, as JSON text. */
  event: string;
}

type RawEntry = [string, string[]];

function toEntry([id, fields]: RawEntry): StreamEntry {
  const get = (name: string) => {
    for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] ?? '';
    return '';
  };
  return { id, subject: get('subject'), event: get('event') };
}

/** What a resume replays: at most the bound's newest entries after the resume point. */
export interface Replay {
  entries: StreamEntry[];
  truncated: boolean;
}

/** Orders stream ids (`ms-seq`) without losing precision. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

export interface EventHubOptions {
  /** Opens the reader's own connection: a blocking XREAD must not hold up the shared one. */
  connect: () => RedisClient;
  /** The shared (non-blocking) connection, for catch-up reads. */
  redis: RedisClient;
  key: string;
  logger: Logger;
  blockMs?: number;
  batch?: number;
}

/**
 * One reader of the events stream per process, fanning out to every
 * subscriber: 50 clients cost one blocking XREAD, not 50. It runs while
 * someone listens; subscribers get the entries after the reader's position
 * when they joined, and read older ones (a resume) with `after`.
 */
export function createEventHub(o: EventHubOptions) {
  const blockMs = o.blockMs ?? 5000;
  const batch = o.batch ?? 500;
  const subscribers = new Set<(entries: StreamEntry[]) => void>();
  let reader: RedisClient | undefined;
  let loop: Promise<void> | undefined;
  let closed = false;
  /** Replays in flight, by their starting point and bound: clients that resume from the same point share one read. */
  const replays = new Map<string, Promise<Replay>>();
  let replayReads = 0;

  async function run(conn: RedisClient, start: Promise<RawEntry[]>) {
    const last = await start;
    let position = last[0]?.[0] ?? '0-0';
    while (!closed && subscribers.size > 0) {
      try {
        const res = (await conn.xread('COUNT', batch, 'BLOCK', blockMs, 'STREAMS', o.key, position)) as [string, RawEntry[]][] | null;
        const raw = res?.[0]?.[1] ?? [];
        if (raw.length === 0) continue;
        position = raw[raw.length - 1]![0];
        const entries = raw.map(toEntry);
        for (const deliver of subscribers) deliver(entries);
      } catch (err) {
        if (closed) return;
        o.logger.warn({ err: (err as Error).message }, 'event stream read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  function ensureReader() {
    if (loop || closed) return;
    reader ??= o.connect();
    const conn = reader;
    // The starting point is read on the shared connection at once, ahead of the new subscriber's own tail()
    // there: a reader connection that is slow to open (a Cluster finds its slots first) must not start past
    // entries the subscriber's catch-up has already missed.
    const start = o.redis.xrevrange(o.key, '+', '-', 'COUNT', 1) as Promise<RawEntry[]>;
    loop = run(conn, start)
      .catch((err: Error) => o.logger.warn({ err: err.message }, 'event stream reader stopped'))
      .finally(() => {
        loop = undefined;
        // Someone joined while the loop was winding down: start again.
        if (!closed && subscribers.size > 0) ensureReader();
      });
  }

  return {
    get subscriberCount() {
      return subscribers.size;
    },
    subscribe(deliver: (entries: StreamEntry[]) => void): () => void {
      subscribers.add(deliver);
      ensureReader();
      return () => subscribers.delete(deliver);
    },
    /** The newest entry's id ('0-0' for an empty stream): where a client that does not resume starts. */
    async tail(): Promise<string> {
      const last = (await o.redis.xrevrange(o.key, '+', '-', 'COUNT', 1)) as RawEntry[];
      return last[0]?.[0] ?? '0-0';
    },
    /** How many replay reads went to Redis (concurrent identical replays count once). */
    get replayReads() {
      return replayReads;
    },
    /**
     * The newest `max` entries after `afterId`, oldest first, read once for
     * every caller that asks for the same point while the read is in flight;
     * `truncated` when older ones after `afterId` were left out.
     */
    replay(afterId: string, max: number): Promise<Replay> {
      const key = `${afterId}/${max}`;
      let pending = replays.get(key);
      if (!pending) {
        replayReads += 1;
        pending = (async () => {
          if (max <= 0) return { entries: [], truncated: (await o.redis.xrevrange(o.key, '+', `(${afterId}`, 'COUNT', 1)).length > 0 };
          const raw = (await o.redis.xrevrange(o.key, '+', `(${afterId}`, 'COUNT', max + 1)) as RawEntry[];
          return { entries: raw.slice(0, max).reverse().map(toEntry), truncated: raw.length > max };
        })().finally(() => replays.delete(key));
        replays.set(key, pending);
      }
      return pending;
    },
    /** Entries after `afterId`, oldest first, at most `count`. */
    async after(afterId: string, count: number): Promise<StreamEntry[]> {
      return ((await o.redis.xrange(o.key, `(${afterId}`, '+', 'COUNT', count)) as RawEntry[]).map(toEntry);
    },
    async close() {
      closed = true;
      subscribers.clear();
      // Disconnecting ends the blocking read at once.
      reader?.disconnect();
      await loop;
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;

/** A stream entry and the partition whose stream it is on. */
export interface PartitionEntry extends StreamEntry {
  partition: number;
}

/**
 * The events streams of every partition as one (LOTSE_PARTITIONS): a
 * position is one stream id per partition. Entries of one partition keep
 * their order; across partitions they are merged by their ids' time, which
 * is the order of their commits as far as the partitions' clocks agree.
 */
export interface StreamSource {
  partitions: number;
  readonly subscriberCount: number;
  readonly replayReads: number;
  subscribe(deliver: (entries: PartitionEntry[]) => void): () => void;
  /** Each partition's newest entry id. */
  tail(): Promise<string[]>;
  /**
   * The newest `max` entries after the positions, oldest first; `truncated`
   * when older ones were left out; `positions`: where each partition stands
   * once these are sent (past what was left out, too).
   */
  replay(after: readonly string[], max: number): Promise<{ entries: PartitionEntry[]; truncated: boolean; positions: string[] }>;
  /** The oldest `count` entries after the positions. */
  after(after: readonly string[], count: number): Promise<PartitionEntry[]>;
  close(): Promise<void>;
}

const byTime = (a: PartitionEntry, b: PartitionEntry) => compareStreamIds(a.id, b.id) || a.partition - b.partition;

export function partitionedStream(hubs: readonly EventHub[]): StreamSource {
  // A hub hands every subscriber the same array: tagged once, so the stream's readers share the entries (and what they parse of them).
  const tagged = new WeakMap<StreamEntry[], PartitionEntry[]>();
  const tag = (p: number) => (entries: StreamEntry[]): PartitionEntry[] => {
    let out = tagged.get(entries);
    if (!out) {
      out = entries.map((e) => ({ ...e, partition: p }));
      tagged.set(entries, out);
    }
    return out;
  };
  return {
    partitions: hubs.length,
    get subscriberCount() {
      return Math.max(0, ...hubs.map((h) => h.subscriberCount));
    },
    get replayReads() {
      return hubs.reduce((n, h) => n + h.replayReads, 0);
    },
    subscribe(deliver) {
      const stops = hubs.map((h, p) => h.subscribe((entries) => deliver(tag(p)(entries))));
      return () => {
        for (const stop of stops) stop();
      };
    },
    tail: () => Promise.all(hubs.map((h) => h.tail())),
    async replay(after, max) {
      const parts = await Promise.all(hubs.map((h, p) => h.replay(after[p] ?? '0-0', max)));
      const all = parts.flatMap((r, p) => tag(p)(r.entries)).sort(byTime);
      const positions = await Promise.all(parts.map(async (r, p) => r.entries.at(-1)?.id ?? (r.truncated ? hubs[p]!.tail() : (after[p] ?? '0-0'))));
      return { entries: all.slice(Math.max(0, all.length - max)), truncated: all.length > max || parts.some((r) => r.truncated), positions };
    },
    async after(after, count) {
      const parts = await Promise.all(hubs.map((h, p) => h.after(after[p] ?? '0-0', count)));
      return parts.flatMap((entries, p) => tag(p)(entries)).sort(byTime).slice(0, count);
    },
    async close() {
      await Promise.all(hubs.map((h) => h.close()));
    },
  };
}
