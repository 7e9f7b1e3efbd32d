import type { Category } from './ticket.js';
import type { LandCode } from './ids.js';
import type { Grade, HolderRef, Level, OrgKind, Priority, PriorityMatrix, Topology } from './topology.js';

/** What routing looks at: where the ticket comes from, what it is about. */
export interface RoutingFacts {
  service: string;
  land: LandCode;
  category: Category;
}

export interface Route {
  orgId: string;
  /** The holder is outside Lotse's desks: an IT provider or a vendor's desk gets a handoff. */
  handoff: boolean;
}

const LAND_ORG_KIND: Record<'land-desk' | 'land-fach' | 'land-it', OrgKind> = {
  'land-desk': 'service-desk',
  'land-fach': 'subject-matter',
  'land-it': 'it-provider',
};

/** Organisations that receive handoffs through a queue (and a webhook, if they have one). */
export function receivesHandoffs(kind: OrgKind): boolean {
  return kind === 'it-provider' || kind === 'vendor-support';
}

/** The organisation a holder reference names for a ticket from `land`. */
export function resolveHolder(topology: Topology, ref: HolderRef, land: LandCode): string {
  if (ref === 'land-desk' || ref === 'land-fach' || ref === 'land-it') {
    const kind = LAND_ORG_KIND[ref];
    for (const org of topology.orgs.values()) if (org.kind === kind && org.land === land) return org.id;
    throw new Error(`no ${kind} organisation in ${land}`);
  }
  return ref;
}

/**
 * Who holds a ticket at a level. Subject-matter questions at level 1 go to
 * the service's subject-matter holder (the Land's Fachstelle by default):
 * they are routed there, not escalated.
 */
export function routeTicket(topology: Topology, facts: RoutingFacts, level: Level): Route {
  const service = topology.services.get(facts.service);
  if (!service) throw new Error(`unknown service ${facts.service}`);
  const ref = level === 1 && facts.category === 'subject-matter' ? service.subjectMatter : service.levels[level];
  const orgId = resolveHolder(topology, ref, facts.land);
  return { orgId, handoff: handsOffTo(topology, orgId) };
}

export function handsOffTo(topology: Topology, orgId: string): boolean {
  const org = topology.orgs.get(orgId);
  return org !== undefined && receivesHandoffs(org.kind);
}

/** The Land a ticket belongs to: `land` as given, else the one its ARS prefix names. */
export function landOf(
  topology: Topology,
  place: { land?: LandCode | undefined; ars?: string | undefined },
): { land: LandCode } | { error: { path: string; message: string } } {
  const fromArs = place.ars === undefined ? undefined : topology.landByArs.get(place.ars.slice(0, 2));
  if (place.ars !== undefined && !fromArs) {
    return { error: { path: 'ars', message: `no Land has the ARS prefix ${place.ars.slice(0, 2)}` } };
  }
  if (place.land !== undefined) {
    if (!topology.lands.has(place.land)) return { error: { path: 'land', message: `unknown Land ${place.land}` } };
    if (fromArs && fromArs.code !== place.land) {
      return { error: { path: 'ars', message: `the ARS names ${fromArs.code}, not ${place.land}` } };
    }
    return { land: place.land };
  }
  if (fromArs) return { land: fromArs.code };
  return { error: { path: 'land', message: 'give land or ars' } };
}

/** ITIL: impact × urgency → priority, by the topology's matrix. */
export function priorityOf(matrix: PriorityMatrix, impact: Grade, urgency: Grade): Priority {
  return matrix[impact][urgency];
}
