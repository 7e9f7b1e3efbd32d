import type { Principal } from '../../domain/access.js';
import { LAND_CODES } from '../../domain/ids.js';
import { STATUSES, type TicketListQuery } from '../../domain/ticket.js';
import { LEVELS, PRIORITIES, type Topology } from '../../domain/topology.js';
import { parseActiveField, type IndexName } from '../../store/keys.js';
import { indexesFor } from './list.js';

/** Which of the active tickets a count takes: the `stats:active` fields it sums. */
export interface ActiveMatch {
  land?: string;
  service?: string;
  priority?: string;
}

/**
 * One count of the dashboard and the list query that lists exactly what it
 * counts. Its source is an index set (its size) or the active tickets'
 * counters (`stats:active`, summed over the fields that match).
 */
export interface CountSpec {
  group: CountGroup;
  key: string;
  source: { index: IndexName } | { active: ActiveMatch };
  list: string;
}

export const COUNT_GROUPS = ['total', 'status', 'level', 'assignee', 'land', 'service', 'priority', 'sla'] as const;
export type CountGroup = (typeof COUNT_GROUPS)[number];

type Filter = Omit<TicketListQuery, 'limit' | 'cursor'>;
const OPERATOR: Principal = { orgId: 'operator', role: 'operator' };


/** `/v1/tickets?active=true&land=HB`: the query in a stable order. */
export function listUrl(filter: Filter): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `/v1/tickets?${qs}` : '/v1/tickets';
}

/**
 * A count of an index set. The index comes from the list's own mapping
 * (indexesFor), so a count and the list it links to read the very same
 * set: for an operator the list is `all` ∩ that set, and every ticket is in `all`.
 */
function indexSpec(group: CountGroup, key: string, filter: Filter): CountSpec {
  const names = indexesFor(OPERATOR, { ...filter, limit: 1 });
  const own = names.filter((n) => n !== 'all');
  if (own.length > 1) throw new Error(`the count ${group}/${key} would need ${own.length} index sets`);
  return { group, key, source: { index: own[0] ?? 'all' }, list: listUrl(filter) };
}

/**
 * A count of active tickets from the counters: the list is `active` ∩ the
 * Land's, service's or priority's set (the priority sets hold active tickets
 * only), the counters count the same tickets by the same facts. The drift
 * test and the stats test hold the two together.
 */
function activeSpec(group: CountGroup, key: string, match: ActiveMatch): CountSpec {
  const filter: Filter = match.priority !== undefined ? { priority: match.priority } : { active: true, ...match };
  return { group, key, source: { active: match }, list: listUrl(filter) };
}

/**
 * Every count the stats read, named from the topology (never from a scan
 * of Redis): its cost grows with the topology, not with the tickets.
 */
export function countSpecs(topology: Topology): CountSpec[] {
  const out: CountSpec[] = [indexSpec('total', 'all', {}), activeSpec('total', 'active', {})];
  for (const s of STATUSES) out.push(indexSpec('status', s, { status: s }));
  for (const l of LEVELS) out.push(indexSpec('level', String(l), { level: l }));
  for (const org of topology.orgs.keys()) out.push(indexSpec('assignee', org, { assignee: org }));
  for (const land of LAND_CODES.filter((c) => topology.lands.has(c))) out.push(activeSpec('land', land, { land }));
  for (const service of topology.services.keys()) out.push(activeSpec('service', service, { service }));
  for (const p of PRIORITIES) out.push(activeSpec('priority', p, { priority: p }));
  out.push(indexSpec('sla', 'at-risk', { sla: 'at-risk' }), indexSpec('sla', 'breached', { sla: 'breached' }));
  return out;
}

/** The `stats:active` counters with their fields split, once per read; fields of another shape are skipped. */
export function activeCounters(counters: ReadonlyMap<string, number>): (Required<ActiveMatch> & { count: number })[] {
  return [...counters].flatMap(([field, count]) => {
    const f = parseActiveField(field);
    return f ? [{ ...f, count }] : [];
  });
}

/** The sum of the active counters that match. */
export function sumActive(counters: readonly (Required<ActiveMatch> & { count: number })[], match: ActiveMatch): number {
  let n = 0;
  for (const f of counters) {
    if ((match.land === undefined || f.land === match.land) && (match.service === undefined || f.service === match.service) && (match.priority === undefined || f.priority === match.priority)) n += f.count;
  }
  return n;
}
