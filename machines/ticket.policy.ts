import type { Calendar } from '../src/domain/calendar.js';
import type { LandCode } from '../src/domain/ids.js';
import type { Route, RoutingFacts } from '../src/domain/routing.js';
import type { SlaRules } from '../src/domain/sla.js';
import type { Level, Role, SlaPolicy, Priority, Grade } from '../src/domain/topology.js';

/**
 * What the ticket machine needs to know of the world, handed in once so the
 * machine stays pure: routing, the operations organisation, calendars and
 * SLA policies, and the reopen window.
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

/** Who sent an event: a caller with a key, or Lotse itself (timers, policies). */
export type Actor =
  | { type: 'principal'; orgId: string; role: Role; land?: LandCode | undefined }
  | { type: 'system' };

export const SYSTEM: Actor = { type: 'system' };
