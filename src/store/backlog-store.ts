import type { RedisClient } from './redis-client.js';
import { Packr } from 'msgpackr';
import type { Keys } from './keys.js';
import { createRecordStore, type RecordDoc, type RecordLayout, type RecordStore } from './record-store.js';

/**
 * A backlog item's document: MessagePack behind its own one-byte mark. Items
 * are few next to tickets, so no table of shapes: keys are written inline.
 */
const MARK_ITEM_V1 = 0x11;
const packr = new Packr({ useRecords: false, useToJSON: false });

export function encodeItemDoc(doc: RecordDoc): Buffer {
  return Buffer.concat([Buffer.of(MARK_ITEM_V1), packr.pack(doc)]);
}

export function decodeItemDoc(stored: Buffer): RecordDoc {
  if (stored[0] !== MARK_ITEM_V1) throw new Error(`unknown backlog item document format ${stored[0]}`);
  return packr.unpack(stored.subarray(1)) as RecordDoc;
}

export const backlogLayout = (keys: Keys): RecordLayout => ({
  record: keys.backlogItem,
  history: keys.backlogHistory,
  outbox: keys.outbox,
  encode: encodeItemDoc,
  decode: decodeItemDoc,
});

export function createBacklogStore(redis: RedisClient, keys: Keys): RecordStore {
  return createRecordStore(redis, backlogLayout(keys));
}
