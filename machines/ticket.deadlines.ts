import { nextSlaDeadline, type ClockName } from '../src/domain/sla.js';
import type { TicketContext } from './ticket.machine.js';
import type { TicketPolicy } from '../src/domain/ticket-policy.js';

export type DeadlineKind = 'warning' | 'breach' | 'receipt' | 'autoClose';

export interface Deadline {
  kind: DeadlineKind;
  at: number;
  clock?: ClockName;
}

/**
 * The ticket's nearest deadline: an SLA warning or breach of a running clock,
 * a provider's receipt for a handoff, or the end of the reopen window.
 */
export function nextDeadline(ctx: TicketContext, policy: Pick<TicketPolicy, 'reopenWindowMs'>): Deadline | null {
  if (ctx.closedAt !== null) return null;
  if (ctx.resolvedAt !== null) return { kind: 'autoClose', at: ctx.resolvedAt + policy.reopenWindowMs };
  const sla = nextSlaDeadline(ctx.sla);
  const receipt: Deadline | null = ctx.handoff ? { kind: 'receipt', at: ctx.handoff.receiptDueAt } : null;
  if (sla && (!receipt || sla.at <= receipt.at)) return { kind: sla.kind, at: sla.at, clock: sla.clock };
  return receipt;
}
