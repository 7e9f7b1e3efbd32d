import type { SnapshotFrom } from 'xstate';
import type { TicketEvent } from '../../../machines/ticket.machine.js';
import type { Actor } from '../../../machines/ticket.policy.js';
import { USER_EVENT_TYPES } from '../../domain/ticket.js';
import { AppError } from '../../errors.js';
import type { TicketMachine } from './kind.js';
import { stateInfo, type TicketRecord } from './record.js';

/**
 * Why the machine refused an event: 403 when someone else (the holder, an
 * operator) may send it now, else 409 naming the events the caller may send.
 */
export function explainRefusal(snapshot: SnapshotFrom<TicketMachine>, event: TicketEvent, record: TicketRecord): AppError {
  const ctx = snapshot.context;
  const state = stateInfo(record.state.value);
  const others: { who: string; actor: Actor }[] = [
    { who: `the holder (${ctx.assignee})`, actor: { type: 'principal', orgId: ctx.assignee, role: 'provider' } },
    { who: `a desk of ${ctx.facts.land}`, actor: { type: 'principal', orgId: ctx.createdBy, role: 'desk', land: ctx.facts.land } },
    { who: 'an operator', actor: { type: 'principal', orgId: '-', role: 'operator' } },
  ];
  const allowed = allowedEventTypes(snapshot, event.actor, event.at);
  const could = others.filter((o) => snapshot.can({ ...event, actor: o.actor } as TicketEvent)).map((o) => o.who);
  if (could.length > 0 && event.actor.type === 'principal') {
    return new AppError('FORBIDDEN', `In state ${state.path} only ${could.join(' or ')} may send ${event.type}`, { allowedEvents: allowed });
  }
  return new AppError('INVALID_TRANSITION', `${event.type} is not possible in state ${state.path}`, {
    state: state.path,
    allowedEvents: allowed,
  });
}

/** The event types a caller may send now. */
export function allowedEventTypes(snapshot: SnapshotFrom<TicketMachine>, actor: Actor, at: number): string[] {
  return USER_EVENT_TYPES.filter((type) => snapshot.can(sampleEvent(type, actor, at)));
}

/** A well-formed event of a type, to ask the machine whether it would take it. */
export function sampleEvent(type: string, actor: Actor, at: number): TicketEvent {
  const fill = { text: '-', reason: '-', answer: '-', resolution: '-', title: '-', description: '', assignee: '\u0000', impact: 'low', urgency: 'low' };
  return { type, ...fill, at, actor } as unknown as TicketEvent;
}
