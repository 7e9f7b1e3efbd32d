import { rolesFor, type Organisation, type Topology } from '../domain/topology.js';

/** BullMQ queue names; none contains `:` (BullMQ refuses it). */
export const QUEUE = {
  intake: 'intake',
  events: 'events',
  sla: 'sla',
  backlog: 'backlog',
  webhook: 'webhook',
  retention: 'retention',
  /** Mail out: one job per handoff effect to an organisation that works by e-mail (workers/mail.worker.ts). */
  mail: 'mail',
  /** Other ticket systems: handoffs out as remote tickets, and each organisation's poll for changes (workers/connector.worker.ts). */
  connector: 'connector',
} as const;

/** One queue per IT provider or vendor desk. */
export const handoffQueueName = (orgId: string) => `handoff-${orgId}`;

/** A desk's own intake queue: every job on it is that desk's, whatever it says. */
export const intakeQueueName = (orgId: string) => `intake-${orgId}`;

/** An organisation's own events queue: its answers, applied as that organisation. */
export const eventsQueueName = (orgId: string) => `events-${orgId}`;

/** The queues one organisation with a Redis user of its own may reach, by what it does there. */
export interface OwnQueues {
  orgId: string;
  /** It adds tickets: a desk (or the operators). */
  intake?: string;
  /** It answers: every such organisation. */
  events: string;
  /** It takes handoffs: an IT provider or vendor desk. */
  handoff?: string;
}

/** The organisations of the topology that use the queues as themselves (`queues:` set), with their queues. */
export function ownQueues(topology: Topology): OwnQueues[] {
  return [...topology.orgs.values()].filter((o) => o.queues !== undefined).map(ownQueuesOf);
}

export function ownQueuesOf(org: Pick<Organisation, 'id' | 'kind'>): OwnQueues {
  const roles = rolesFor(org.kind);
  return {
    orgId: org.id,
    ...(roles.includes('desk') || roles.includes('operator') ? { intake: intakeQueueName(org.id) } : {}),
    events: eventsQueueName(org.id),
    ...(roles.includes('provider') ? { handoff: handoffQueueName(org.id) } : {}),
  };
}

/** The names of every organisation's own queues that Lotse consumes (`intake-<org>`, `events-<org>`). */
export function ownQueueNames(topology: Topology): string[] {
  return ownQueues(topology).flatMap((q) => (q.intake ? [q.intake, q.events] : [q.events]));
}
