import type { Principal } from '../domain/access.js';
import { LAND_CODES } from '../domain/ids.js';
import { STATUSES } from '../domain/ticket.js';
import { LEVELS, PRIORITIES, type Topology } from '../domain/topology.js';
import type { IndexName } from '../store/keys.js';
import { indexesFor, type ListQuery } from './list.js';

/** One count of the dashboard: the index set whose size it is, and the list query that lists exactly that set. */
export interface CountSpec {
  group: CountGroup;
  key: string;
  index: IndexName;
  list: string;
}

export const COUNT_GROUPS = ['total', 'status', 'level', 'assignee', 'land', 'service', 'priority', 'sla'] as const;
export type CountGroup = (typeof COUNT_GROUPS)[number];

type Filter = Omit<ListQuery, 'limit' | 'cursor'>;
const OPERATOR: Principal = { orgId: 'operator', role: 'operator' };

/** `/v1/tickets?active=true&land=HB`: the query in a stable order. */
export function listUrl(filter: Filter): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `/v1/tickets?${qs}` : '/v1/tickets';
}

/**
 * The count a list filter stands for. The index comes from the list's own
 * mapping (indexesFor), so a count and the list it links to read the very
 * same set: for an operator the list is `all` ∩ that set, and every ticket is in `all`.
 */
function spec(group: CountGroup, key: string, filter: Filter): CountSpec {
  const names = indexesFor(OPERATOR, { ...filter, limit: 1 });
  const own = names.filter((n) => n !== 'all');
  if (own.length > 1) throw new Error(`the count ${group}/${key} would need ${own.length} index sets`);
  return { group, key, index: own[0] ?? 'all', list: listUrl(filter) };
}

/**
 * Every count the stats read, named from the topology (never from a scan
 * of Redis): its cost grows with the topology, not with the tickets.
 */
export function countSpecs(topology: Topology): CountSpec[] {
  const out: CountSpec[] = [spec('total', 'all', {}), spec('total', 'active', { active: true })];
  for (const s of STATUSES) out.push(spec('status', s, { status: s }));
  for (const l of LEVELS) out.push(spec('level', String(l), { level: l }));
  for (const org of topology.orgs.keys()) out.push(spec('assignee', org, { assignee: org }));
  for (const land of LAND_CODES.filter((c) => topology.lands.has(c))) out.push(spec('land', land, { active: true, land }));
  for (const service of topology.services.keys()) out.push(spec('service', service, { active: true, service }));
  // Priority sets hold active tickets only, like the level and holder sets.
  for (const p of PRIORITIES) out.push(spec('priority', p, { priority: p }));
  out.push(spec('sla', 'at-risk', { sla: 'at-risk' }), spec('sla', 'breached', { sla: 'breached' }));
  return out;
}
