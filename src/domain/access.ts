import type { LandCode } from './ids.js';
import type { Role, Topology } from './topology.js';

/** Who calls: an API key's organisation and role. */
export interface Principal {
  orgId: string;
  role: Role;
  land?: LandCode | undefined;
  name?: string | undefined;
}

/** What reach and personal-data rules look at on a ticket. */
export interface ReachFacts {
  land: LandCode;
  service: string;
  createdBy: string;
  handledBy: readonly string[];
}

/** Desks and subject-matter offices speak for the citizens of their Land. */
function isLandDesk(topology: Topology, orgId: string, land: LandCode): boolean {
  const org = topology.orgs.get(orgId);
  return org !== undefined && org.land === land && (org.kind === 'service-desk' || org.kind === 'subject-matter');
}

/**
 * Organisations whose callers reach a ticket (operators reach every ticket):
 * the desks of its Land, the one that created it, and everyone it was handed to.
 */
export function reachingOrgs(topology: Topology, t: ReachFacts): string[] {
  return [...new Set([t.createdBy, ...t.handledBy, ...landDesks(topology, t.land)])];
}

const landDeskCache = new WeakMap<Topology, Map<LandCode, string[]>>();
/** The desks and subject-matter offices of a Land (looked up once per topology). */
function landDesks(topology: Topology, land: LandCode): string[] {
  let byLand = landDeskCache.get(topology);
  if (!byLand) {
    byLand = new Map();
    for (const org of topology.orgs.values()) {
      if (org.land && isLandDesk(topology, org.id, org.land)) byLand.set(org.land, [...(byLand.get(org.land) ?? []), org.id]);
    }
    landDeskCache.set(topology, byLand);
  }
  return byLand.get(land) ?? [];
}

export function canReach(topology: Topology, p: Principal, t: ReachFacts): boolean {
  if (p.role === 'operator') return true;
  if (p.role === 'steering') return false;
  return t.createdBy === p.orgId || t.handledBy.includes(p.orgId) || isLandDesk(topology, p.orgId, t.land);
}

/**
 * The reporter's personal data goes to the desk that took the request, the
 * desks of the citizen's Land, and the organisations the service names in
 * `shareReporterWith`; nobody else, operators included.
 */
export function canSeeReporter(topology: Topology, orgId: string, t: ReachFacts): boolean {
  if (t.createdBy === orgId || isLandDesk(topology, orgId, t.land)) return true;
  return topology.services.get(t.service)?.shareReporterWith.includes(orgId) ?? false;
}

/** The role an organisation's development key (`dev-<orgId>`) gets. */
export function devRoleFor(topology: Topology, orgId: string): Role | undefined {
  switch (topology.orgs.get(orgId)?.kind) {
    case 'service-desk':
    case 'subject-matter':
    case 'vendor-support':
      return 'desk';
    case 'it-provider':
      return 'provider';
    case 'operations':
      return 'operator';
    case 'steering':
      return 'steering';
    default:
      return undefined;
  }
}
