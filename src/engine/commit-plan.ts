import { reachingOrgs } from '../domain/access.js';
import { hasBreached, isAtRisk } from '../domain/sla.js';
import type { Topology } from '../domain/topology.js';
import type { IndexName, Keys } from '../store/keys.js';
import type { StoreOp } from '../store/ops.js';
import type { HistoryEntry } from './effects.js';
import { reachFacts, stateInfo, type TicketRecord } from './ticket-record.js';

/**
 * The index sets a ticket belongs to, with 'a' for the lexical (listing)
 * indexes and a score where one is needed (closing time, for retention).
 */
export function indexMembership(topology: Topology, record: TicketRecord): Map<IndexName, 'a' | number> {
  const ctx = record.state.context;
  const info = stateInfo(record.state.value);
  const m = new Map<IndexName, 'a' | number>([
    ['all', 'a'],
    [`land:${record.data.land}`, 'a'],
    [`service:${record.data.service}`, 'a'],
    [`status:${info.status}`, 'a'],
  ]);
  for (const org of reachingOrgs(topology, reachFacts(record))) m.set(`reach:${org}`, 'a');
  if (info.active) {
    m.set(`level:${info.level}`, 'a');
    m.set(`assignee:${ctx.assignee}`, 'a');
    m.set('active', 'a');
    m.set(`active:land:${record.data.land}`, 'a');
    m.set(`active:service:${record.data.service}`, 'a');
    m.set(`priority:${ctx.priority}`, 'a');
    if (isAtRisk(ctx.sla)) m.set('sla:at-risk', 'a');
  }
  if (info.status !== 'closed' && hasBreached(ctx.sla)) m.set('sla:breached', 'a');
  if (ctx.closedAt !== null) m.set('closed', ctx.closedAt);
  return m;
}

/** Only what changed: sets the ticket enters and sets it leaves. */
export function indexOps(keys: Keys, topology: Topology, before: TicketRecord | null, after: TicketRecord): StoreOp[] {
  const was = before ? indexMembership(topology, before) : new Map<IndexName, 'a' | number>();
  const is = indexMembership(topology, after);
  const ops: StoreOp[] = [];
  for (const [name, op] of is) if (was.get(name) !== op) ops.push({ op: 'zadd', key: keys.index(name), member: after.id, score: op === 'a' ? 0 : op });
  for (const name of was.keys()) if (!is.has(name)) ops.push({ op: 'zrem', key: keys.index(name), member: after.id });
  return ops;
}

/** The counters one change moves: tickets created, events by type, SLA warnings and breaches. */
export function counterOps(keys: Keys, before: TicketRecord | null, after: TicketRecord, entry: HistoryEntry): StoreOp[] {
  const ctx = after.state.context;
  const ops: StoreOp[] = [{ op: 'hincrby', key: keys.stats('events'), field: entry.type, by: 1 }];
  if (!before) {
    ops.push({ op: 'hincrby', key: keys.stats('created'), field: `${after.data.land}|${after.data.service}|${ctx.priority}`, by: 1 });
    ops.push({ op: 'hincrby', key: keys.stats('created-year'), field: `${new Date(after.data.createdAt).getUTCFullYear()}|${after.data.service}|${after.data.land}`, by: 1 });
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
