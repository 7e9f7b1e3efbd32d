import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';
import { createRecordStore, type RecordDoc, type RecordLayout, type RecordStore, type StoredRecord } from './record-store.js';
import { decodeTicketDoc, encodeTicketDoc } from './ticket-codec.js';

export type { CommitRequest, CommitResult } from './record-store.js';
/** A ticket as it lies in Redis: the machine snapshot plus the facts that never change. */
export type StoredTicket = StoredRecord;
export type TicketStore = RecordStore;

export const ticketLayout = (keys: Keys): RecordLayout => ({
  record: keys.ticket,
  history: keys.history,
  outbox: keys.outbox,
  encode: encodeTicketDoc,
  decode: (stored) => decodeTicketDoc(stored) as RecordDoc,
});

export function createTicketStore(redis: RedisClient, keys: Keys): TicketStore {
  return createRecordStore(redis, ticketLayout(keys));
}
