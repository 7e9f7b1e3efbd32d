import type { Actor } from '../../machines/ticket.policy.js';
import type { CloudEvent } from '../domain/cloudevent.js';
import type { ActorView } from '../domain/ticket.js';
import type { BacklogJob } from '../queue/jobs.js';

/**
 * The closed list of effects a committed change can ask for. Each carries a
 * deterministic id, so running it twice has the effect of running it once.
 * Adding a kind means adding it here and giving the relay one executor.
 */
export type Effect =
  | { kind: 'publish'; id: string; event: CloudEvent }
  | { kind: 'timer.arm'; id: string; ticketId: string; epoch: number; fireAt: number }
  | { kind: 'timer.move'; id: string; ticketId: string; epoch: number; fireAt: number }
  | { kind: 'timer.cancel'; id: string; ticketId: string; epoch: number }
  | { kind: 'handoff'; id: string; orgId: string; event: CloudEvent }
  | { kind: 'backlog'; id: string; job: BacklogJob }
  /** An erasure was committed: the retention worker purges the ticket's jobs, dead letters and stream events. */
  | { kind: 'erase'; id: string; ticketId: string; version: number };
export type EffectKind = Effect['kind'];

export const timerJobId = (ticketId: string, epoch: number) => `timer-${ticketId}-${epoch}`;

/** Who made a change, as a history entry names them. */
export const actorView = (actor: Actor): ActorView =>
  actor.type === 'system' ? { system: true } : { orgId: actor.orgId, role: actor.role };

