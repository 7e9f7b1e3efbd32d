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

  async function run(conn: RedisClient) {
    const last = (await conn.xrevrange(o.key, '+', '-', 'COUNT', 1)) as RawEntry[];
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
    loop = run(conn)
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
