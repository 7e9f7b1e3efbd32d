import { addBusinessTime } from './business-time.js';
import { priorityOf, receivesHandoffs, routeTicket } from './routing.js';
import type { Topology } from './topology.js';
import type { TicketPolicy } from '../../machines/ticket.policy.js';

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
