import { reachingOrgs } from '../../domain/access.js';
import { hasBreached, isAtRisk } from '../../domain/sla.js';
import type { Topology } from '../../domain/topology.js';
import { activeField, createdField, type IndexName, type Keys } from '../../store/keys.js';
import { membershipOps, type StoreOp } from '../../store/ops.js';
import type { HistoryEntry } from '../../domain/ticket.js';
import { reachFacts, stateInfo, type TicketRecord } from './record.js';
import { externalRefIndex } from './list.js';

/** The score of every member of a lexical index: LIST_PAGE orders them by id. */
const LEXICAL = 0;

/**
 * The index sets a ticket belongs to, with its score there: 0 in the lexical
 * (listing) indexes, the closing time in `closed` (for retention).
 */
export function indexMembership(topology: Topology, record: TicketRecord): Map<IndexName, number> {
  const ctx = record.state.context;
  const info = stateInfo(record.state.value);
  const m = new Map<IndexName, number>([
    ['all', LEXICAL],
    [`land:${ctx.facts.land}`, LEXICAL],
    [`service:${ctx.facts.service}`, LEXICAL],
    [`status:${info.status}`, LEXICAL],
  ]);
  for (const org of reachingOrgs(topology, reachFacts(record))) m.set(`reach:${org}`, LEXICAL);
  if (record.data.externalRef) m.set(externalRefIndex(record.data.externalRef), LEXICAL);
  if (info.active) {
    m.set(`level:${info.level}`, LEXICAL);
    m.set(`assignee:${ctx.assignee}`, LEXICAL);
    // Listing indexes only: the counts of active tickets are the `stats:active` counters (activeField).
    m.set('active', LEXICAL);
    m.set(`priority:${ctx.priority}`, LEXICAL);
    if (isAtRisk(ctx.sla)) m.set('sla:at-risk', LEXICAL);
    // Breached and still at a level: the count on the board is the list it opens, resolved tickets leave it.
    if (hasBreached(ctx.sla)) m.set('sla:breached', LEXICAL);
  }
  if (ctx.closedAt !== null) m.set('closed', ctx.closedAt);
  return m;
}

/** Only what changed: sets the ticket enters and sets it leaves. */
export const indexOps = (keys: Keys, topology: Topology, before: TicketRecord | null, after: TicketRecord): StoreOp[] =>
  membershipOps(before ? indexMembership(topology, before) : new Map(), indexMembership(topology, after), after.id, (name) => keys.index(name as IndexName));

/** The `stats:active` field a ticket counts in: null when it is not at a level. */
function activeCount(record: TicketRecord | null): string | null {
  if (!record || !stateInfo(record.state.value).active) return null;
  return activeField(record.state.context.facts.land, record.state.context.facts.service, record.state.context.priority);
}

/**
 * The counters one change moves: tickets created, active tickets by Land,
 * service and priority (a ticket entering or leaving the levels, or changing
 * priority, moves one field to another), events by type, SLA warnings and breaches.
 */
export function counterOps(keys: Keys, before: TicketRecord | null, after: TicketRecord, entry: HistoryEntry): StoreOp[] {
  const ctx = after.state.context;
  const ops: StoreOp[] = [{ op: 'hincrby', key: keys.stats('events'), field: entry.type, by: 1 }];
  if (!before) ops.push({ op: 'hincrby', key: keys.stats('created'), field: createdField(new Date(ctx.createdAt).getUTCFullYear(), ctx.facts.land, ctx.facts.service, ctx.priority), by: 1 });
  const [was, is] = [activeCount(before), activeCount(after)];
  if (was !== is) {
    if (was !== null) ops.push({ op: 'hincrby', key: keys.stats('active'), field: was, by: -1 });
    if (is !== null) ops.push({ op: 'hincrby', key: keys.stats('active'), field: is, by: 1 });
  }
  if (entry.type === 'SLA_WARNING' || entry.type === 'SLA_BREACHED') {
    const clock = String(entry.details?.clock ?? 'unknown');
    ops.push({ op: 'hincrby', key: keys.stats('sla'), field: `${entry.type === 'SLA_WARNING' ? 'warning' : 'breach'}|${clock}|${ctx.priority}`, by: 1 });
  }
  return ops;
}

/** Everything a ticket change writes besides the ticket itself. */
export const ticketStoreOps = (keys: Keys, topology: Topology, before: TicketRecord | null, after: TicketRecord, entry: HistoryEntry): StoreOp[] =>
  [...indexOps(keys, topology, before, after), ...counterOps(keys, before, after, entry)];
