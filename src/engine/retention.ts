import type { Logger } from 'pino';
import { handsOffTo } from '../domain/routing.js';
import type { Topology } from '../domain/topology.js';
import { AppError } from '../errors.js';
import { handoffQueueName, QUEUE } from '../queue/names.js';
import type { Queues } from '../queue/queues.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis-client.js';
import { replayJobId, webhookJobId } from '../webhooks/delivery.js';
import type { DeadLetter } from '../webhooks/dead-letters.js';
import type { TicketEngine as Engine } from './ticket/index.js';
import type { TicketRecord } from './ticket/record.js';

/**
 * The retention worker's two tasks. The sweep erases closed tickets past
 * `retention.closedTicketDays` through the engine (one audited commit each).
 * The purge then removes what of an erased ticket lies outside the ticket:
 * its jobs on every queue (the intake job, handoff and webhook jobs),
 * webhook dead letters and replay counts, parked outbox entries, the
 * recurring-problem observation and its events on the stream.
 *
 * A ticket is purged only once the outbox holds no entry of it any more:
 * then every effect committed before the erasure has run (its jobs exist,
 * its stream events are published) and nothing of it can come back later.
 */

const DAY_MS = 86_400_000;
/** Tickets erased per sweep batch, and at most per sweep run (the next run goes on). */
export const SWEEP_BATCH = 100;
export const SWEEP_BUDGET = 2_000;
/** Erased tickets purged per pass. */
const PURGE_BATCH = 200;
/** The outbox is scanned for an erased ticket's entries only up to this length; beyond, the relay is behind and the purge waits. */
const OUTBOX_SCAN_MAX = 10_000;
const STREAM_PAGE = 1_000;
/**
 * How far the stream's entry times (Redis's clock, at publishing) may lie
 * from the ticket's own times (Lotse's clock, at committing): clock skew plus
 * relay lag. A ticket whose last change lies further before the stream's
 * oldest entry has nothing left there (MAXLEN trimmed it), so old tickets
 * cost no stream scan.
 */
const STREAM_SLACK_MS = DAY_MS;
const HANDOFF_SUFFIXES = ['handoff', 'updated', 'withdrawn'] as const;

/** Removes an erased ticket from the purge index only while it is still there for the erasure purged (a later one stays). */
const COMPARE_AND_ZREM = `if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) end return 0`;

export interface RetentionDeps {
  redis: RedisClient;
  keys: Keys;
  queues: Queues;
  engine: Engine;
  topology: Topology;
  now: () => number;
  logger: Logger;
}

export interface PurgeResult {
  purged: string[];
  /** Erased tickets still waiting: an outbox entry of theirs not yet relayed, or a job of theirs running. */
  waiting: string[];
  jobs: number;
  streamEvents: number;
  deadLetters: number;
}

type Pending = { id: string; version: number; record: TicketRecord | null };

const fieldOf = (fields: string[], name: string) => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
};

/** The version in an event id `<ticket>-v<n>[-…]`. */
const versionOf = (eventId: string, ticketId: string) => Number(/^-v(\d+)/.exec(eventId.slice(ticketId.length))?.[1] ?? NaN);

export function createRetention(d: RetentionDeps) {
  const { redis, keys, queues, topology } = d;
  redis.defineCommand('lotseCompareZrem', { numberOfKeys: 1, lua: COMPARE_AND_ZREM });
  const compareZrem = (redis as unknown as { lotseCompareZrem(k: string, m: string, s: number): Promise<number> }).lotseCompareZrem.bind(redis);

  /** Erases closed tickets past the retention window, oldest first, in batches. */
  async function sweep(): Promise<{ erased: number; more: boolean }> {
    const due = d.now() - topology.config.retention.closedTicketDays * DAY_MS;
    let erased = 0;
    let seen = 0;
    while (seen < SWEEP_BUDGET) {
      const ids = await redis.zrangebyscore(keys.index('closed'), '-inf', due, 'LIMIT', 0, SWEEP_BATCH);
      if (ids.length === 0) return { erased, more: false };
      for (const id of ids) {
        seen += 1;
        try {
          if (await d.engine.eraseTicket('system', id, 'retention')) erased += 1;
        } catch (err) {
          // A ticket gone from the store leaves only its index member behind.
          if (!(err instanceof AppError && err.code === 'TICKET_NOT_FOUND')) throw err;
          await redis.zrem(keys.index('closed'), id);
        }
      }
    }
    return { erased, more: true };
  }

  /** The erased tickets whose outbox entries are all relayed; null when the outbox is too long to tell (the relay is behind). */
  async function settled(pending: Pending[]): Promise<Set<string> | null> {
    if ((await redis.xlen(keys.outbox)) > OUTBOX_SCAN_MAX) return null;
    const ids = new Set(pending.map((p) => p.id));
    for (let start = '-'; ;) {
      const page = (await redis.xrange(keys.outbox, start, '+', 'COUNT', STREAM_PAGE)) as [string, string[]][];
      for (const [, fields] of page) ids.delete(fieldOf(fields, 't') ?? '');
      if (page.length < STREAM_PAGE) return ids;
      start = `(${page.at(-1)![0]}`;
    }
  }

  /** Every job id an erased ticket can have left on a queue, with the event it carries. */
  function candidates(p: Pending): { queue: string; jobId: string; eventId?: string }[] {
    const out: { queue: string; jobId: string; eventId?: string }[] = [];
    const origin = p.record?.origin;
    if (origin?.j) out.push({ queue: QUEUE.intake, jobId: origin.j });
    const orgs = (p.record?.state.context.handledBy ?? []).filter((org) => handsOffTo(topology, org));
    for (const org of orgs) {
      for (let v = 1; v < p.version; v++) {
        for (const suffix of HANDOFF_SUFFIXES) {
          const eventId = `${p.id}-v${v}-${suffix}-${org}`;
          out.push({ queue: handoffQueueName(org), jobId: eventId, eventId }, { queue: QUEUE.webhook, jobId: webhookJobId(eventId), eventId });
        }
      }
    }
    return out;
  }

  /** Removes the jobs, replay counts and dead letters of one ticket; false when a job of it is running (try again later). */
  async function purgeOutside(p: Pending, counts: PurgeResult): Promise<boolean> {
    const found = candidates(p);
    const eventIds = [...new Set(found.flatMap((c) => (c.eventId ? [c.eventId] : [])))];
    if (eventIds.length > 0) {
      const replays = await redis.hmget(keys.webhookReplays, ...eventIds);
      replays.forEach((n, i) => {
        for (let r = 1; r <= Number(n ?? 0); r++) found.push({ queue: QUEUE.webhook, jobId: replayJobId(eventIds[i]!, r) });
      });
      const letters = (await redis.hmget(keys.deadLetters, ...eventIds)).flatMap((raw) => (raw ? [JSON.parse(raw) as DeadLetter] : []));
      const multi = redis.multi().hdel(keys.webhookReplays, ...eventIds);
      for (const l of letters) multi.hdel(keys.deadLetters, l.id).zrem(keys.deadLetterIndex(), l.id).zrem(keys.deadLetterIndex(l.orgId), l.id);
      await multi.exec();
      counts.deadLetters += letters.length;
    }
    const exists = redis.pipeline();
    for (const c of found) exists.exists(`${keys.prefix}:${c.queue}:${c.jobId}`);
    const there = ((await exists.exec()) ?? []).map(([err, n]) => !err && n === 1);
    let all = true;
    for (const [i, c] of found.entries()) {
      if (!there[i]) continue;
      if ((await queues.queue(c.queue).remove(c.jobId)) === 1) counts.jobs += 1;
      else all = false;
    }
    await redis.del(keys.recurringTicket(p.id));
    return all;
  }

  /** Parked outbox entries of the tickets: they hold the effects, with the texts, as they were committed. */
  async function purgeDeadOutbox(ids: Set<string>): Promise<void> {
    for (let start = '-'; ;) {
      const page = (await redis.xrange(keys.outboxDead, start, '+', 'COUNT', STREAM_PAGE)) as [string, string[]][];
      const gone = page.filter(([, fields]) => ids.has(fieldOf(fields, 't') ?? '')).map(([id]) => id);
      if (gone.length > 0) await redis.xdel(keys.outboxDead, ...gone);
      if (page.length < STREAM_PAGE) return;
      start = `(${page.at(-1)![0]}`;
    }
  }

  /**
   * The tickets' events on the stream before their erasure. One scan for all
   * of them, from the earliest creation (less the slack) to the end: bounded
   * by the stream's MAXLEN. Tickets whose last change is older than the
   * stream's oldest entry (by more than the slack) need none.
   */
  async function purgeStream(ready: Pending[]): Promise<number> {
    const first = (await redis.xrange(keys.events, '-', '+', 'COUNT', 1)) as [string, string[]][];
    if (first.length === 0) return 0;
    const oldest = Number(first[0]![0].split('-')[0]);
    const lastChange = await Promise.all(ready.map(async (p) => Date.parse(JSON.parse((await redis.lindex(keys.history(p.id), p.version - 2)) ?? '{}').at ?? '') || Infinity));
    const relevant = ready.filter((p, i) => lastChange[i]! + STREAM_SLACK_MS >= oldest);
    if (relevant.length === 0) return 0;
    const erasedAt = new Map(relevant.map((p) => [p.id, p.version]));
    const from = Math.max(oldest, Math.min(...relevant.map((p) => p.record?.data.createdAt ?? 0)) - STREAM_SLACK_MS);
    let deleted = 0;
    for (let start = `${from}-0`; ;) {
      const page = (await redis.xrange(keys.events, start, '+', 'COUNT', STREAM_PAGE)) as [string, string[]][];
      const gone = page.flatMap(([entryId, fields]) => {
        const subject = fieldOf(fields, 'subject') ?? '';
        const version = erasedAt.get(subject);
        return version !== undefined && versionOf(fieldOf(fields, 'id') ?? '', subject) < version ? [entryId] : [];
      });
      if (gone.length > 0) deleted += await redis.xdel(keys.events, ...gone);
      if (page.length < STREAM_PAGE) return deleted;
      start = `(${page.at(-1)![0]}`;
    }
  }

  /** One pass over the erased tickets waiting for their purge. */
  async function purge(): Promise<PurgeResult> {
    const counts: PurgeResult = { purged: [], waiting: [], jobs: 0, streamEvents: 0, deadLetters: 0 };
    const raw = await redis.zrange(keys.index('erasing'), 0, PURGE_BATCH - 1, 'WITHSCORES');
    if (raw.length === 0) return counts;
    const ids: string[] = [];
    for (let i = 0; i < raw.length; i += 2) ids.push(raw[i]!);
    const records = new Map((await Promise.all(ids.map((id) => d.engine.findTicket(id)))).flatMap((r) => (r ? [[r.id, r] as const] : [])));
    const pending: Pending[] = ids.map((id, i) => ({ id, version: Number(raw[i * 2 + 1]), record: records.get(id) ?? null }));
    const calm = await settled(pending);
    const ready: Pending[] = [];
    for (const p of pending) {
      if (calm?.has(p.id) && (await purgeOutside(p, counts))) ready.push(p);
      else counts.waiting.push(p.id);
    }
    if (ready.length === 0) return counts;
    await purgeDeadOutbox(new Set(ready.map((p) => p.id)));
    counts.streamEvents = await purgeStream(ready);
    for (const p of ready) await compareZrem(keys.index('erasing'), p.id, p.version);
    counts.purged = ready.map((p) => p.id);
    d.logger.info({ purged: counts.purged.length, waiting: counts.waiting.length, jobs: counts.jobs, streamEvents: counts.streamEvents, deadLetters: counts.deadLetters }, 'erased tickets purged');
    return counts;
  }

  /** Whether the ticket's erasure at `version` still waits for its purge. */
  async function isPending(ticketId: string, version: number): Promise<boolean> {
    const score = await redis.zscore(keys.index('erasing'), ticketId);
    return score !== null && Number(score) <= version;
  }

  return { sweep, purge, isPending };
}

export type Retention = ReturnType<typeof createRetention>;
