import { inflateRawSync } from 'node:zlib';
import { Packr } from 'msgpackr';

/**
 * How a ticket's document (machine snapshot and facts) lies in Redis, behind
 * a one-byte format mark:
 *
 * - 0x03 (written now): as 0x02, with the table STRUCTURES_V3, whose `data`
 *   shape no longer has land, service, category, createdBy, receivedAt and
 *   createdAt: those facts live once, in the machine context
 *   (`snap.context.facts` and `snap.context`).
 * - 0x02 (read only): MessagePack records (msgpackr) with a fixed table of
 *   the object shapes every ticket has (STRUCTURES_V2), so a key is never
 *   written, only values: a ticket of about 1.4 kB of JSON takes about 470
 *   bytes, packed in about 10 µs and read back in about 3 µs. An object of a
 *   shape not in the table is written with its keys inline and reads back
 *   the same; it only takes more room.
 * - 0x01 (read only): deflated JSON with a preset dictionary, about 260
 *   bytes, but some 30 µs to write and 20 µs to read: the deflate stream set
 *   up on every call cost more than the whole machine transition.
 * - `{` (read only): plain JSON.
 *
 * Documents of the earlier formats (0x02, 0x01, JSON) carry these facts in
 * `data` as well; they read back without them there
 * (LEGACY_DATA_FACTS), so a loaded ticket has each fact once.
 *
 * Never change DICTIONARY_V1, STRUCTURES_V2 or STRUCTURES_V3: documents
 * written with them could not be read back. A better table gets a new mark.
 */
const MARK_V1 = 0x01;
/** The preset dictionary of format 0x01: the words every ticket repeats. */
const DICTIONARY_V1 = Buffer.from(
  '"stoppedAt":null,"warned":false,"breached":false},{"name":"resolution","level":1,"holder":"desk-","priority":"P4",' +
    '"target":"PT","startedAt":17,"targetMs":,"warnFraction":0.8,"pausedMs":0,"pauses":[],"warnAt":17,"dueAt":17' +
    '{"mv":1,"upd":17,"data":{"externalRef":"","channel":"phone-115","land":"","service":"","themeField":"familie-kind",' +
    '"category":"technical","subject":"","description":"","attachments":[],"createdBy":"desk-","receivedAt":17,"createdAt":17},' +
    '"snap":{"value":{"level1":"new"},"context":{"id":"T01","facts":{"service":"","land":"","category":"technical"},' +
    '"createdBy":"desk-","impact":"medium","urgency":"low","priority":"P","level":1,"assignee":"desk-","holders":{"1":"desk-"},' +
    '"handledBy":["desk-"],"handoff":null,"receivedAt":17,"createdAt":17,"resolvedAt":null,"closedAt":null,' +
    '"sla":{"clocks":[{"name":"firstResponse","level":1,"holder":"desk-","pausedSince":null,"warnings":[],"breaches":[]},' +
    '"timer":{"kind":"warning","at":17,"clock":"firstResponse","epoch":1},"epoch":1}}}',
);

const MARK_V2 = 0x02;
/** The shapes of a ticket document's objects, most frequent first (keys in the order the code writes them). */
const STRUCTURES_V2: readonly (readonly string[])[] = Object.freeze([
  ['name', 'level', 'holder', 'priority', 'target', 'startedAt', 'targetMs', 'warnFraction', 'pausedMs', 'pauses', 'warnAt', 'dueAt', 'stoppedAt', 'warned', 'breached', 'stopReason'],
  ['name', 'level', 'holder', 'priority', 'target', 'startedAt', 'targetMs', 'warnFraction', 'pausedMs', 'pauses', 'warnAt', 'dueAt', 'stoppedAt', 'warned', 'breached'],
  ['clock', 'level', 'holder', 'at', 'dueAt'],
  ['mv', 'upd', 'data', 'snap'],
  ['externalRef', 'channel', 'land', 'ars', 'service', 'themeField', 'category', 'subject', 'description', 'attachments', 'createdBy', 'receivedAt', 'createdAt'],
  ['value', 'context'],
  ['id', 'facts', 'createdBy', 'impact', 'urgency', 'priority', 'level', 'assignee', 'holders', 'handledBy', 'handoff', 'receivedAt', 'createdAt', 'resolvedAt', 'closedAt', 'sla', 'timer', 'epoch'],
  ['service', 'land', 'category'],
  ['clocks', 'pausedSince', 'warnings', 'breaches'],
  ['kind', 'at', 'clock', 'epoch'],
  ['kind', 'at', 'epoch'],
  ['level1'],
  ['orgId', 'requestedAt', 'attempts', 'receiptDueAt'],
  ['1', '2', '3'],
  ['1'],
  ['1', '2'],
  ['from', 'to', 'businessMs'],
  ['level2'],
  ['level3'],
  ['name', 'url', 'size'],
].map((keys) => Object.freeze(keys)));

const MARK_V3 = 0x03;
/** STRUCTURES_V2 with the `data` shape written without the facts the context holds (same positions otherwise). */
const STRUCTURES_V3: readonly (readonly string[])[] = Object.freeze([
  ['name', 'level', 'holder', 'priority', 'target', 'startedAt', 'targetMs', 'warnFraction', 'pausedMs', 'pauses', 'warnAt', 'dueAt', 'stoppedAt', 'warned', 'breached', 'stopReason'],
  ['name', 'level', 'holder', 'priority', 'target', 'startedAt', 'targetMs', 'warnFraction', 'pausedMs', 'pauses', 'warnAt', 'dueAt', 'stoppedAt', 'warned', 'breached'],
  ['clock', 'level', 'holder', 'at', 'dueAt'],
  ['mv', 'upd', 'data', 'snap'],
  ['externalRef', 'channel', 'ars', 'themeField', 'subject', 'description', 'attachments'],
  ['value', 'context'],
  ['id', 'facts', 'createdBy', 'impact', 'urgency', 'priority', 'level', 'assignee', 'holders', 'handledBy', 'handoff', 'receivedAt', 'createdAt', 'resolvedAt', 'closedAt', 'sla', 'timer', 'epoch'],
  ['service', 'land', 'category'],
  ['clocks', 'pausedSince', 'warnings', 'breaches'],
  ['kind', 'at', 'clock', 'epoch'],
  ['kind', 'at', 'epoch'],
  ['level1'],
  ['orgId', 'requestedAt', 'attempts', 'receiptDueAt'],
  ['1', '2', '3'],
  ['1'],
  ['1', '2'],
  ['from', 'to', 'businessMs'],
  ['level2'],
  ['level3'],
  ['name', 'url', 'size'],
].map((keys) => Object.freeze(keys)));

/**
 * Shared structures fixed at the table: no shape is ever added to it (that
 * would need the table stored and shared between processes), new shapes go
 * inline. One reader per table.
 */
const packrFor = (table: readonly (readonly string[])[]) =>
  new Packr({
    structures: table.map((keys) => [...keys]),
    maxSharedStructures: table.length,
    shouldShareStructure: () => false,
    useToJSON: false,
  });
const packrV3 = packrFor(STRUCTURES_V3);
const packrV2 = packrFor(STRUCTURES_V2);

/** The facts documents before 0x03 kept in `data` besides the context (`snap.context.facts`, `snap.context`). */
const LEGACY_DATA_FACTS = ['land', 'service', 'category', 'createdBy', 'receivedAt', 'createdAt'] as const;

/** A document of an earlier format as 0x03 has it: the routing facts only in the context. */
function withoutLegacyFacts(doc: unknown): unknown {
  const data = (doc as { data?: unknown } | null)?.data;
  if (data === null || typeof data !== 'object') return doc;
  const rest: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const key of LEGACY_DATA_FACTS) delete rest[key];
  return { ...(doc as object), data: rest };
}

export function encodeTicketDoc(doc: unknown): Buffer {
  // A copy: what pack returns is a view into msgpackr's working buffer.
  return Buffer.concat([Buffer.of(MARK_V3), packrV3.pack(doc)]);
}

export function decodeTicketDoc(stored: Buffer): unknown {
  if (stored[0] === MARK_V3) return packrV3.unpack(stored.subarray(1));
  if (stored[0] === 0x7b) return withoutLegacyFacts(JSON.parse(stored.toString('utf8')));
  if (stored[0] === MARK_V2) return withoutLegacyFacts(packrV2.unpack(stored.subarray(1)));
  if (stored[0] === MARK_V1) return withoutLegacyFacts(JSON.parse(inflateRawSync(stored.subarray(1), { dictionary: DICTIONARY_V1 }).toString('utf8')));
  throw new Error(`unknown ticket document format ${stored[0]}`);
}
