import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Queues } from '../queue/queues.js';
import type { DeadLetter, DeadLetterStore, ReplayedLetter } from '../store/dead-letters.js';
import { replayJobId } from './delivery.js';

export type { DeadLetter, ReplayedLetter } from '../store/dead-letters.js';

/** Ids as they appear in paths: event ids are ticket ids with suffixes. */
export const DeadLetterIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'a dead letter id (the event id)');

export const DEAD_LETTER_REASON_DISABLED = 'endpoint disabled (410)';

/** The refusal of a plain replay of a mail that may have been delivered already. */
export const inDoubtReplay = (id: string) =>
  new AppError(
    'INVALID_TRANSITION',
    `Dead letter ${id} is a mail in doubt: it may have been delivered already (look its Message-ID up in the MTA's log); replay it with ?force=true to send it again anyway`,
    { deadLetterId: id, inDoubt: true, force: 'required' },
  );

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
   * A mail in doubt (`inDoubt`) is replayed only with `force` (the operator
   * accepts that it may arrive twice); without, an INVALID_TRANSITION (409)
   * names the reason and the entry stays.
   */
  replay(id: string, opts?: { force?: boolean }): Promise<{ id: string; orgId: string; jobId: string; replayedAt: string } | null>;
  /** The newest replays (kept with their replay time), newest first. */
  recentReplays(limit: number): Promise<ReplayedLetter[]>;
}

/** Cursors name the last entry seen: its failing time and id, so removals between pages skip nothing. */
const encodeCursor = (score: number, id: string) => Buffer.from(`${score}|${id}`).toString('base64url');
function decodeCursor(cursor: string): { score: number; id: string } | undefined {
  const [score, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  return score && id && /^\d+$/.test(score) ? { score: Number(score), id } : undefined;
}

export function createDeadLetters(o: { store: DeadLetterStore; queues: Queues; attempts: number; mailAttempts?: number; connectorAttempts?: number; now?: () => number }): DeadLetters {
  const { store } = o;
  const now = o.now ?? Date.now;

  return {
    add: store.add,
    get: store.get,

    async list({ orgId, limit, cursor }) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const ids: { id: string; score: number }[] = [];
      // Newest first; entries failing in the same millisecond come in reverse id order, as ZRANGE REV gives them.
      for (let offset = 0; ids.length <= limit; ) {
        const batch = await store.idsBefore({ orgId, maxScore: after?.score, offset, count: 100 });
        if (batch.length === 0) break;
        offset += batch.length;
        for (const { id, score } of batch) {
          if (after && score === after.score && id >= after.id) continue;
          ids.push({ id, score });
        }
      }
      const page = ids.slice(0, limit);
      const letters = await store.getMany(page.map((p) => p.id));
      // A dead letter that failed again after a replay says when it was replayed.
      const replayed = await store.replayTimes(letters.map((l) => l.id));
      const items = letters.map((l, i) => (replayed[i] ? { ...l, replayedAt: replayed[i] } : l));
      const last = page.at(-1);
      return { items, next: ids.length > limit && last ? encodeCursor(last.score, last.id) : null };
    },

    recentReplays: (limit) => store.recentReplays(limit),
    isDisabled: store.isDisabled,
    disable: store.disable,

    async replay(id, opts = {}) {
      const entry = await store.get(id);
      if (entry?.inDoubt && !opts.force) throw inDoubtReplay(id);
      if (!entry || !(await store.take(entry))) return null;
      let jobId: string;
      try {
        if (entry.channel === 'mail') {
          // A mail again: the same event, so the same Message-ID; the mail worker sends it once (src/mail/sender.ts).
          // A forced replay of a mail in doubt says so in its job id: only then does the worker send it again (mail.worker.ts).
          const n = await store.countReplay(id);
          jobId = entry.inDoubt ? `${id}-r${n}-force` : `${id}-r${n}`;
          await o.queues.sendMails([{ jobId, data: { orgId: entry.orgId, event: entry.event } }], o.mailAttempts ?? o.attempts);
        } else if (entry.channel === 'connector') {
          // The same change again to the other ticket system: a create finds the remote ticket it may have opened.
          const n = await store.countReplay(id);
          jobId = `${id}-r${n}`;
          await o.queues.addConnectorJobs([{ jobId, data: { type: 'push', orgId: entry.orgId, event: entry.event } }], o.connectorAttempts ?? o.attempts);
        } else {
          // Re-enabled first: the replayed delivery must not be dead-lettered unsent.
          await store.enable(entry.orgId);
          const n = await store.countReplay(id);
          jobId = replayJobId(id, n);
          await o.queues.deliverWebhooks([{ jobId, data: { orgId: entry.orgId, event: entry.event } }], o.attempts);
        }
      } catch (err) {
        // Not re-queued: the entry stays for the next try.
        await store.add(entry).catch(() => undefined);
        throw err;
      }
      // Re-queued: kept among the latest replays with its time, so the board shows that (and when) it was replayed.
      const { replayedAt } = await store.markReplayed(entry, now(), jobId);
      return { id, orgId: entry.orgId, jobId, replayedAt };
    },
  };
}
