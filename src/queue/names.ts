/** BullMQ queue names; none contains `:` (BullMQ refuses it). */
export const QUEUE = {
  intake: 'intake',
  events: 'events',
  sla: 'sla',
  backlog: 'backlog',
  webhook: 'webhook',
  retention: 'retention',
} as const;

/** One queue per IT provider or vendor desk. */
export const handoffQueueName = (orgId: string) => `handoff-${orgId}`;
