import type { Actor } from '../../../machines/ticket.policy.js';
import { cloudEvent, ticketEventType } from '../../domain/cloudevent.js';
import type { Keys } from '../../store/keys.js';
import type { StoreOp } from '../../store/ops.js';
import { EVENT_IDEMPOTENCY_TTL_S } from '../idempotency-keys.js';
import type { Amendment } from '../interfaces.js';
import type { HistoryEntry } from '../../domain/ticket.js';
import { actorView, type Effect } from '../effects.js';
import { stateInfo, type TicketRecord } from './record.js';

/**
 * The erasure of a ticket's personal data, decided without I/O: from the
 * loaded ticket and its history to what the one commit writes. What counts
 * as personal data (docs/reference/personal-data.md): the
 * reporter; the description and the attachments; every free text of an
 * event (notes, questions, infos, reasons, answers, resolutions, a
 * suggestion's description). Kept: the facts Lotse routes and reports by
 * (Land, service, category, priority, channel, subject, the desk's
 * externalRef), the machine state and the shape of the history (who did
 * what when), and a suggestion's title, which names the improvement and
 * not the person.
 */

export const ERASED_TEXT = '[gelöscht]';
export const ERASED_EVENT = 'ERASED';

/** Why a ticket was erased: its retention ran out, or someone asked (GDPR Art. 17). */
export type ErasureCause = 'retention' | 'request';

/**
 * Fields of event details that hold no text a person typed: ids, enumerations,
 * numbers, a release name, a suggestion's title, the erasure's own audit.
 * Everything else that is a string (or any structure) is erased.
 */
const KEPT_DETAILS: ReadonlySet<string> = new Set([
  'priority', 'category', 'channel', 'clock', 'epoch', 'assignee', 'impact', 'urgency',
  'item', 'outcome', 'release', 'title', 'cause', 'erased', 'versions',
]);

/** The details with every free text replaced by the marker; null when nothing was left to erase. */
export function eraseDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (!details) return null;
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    const personal = !KEPT_DETAILS.has(k) && v !== null && typeof v !== 'number' && typeof v !== 'boolean' && v !== ERASED_TEXT;
    out[k] = personal ? ERASED_TEXT : v;
    changed ||= personal;
  }
  return changed ? out : null;
}

export interface ErasureInput {
  keys: Keys;
  source: string;
  before: TicketRecord;
  /** Every history entry, oldest first (entry i is version i + 1). */
  history: readonly HistoryEntry[];
  at: number;
  actor: Actor;
  cause: ErasureCause;
  /** The Redis key of the creation's idempotency record: its fingerprint hashes the body with the reporter. */
  creationKey: string;
}

/** What an erasure found, for its audit entry: names and versions, never the data. */
export interface ErasureFindings {
  fields: ('reporter' | 'description' | 'attachments')[];
  /** Versions whose history entries held free texts. */
  versions: number[];
  /** A closed ticket leaves the retention index with its first erasure after closing. */
  retires: boolean;
}

export function findPersonalData(before: TicketRecord, history: readonly HistoryEntry[]): ErasureFindings {
  const fields: ErasureFindings['fields'] = [];
  if (before.reporter) fields.push('reporter');
  if (before.data.description !== '' && before.data.description !== ERASED_TEXT) fields.push('description');
  if (before.data.attachments.length > 0) fields.push('attachments');
  const versions = history.filter((e) => eraseDetails(e.details) !== null).map((e) => e.version);
  const closed = before.state.context.closedAt !== null;
  const retires = closed && !history.some((e) => e.type === ERASED_EVENT && e.to === 'closed');
  return { fields, versions, retires };
}

/**
 * The amendment that erases what `findPersonalData` found, or null when there
 * is nothing left (a re-run writes nothing, no second audit entry). The
 * commit drops the reporter, rewrites the description, attachments and the
 * history entries in place, neutralises the creation's idempotency record,
 * leaves the retention index (closed tickets) and enters the purge index, and
 * its outbox entry asks the retention worker to purge the ticket's jobs,
 * dead letters and stream events.
 */
export function planErasure(i: ErasureInput): Amendment<TicketRecord, HistoryEntry> | null {
  const { before, keys } = i;
  const found = findPersonalData(before, i.history);
  if (found.fields.length === 0 && found.versions.length === 0 && !found.retires) return null;
  const id = before.id;
  const version = before.version + 1;
  const after: TicketRecord = {
    ...before,
    version,
    updatedAt: i.at,
    reporter: null,
    data: {
      ...before.data,
      description: found.fields.includes('description') ? ERASED_TEXT : before.data.description,
      attachments: [],
    },
  };
  const info = stateInfo(before.state.value);
  const entry: HistoryEntry = {
    version, at: new Date(i.at).toISOString(), type: ERASED_EVENT, actor: actorView(i.actor),
    from: info.path, to: info.path, level: info.level, assignee: info.active ? before.state.context.assignee : null,
    details: { cause: i.cause, erased: [...found.fields, ...(found.versions.length > 0 ? ['history'] : []), 'jobs', 'stream'], versions: found.versions },
  };
  const ops: StoreOp[] = [];
  if (before.reporter) ops.push({ op: 'hdel', key: keys.ticket(id), field: 'r' });
  for (const v of found.versions) {
    const old = i.history[v - 1]!;
    ops.push({ op: 'lset', key: keys.history(id), index: v - 1, value: JSON.stringify({ ...old, details: eraseDetails(old.details) }) });
  }
  if (found.retires) ops.push({ op: 'zrem', key: keys.index('closed'), member: id });
  // The purge index, scored by the erasure's version: stream events of earlier versions go.
  ops.push({ op: 'zadd', key: keys.index('erasing'), member: id, score: version });
  const event = cloudEvent({ id: `${id}-v${version}`, source: i.source, type: ticketEventType(ERASED_EVENT), subject: id, at: i.at, version, data: { ticketId: id, ...entry } });
  const effects: Effect[] = [
    { kind: 'publish', id: event.id, event },
    { kind: 'erase', id: `${id}-v${version}-erase`, ticketId: id, version },
  ];
  return {
    after, entry, plan: { effects, ops },
    // A replay of the creation within a week is refused (another body), later the key is free.
    idempotency: { key: i.creationKey, fp: 'erased', ttlSeconds: EVENT_IDEMPOTENCY_TTL_S },
  };
}
