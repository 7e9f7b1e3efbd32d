/**
 * Every Redis key Lotse writes, under one prefix. For Redis Cluster the
 * prefix carries a hash tag (`{lotse}`), so one commit's keys share a slot.
 * BullMQ's queues live under the same prefix as `<prefix>:<queue>:…`; no
 * queue is named `t`, `ix`, `idem`, `outbox`, `hb`, `b`, `bix`, `bx`, `blk`, `rx`, `rt`, `rfeed`, `stats`, `sess`, `dash` or `upgrade`.
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
  /** A backlog item's hash (like a ticket's) and its history list. */
  backlogItem(id: string): string;
  backlogHistory(id: string): string;
  /** Backlog listing sets, scored by the item's score (`score:…`) or rank (`rank:…`). */
  backlogIndex(name: string): string;
  /** Held while the backlog feed matches a suggestion of a service, so two workers do not both open an item for it. */
  backlogLock(service: string): string;
  /** Recent technical tickets of a service by term, and each one's analysed subject: the recurring-problem window. */
  recurringPosting(service: string, term: string): string;
  recurringTicket(ticketId: string): string;
  /** The window's feed: a stream of technical tickets to observe, written by their creation's commit, read by the backlog workers' group. */
  recurringFeed: string;
  /** Webhook dead letters: a hash event id → entry, and sorted sets by failing time, all and per organisation. */
  deadLetters: string;
  deadLetterIndex(orgId?: string): string;
  /** The organisation's dead letters of one channel besides webhooks (mail, connector), by failing time: what /metrics counts per channel. */
  deadLetterChannelIndex(channel: 'mail' | 'connector', orgId: string): string;
  /** Set while an organisation's endpoint is disabled (it answered 410). */
  webhookDisabled(orgId: string): string;
  /** Hash event id → replays so far, for replay job ids that are never reused. */
  webhookReplays: string;
  /** The latest replays: a hash event id → the dead letter as it was replayed, with when; a sorted set of them by replay time (the newest kept). */
  webhookReplayed: string;
  webhookReplayedIndex: string;
  /** A dashboard session under the SHA-256 of its cookie (a string with an expiry). */
  session(id: string): string;
  /** The sessions of one organisation (a sorted set of session hashes by expiry), so they can all be ended at once. */
  sessionsOfOrg(orgId: string): string;
  /** Failed dashboard logins of one client or key prefix in the current window (a counter with an expiry). */
  loginFailures(scope: string): string;
  /** The dashboard's per-minute samples of queue depths and throughput (a sorted set kept to 60). */
  dashboardSeries: string;
  /** The one-time upgrade steps done (a hash: step → version), so a start skips what an earlier start finished. */
  upgrade: string;
  prefix: string;
}

/**
 * `created`: `<year>|<land>|<service>|<priority>` → tickets created (the
 * metrics sum the years, the cost report the priorities; fields
 * `<land>|<service>|<priority>` written before 2026-12 are still read);
 * `created-year`: `<year>|<service>|<land>`, written before 2026-12 and only read since;
 * `active`: `<land>|<service>|<priority>` → tickets at a level now; `events`:
 * event type → events applied; `sla`: `<warning|breach>|<clock>|<priority>`
 * → SLA warnings and breaches.
 */
/** `stats:active` field of an active ticket (the upgrade script REBUILD_ACTIVE in scripts.ts builds the same shape in Lua). */
export const activeField = (land: string, service: string, priority: string): string => `${land}|${service}|${priority}`;

/** A `stats:active` field's parts; null for a field of another shape. */
export function parseActiveField(field: string): { land: string; service: string; priority: string } | null {
  const [land, service, priority, ...rest] = field.split('|');
  return rest.length === 0 && land && service && priority ? { land, service, priority } : null;
}

/** `stats:created` field of a creation: years × Länder × services × priorities, all bounded. */
export const createdField = (year: number, land: string, service: string, priority: string): string => `${year}|${land}|${service}|${priority}`;

export type StatsName = 'created' | 'created-year' | 'active' | 'events' | 'sla';

export type IndexName =
  | 'all'
  | 'closed'
  /** Tickets erased whose jobs, dead letters and stream events wait for the retention worker's purge (score: the erasure's version). */
  | 'erasing'
  | `reach:${string}`
  | `status:${string}`
  | `level:${string}`
  | `assignee:${string}`
  | `land:${string}`
  | `service:${string}`
  | 'sla:at-risk'
  | 'sla:breached'
  /** Tickets at a level (neither resolved nor closed), overall and by priority: listing indexes (their counts are `stats:active`). */
  | 'active'
  | `priority:${string}`
  /** Tickets by the desk's own reference (`externalRef`), as a digest: `GET /v1/tickets?externalRef=`. */
  | `ref:${string}`;

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
    backlogItem: (id) => `${prefix}:b:${id}`,
    backlogHistory: (id) => `${prefix}:b:${id}:h`,
    backlogIndex: (name) => `${prefix}:bix:${name}`,
    backlogLock: (service) => `${prefix}:blk:${service}`,
    recurringPosting: (service, term) => `${prefix}:rx:${service}:${term}`,
    recurringTicket: (ticketId) => `${prefix}:rt:${ticketId}`,
    recurringFeed: `${prefix}:rfeed`,
    deadLetters: `${prefix}:wh:dead`,
    deadLetterIndex: (orgId) => (orgId ? `${prefix}:wh:dead:org:${orgId}` : `${prefix}:wh:dead:all`),
    deadLetterChannelIndex: (channel, orgId) => `${prefix}:wh:dead:${channel === 'mail' ? 'mail' : 'cx'}:${orgId}`,
    webhookDisabled: (orgId) => `${prefix}:wh:off:${orgId}`,
    webhookReplays: `${prefix}:wh:replays`,
    webhookReplayed: `${prefix}:wh:replayed`,
    webhookReplayedIndex: `${prefix}:wh:replayed:at`,
    session: (id) => `${prefix}:sess:${id}`,
    sessionsOfOrg: (orgId) => `${prefix}:sess-org:${orgId}`,
    loginFailures: (scope) => `${prefix}:login-fail:${scope}`,
    dashboardSeries: `${prefix}:dash:series`,
    upgrade: `${prefix}:upgrade`,
  };
}
