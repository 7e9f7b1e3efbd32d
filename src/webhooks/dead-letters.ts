import type { RedisClient } from '../queue/connections.js';
import { z } from 'zod';
import type { CloudEvent } from '../domain/cloudevent.js';
import type { Queues } from '../queue/queues.js';
import type { Keys } from '../store/keys.js';
import { replayJobId } from './delivery.js';

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
  /** The job that gave up: `wh-<id>`, or `wh-<id>-r<n>` for a replay. */
  jobId: string;
}

/** Ids as they appear in paths: event ids are ticket ids with suffixes. */
export const DeadLetterIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'a dead letter id (the event id)');

export const DEAD_LETTER_REASON_DISABLED = 'endpoint disabled (410)';

export interface DeadLetterPage {
  items: DeadLetter[];
  next: string | null;
}

export interface DeadLetters {
  add(entry: DeadLetter): Promise<void>;
  get(id: string): Promise<DeadLetter | null>;
  list(o: { orgId?: string; limit: number; cursor?: string }): Promise<DeadLetterPage>;
  isDisabled(orgId: string): Promise<boolean>;
  disable(orgId: string, at: number): Promise<void>;
  /**
   * Sends the same event again under a new job id, re-enables the endpoint
   * and removes the entry. Null when there is no such entry (or another
   * replay took it first). A replay that fails again lands here again.
   */
  replay(id: string): Promise<{ id: string; orgId: string; jobId: string } | null>;
}

/** Cursors name the last entry seen: its failing time and id, so removals between pages skip nothing. */
const encodeCursor = (score: number, id: string) => Buffer.from(`${score}|${id}`).toString('base64url');
function decodeCursor(cursor: string): { score: number; id: string } | undefined {
  const [score, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  return score && id && /^\d+$/.test(score) ? { score: Number(score), id } : undefined;
}

export function createDeadLetters(o: { redis: RedisClient; keys: Keys; queues: Queues; attempts: number }): DeadLetters {
  const { redis, keys } = o;
  const parse = (raw: string | null) => (raw ? (JSON.parse(raw) as DeadLetter) : null);

  async function add(entry: DeadLetter) {
    const score = Date.parse(entry.failedAt);
    await redis
      .multi()
      .hset(keys.deadLetters, entry.id, JSON.stringify(entry))
      .zadd(keys.deadLetterIndex(), score, entry.id)
      .zadd(keys.deadLetterIndex(entry.orgId), score, entry.id)
      .exec();
  }

  /** Removes an entry; true only for the caller that removed it. */
  async function take(entry: DeadLetter): Promise<boolean> {
    const res = await redis.multi().hdel(keys.deadLetters, entry.id).zrem(keys.deadLetterIndex(), entry.id).zrem(keys.deadLetterIndex(entry.orgId), entry.id).exec();
    return res?.[0]?.[1] === 1;
  }

  return {
    add,
    get: async (id) => parse(await redis.hget(keys.deadLetters, id)),

    async list({ orgId, limit, cursor }) {
      const index = keys.deadLetterIndex(orgId);
      const after = cursor ? decodeCursor(cursor) : undefined;
      const ids: { id: string; score: number }[] = [];
      // Newest first; entries failing in the same millisecond come in reverse id order, as ZRANGE REV gives them.
      for (let offset = 0; ids.length <= limit; ) {
        const batch = await redis.zrange(index, after ? after.score : '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', offset, 100, 'WITHSCORES');
        if (batch.length === 0) break;
        offset += batch.length / 2;
        for (let i = 0; i < batch.length; i += 2) {
          const id = batch[i]!;
          const score = Number(batch[i + 1]);
          if (after && score === after.score && id >= after.id) continue;
          ids.push({ id, score });
        }
      }
      const page = ids.slice(0, limit);
      const raw = page.length > 0 ? await redis.hmget(keys.deadLetters, ...page.map((p) => p.id)) : [];
      const items = raw.flatMap((r) => (r ? [JSON.parse(r) as DeadLetter] : []));
      const last = page.at(-1);
      return { items, next: ids.length > limit && last ? encodeCursor(last.score, last.id) : null };
    },

    isDisabled: async (orgId) => (await redis.exists(keys.webhookDisabled(orgId))) === 1,
    async disable(orgId, at) {
      await redis.set(keys.webhookDisabled(orgId), JSON.stringify({ at: new Date(at).toISOString(), status: 410 }));
    },

    async replay(id) {
      const entry = parse(await redis.hget(keys.deadLetters, id));
      if (!entry || !(await take(entry))) return null;
      try {
        // Re-enabled first: the replayed delivery must not be dead-lettered unsent.
        await redis.del(keys.webhookDisabled(entry.orgId));
        const n = await redis.hincrby(keys.webhookReplays, id, 1);
        const jobId = replayJobId(id, n);
        await o.queues.deliverWebhooks([{ jobId, data: { orgId: entry.orgId, event: entry.event } }], o.attempts);
        return { id, orgId: entry.orgId, jobId };
      } catch (err) {
        // Not re-queued: the entry stays for the next try.
        await add(entry).catch(() => undefined);
        throw err;
      }
    },
  };
}
