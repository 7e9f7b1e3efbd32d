import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';
import { createRecordStore, type CommitRequest, type RecordDoc, type RecordLayout, type RecordStore, type StoredRecord } from './record-store.js';
import { decodeTicketDoc, encodeTicketDoc } from './ticket-codec.js';

export type { CommitRequest, CommitResult } from './record-store.js';
/** A ticket as it lies in Redis: the machine snapshot plus the facts that never change. */
export type StoredTicket = StoredRecord;
export type TicketStore = RecordStore;

/**
 * Unread entries the recurring-problem window's feed keeps at most (about):
 * with no backlog worker running for that long, the oldest observations go
 * first (the window is about recent tickets), so the feed cannot fill Redis.
 */
export const RECURRING_FEED_MAXLEN = 100_000;

export const ticketLayout = (keys: Keys, eventsMaxLen = 100_000): RecordLayout => ({
  record: keys.ticket,
  history: keys.history,
  outbox: keys.outbox,
  events: { key: keys.events, maxLen: eventsMaxLen },
  encode: encodeTicketDoc,
  decode: (stored) => decodeTicketDoc(stored) as RecordDoc,
});

/** A technical ticket's `observe` effect: the recurring-problem window's feed entry. */
const isObserve = (effect: unknown): effect is { kind: 'backlog'; job: { type: 'observe'; ticketId: string } } => {
  const e = effect as { kind?: unknown; job?: { type?: unknown } };
  return e.kind === 'backlog' && e.job?.type === 'observe';
};

/**
 * The ticket store. A technical ticket's `observe` effect is not put in the
 * outbox (where the relay would add a BullMQ job per ticket): the commit
 * itself appends the ticket's id to the recurring-problem window's feed
 * (`rfeed`, one XADD inside the same script), which the backlog workers read
 * in batches through a consumer group (workers/backlog.worker.ts). A change
 * whose only effects are stream events is published by the commit itself
 * while the outbox is empty (scripts.ts, COMMIT).
 */
export function createTicketStore(redis: RedisClient, keys: Keys, o: { eventsMaxLen?: number } = {}): TicketStore {
  const store = createRecordStore(redis, ticketLayout(keys, o.eventsMaxLen));
  return {
    ...store,
    commit(request: CommitRequest) {
      const observed = request.effects.filter(isObserve);
      if (observed.length === 0) return store.commit(request);
      return store.commit({
        ...request,
        effects: request.effects.filter((e) => !isObserve(e)),
        ops: [...request.ops, ...observed.map((e) => ({ op: 'xadd' as const, key: keys.recurringFeed, maxLen: RECURRING_FEED_MAXLEN, value: e.job.ticketId }))],
      });
    },
  };
}
