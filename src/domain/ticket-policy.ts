import { addBusinessTime } from './business-time.js';
import type { Calendar } from './calendar.js';
import { priorityOf, receivesHandoffs, routeTicket, type Route, type RoutingFacts } from './routing.js';
import type { SlaRules } from './sla.js';
import type { Grade, Level, Priority, SlaPolicy, Topology } from './topology.js';

/**
 * What the ticket machine needs to know of the world, handed in once so the
 * machine stays pure: routing, the operations organisation, calendars and
 * SLA policies, and the reopen window. Defined here, beside the one function
 * that builds it from a topology, so the domain needs nothing of machines/.
 */
export interface TicketPolicy extends SlaRules {
  route(facts: RoutingFacts, level: Level): Route;
  receivesHandoffs(orgId: string): boolean;
  operations: string;
  reopenWindowMs: number;
  priorityOf(impact: Grade, urgency: Grade): Priority;
  /** When a provider's receipt for a handoff made at `at` is due. */
  receiptDueAt(orgId: string, at: number): number;
  policy(priority: Priority): SlaPolicy;
  calendarOf(orgId: string): Calendar;
}

const DAY_MS = 86_400_000;

/** The ticket machine's view of a topology. */
export function createTicketPolicy(topology: Topology): TicketPolicy {
  const orgKind = (orgId: string) => topology.orgs.get(orgId)?.kind;
  return {
    route: (facts, level) => routeTicket(topology, facts, level),
    receivesHandoffs: (orgId) => {
      const kind = orgKind(orgId);
      return kind !== undefined && receivesHandoffs(kind);
    },
    operations: topology.operations,
    reopenWindowMs: topology.config.tickets.reopenWindowDays * DAY_MS,
    priorityOf: (impact, urgency) => priorityOf(topology.config.priorityMatrix, impact, urgency),
    receiptDueAt: (orgId, at) => {
      const org = topology.orgs.get(orgId);
      return org ? addBusinessTime(org.calendar, at, org.receiptDeadline) : at;
    },
    policy: (priority) => topology.config.sla[priority],
    calendarOf: (orgId) => topology.calendarOf(orgId),
  };
}
