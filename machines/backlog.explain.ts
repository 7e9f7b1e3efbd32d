import type { SnapshotFrom } from 'xstate';
import type { BacklogEvent, BacklogEventType, BacklogMachine } from './backlog.machine.js';
import type { BacklogPolicy } from '../src/domain/backlog-policy.js';
import type { Actor } from './ticket.policy.js';

/** The events a caller (not Lotse itself) may send to a backlog item: the contract's list. */
export const BACKLOG_USER_EVENT_TYPES = ['PRIORITIZE', 'ACCEPT', 'REJECT', 'SCHEDULE', 'COMPLETE', 'MERGE', 'UNMERGE'] as const satisfies readonly BacklogEventType[];
export type BacklogUserEventType = (typeof BACKLOG_USER_EVENT_TYPES)[number];

type Snapshot = SnapshotFrom<BacklogMachine>;

/**
 * A well-formed event of a type, to ask the machine whether it would take it:
 * MERGE into an item that is not this one, UNMERGE of the first linked ticket.
 */
export function sampleBacklogEvent(snapshot: Snapshot, type: BacklogUserEventType, actor: Actor, at: number): BacklogEvent {
  const first = snapshot.context.links[0]?.ticketId;
  const fill = { rank: 1, reason: '-', release: '-', into: '\u0000', tickets: first === undefined ? [] : [first] };
  return { type, ...fill, at, actor } as unknown as BacklogEvent;
}

/** The event types a caller may send now. */
export function allowedBacklogEvents(snapshot: Snapshot, actor: Actor, at: number): BacklogUserEventType[] {
  return BACKLOG_USER_EVENT_TYPES.filter((type) => snapshot.can(sampleBacklogEvent(snapshot, type, actor, at)));
}

/**
 * Why an event was refused, as data the engine turns into its error: who
 * else may send it now (403 for the caller) or, when nobody may, that the
 * state does not take it (409), with the events the caller may send.
 */
export function explainBacklogRefusal(
  policy: BacklogPolicy,
  snapshot: Snapshot,
  event: BacklogEvent,
): { kind: 'forbidden' | 'invalid-transition'; state: string; couldSend: string[]; allowedEvents: BacklogUserEventType[] } {
  const owner = policy.backlogOwnerOf(snapshot.context.service);
  const others: { who: string; actor: Actor }[] = [
    ...(owner ? [{ who: `the backlog owner (${owner})`, actor: { type: 'principal', orgId: owner, role: 'operator' } as Actor }] : []),
    { who: 'the steering committee', actor: { type: 'principal', orgId: '-', role: 'steering' } },
  ];
  const state = String(snapshot.value);
  const allowedEvents = allowedBacklogEvents(snapshot, event.actor, event.at);
  const couldSend = others.filter((o) => snapshot.can({ ...event, actor: o.actor })).map((o) => o.who);
  const kind = couldSend.length > 0 && event.actor.type === 'principal' ? 'forbidden' : 'invalid-transition';
  return { kind, state, couldSend, allowedEvents };
}
