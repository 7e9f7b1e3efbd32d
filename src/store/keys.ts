/**
 * Every Redis key Lotse writes, under one prefix. For Redis Cluster the
 * prefix carries a hash tag (`{lotse}`), so one commit's keys share a slot.
 * BullMQ's queues live under the same prefix as `<prefix>:<queue>:…`; no
 * queue is named `t`, `ix`, `idem`, `outbox`, `hb`, `sess` or `dash`.
 */
export interface Keys {
  ticket(id: string): string;
  history(id: string): string;
  outbox: string;
  outboxDead: string;
  events: string;
  idempotency(orgId: string, keyHash: string): string;
  index(name: IndexName): string;
  heartbeat: string;
  /** Webhook dead letters: a hash event id → entry, and sorted sets by failing time, all and per organisation. */
  deadLetters: string;
  deadLetterIndex(orgId?: string): string;
  /** Set while an organisation's endpoint is disabled (it answered 410). */
  webhookDisabled(orgId: string): string;
  /** Hash event id → replays so far, for replay job ids that are never reused. */
  webhookReplays: string;
  /** A dashboard session (a hash with an expiry). */
  session(id: string): string;
  /** The dashboard's per-minute samples of queue depths and throughput (a sorted set kept to 60). */
  dashboardSeries: string;
  prefix: string;
}

export type IndexName =
  | 'all'
  | 'closed'
  | `reach:${string}`
  | `status:${string}`
  | `level:${string}`
  | `assignee:${string}`
  | `land:${string}`
  | `service:${string}`
  | 'sla:at-risk'
  | 'sla:breached'
  /** Tickets at a level (neither resolved nor closed), overall and by Land, service and priority: the dashboard's counts are their sizes. */
  | 'active'
  | `active:land:${string}`
  | `active:service:${string}`
  | `priority:${string}`;

export function makeKeys(prefix: string): Keys {
  return {
    prefix,
    ticket: (id) => `${prefix}:t:${id}`,
    history: (id) => `${prefix}:t:${id}:h`,
    outbox: `${prefix}:outbox`,
    outboxDead: `${prefix}:outbox:dead`,
    events: `${prefix}:events`,
    idempotency: (orgId, keyHash) => `${prefix}:idem:${orgId}:${keyHash}`,
    index: (name) => `${prefix}:ix:${name}`,
    heartbeat: `${prefix}:hb`,
    deadLetters: `${prefix}:wh:dead`,
    deadLetterIndex: (orgId) => (orgId ? `${prefix}:wh:dead:org:${orgId}` : `${prefix}:wh:dead:all`),
    webhookDisabled: (orgId) => `${prefix}:wh:off:${orgId}`,
    webhookReplays: `${prefix}:wh:replays`,
    session: (id) => `${prefix}:sess:${id}`,
    dashboardSeries: `${prefix}:dash:series`,
  };
}
