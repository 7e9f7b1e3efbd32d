/**
 * Every Redis key Lotse writes, under one prefix. For Redis Cluster the
 * prefix carries a hash tag (`{lotse}`), so one commit's keys share a slot.
 * BullMQ's queues live under the same prefix as `<prefix>:<queue>:…`; no
 * queue is named `t`, `ix`, `idem`, `outbox` or `hb`.
 */
export interface Keys {
  ticket(id: string): string;
  history(id: string): string;
  outbox: string;
  outboxDead: string;
  events: string;
  idempotency(orgId: string, keyHash: string): string;
  index(name: IndexName): string;
  /** Read-model counters kept by the commit: hashes whose fields come from the topology's bounded sets. */
  stats(name: StatsName): string;
  heartbeat: string;
  /** Webhook dead letters: a hash event id → entry, and sorted sets by failing time, all and per organisation. */
  deadLetters: string;
  deadLetterIndex(orgId?: string): string;
  /** Set while an organisation's endpoint is disabled (it answered 410). */
  webhookDisabled(orgId: string): string;
  /** Hash event id → replays so far, for replay job ids that are never reused. */
  webhookReplays: string;
  prefix: string;
}

/**
 * `created`: `<land>|<service>|<priority>` → tickets created; `events`:
 * event type → events applied; `sla`: `<warning|breach>|<clock>|<priority>`
 * → SLA warnings and breaches.
 */
export type StatsName = 'created' | 'events' | 'sla';

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
    stats: (name) => `${prefix}:stats:${name}`,
    heartbeat: `${prefix}:hb`,
    deadLetters: `${prefix}:wh:dead`,
    deadLetterIndex: (orgId) => (orgId ? `${prefix}:wh:dead:org:${orgId}` : `${prefix}:wh:dead:all`),
    webhookDisabled: (orgId) => `${prefix}:wh:off:${orgId}`,
    webhookReplays: `${prefix}:wh:replays`,
  };
}
