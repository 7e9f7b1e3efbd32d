import type { RedisClient } from './redis-client.js';
import type { Keys } from './keys.js';
import { RELAY_GROUP, type OutboxEntry } from './outbox.js';

/** The figures a metrics scrape reads from Redis, as Redis keeps them. */
export interface MetricFigures {
  /** The commit's counter hashes `stats:created`, `stats:events`, `stats:sla`: field → count as Redis answers it. */
  created: Record<string, string>;
  events: Record<string, string>;
  sla: Record<string, string>;
  /** Index sizes, in the order asked: tickets per level, per status; dead letters per organisation. */
  levels: number[];
  statuses: number[];
  deadLetters: number[];
  /** Dead letters of mail and of connectors, per organisation with mail and with a connector, in the order asked (they are among `deadLetters` too). */
  mailDeadLetters: number[];
  connectorDeadLetters: number[];
  outboxDead: number;
  outboxEntries: number;
  /** The outbox's first entry id (its time is the oldest unfinished entry's); undefined when it is empty. */
  oldestOutboxId: string | undefined;
  /** The relays' consumer group: its pending count and `lag` (null where Redis does not report it, before 7); null when there is no group yet. */
  relay: { pending: number; lag: number | null } | null;
}

/** One round trip: every figure of a scrape from one pipeline. */
export interface FigureSets {
  levels: readonly (string | number)[];
  statuses: readonly string[];
  orgs: readonly string[];
  /** Organisations that work by e-mail, and with a connector: their channel's dead letters are counted apart. */
  mailOrgs?: readonly string[];
  connectorOrgs?: readonly string[];
}

export async function readMetricFigures(redis: RedisClient, keys: Keys, o: FigureSets): Promise<MetricFigures> {
  const mailOrgs = o.mailOrgs ?? [];
  const connectorOrgs = o.connectorOrgs ?? [];
  const p = redis.pipeline();
  p.hgetall(keys.stats('created')).hgetall(keys.stats('events')).hgetall(keys.stats('sla'));
  for (const l of o.levels) p.zcard(keys.index(`level:${l}`));
  for (const s of o.statuses) p.zcard(keys.index(`status:${s}`));
  for (const org of o.orgs) p.zcard(keys.deadLetterIndex(org));
  for (const org of mailOrgs) p.zcard(keys.deadLetterChannelIndex('mail', org));
  for (const org of connectorOrgs) p.zcard(keys.deadLetterChannelIndex('connector', org));
  p.xlen(keys.outboxDead).xlen(keys.outbox).xrange(keys.outbox, '-', '+', 'COUNT', 1).xinfo('GROUPS', keys.outbox);
  const results = (await p.exec()) ?? [];
  let i = 0;
  // XINFO on a stream not yet created fails with "no such key": nothing waits then. Any other error fails the scrape.
  const next = <T>(fallback?: T): T => {
    const [err, value] = results[i++] ?? [new Error('missing pipeline result'), null];
    if (err) {
      if (fallback !== undefined && /no such key/i.test(err.message)) return fallback;
      throw err;
    }
    return value as T;
  };
  const many = (n: number) => Array.from({ length: n }, () => next<number>());
  const created = next<Record<string, string>>();
  const events = next<Record<string, string>>();
  const sla = next<Record<string, string>>();
  const levels = many(o.levels.length);
  const statuses = many(o.statuses.length);
  const deadLetters = many(o.orgs.length);
  const mailDeadLetters = many(mailOrgs.length);
  const connectorDeadLetters = many(connectorOrgs.length);
  const outboxDead = next<number>();
  const outboxEntries = next<number>();
  const oldest = next<OutboxEntry[]>();
  const groups = next<unknown[][]>([]);
  // XINFO GROUPS answers each group as a flat list of name, value, name, value, …
  const group = groups.map(flatToObject).find((g) => g.name === RELAY_GROUP);
  return {
    created, events, sla, levels, statuses, deadLetters, mailDeadLetters, connectorDeadLetters, outboxDead, outboxEntries,
    oldestOutboxId: oldest[0]?.[0],
    relay: group ? { pending: Number(group.pending ?? 0), lag: group.lag === undefined || group.lag === null ? null : Number(group.lag) } : null,
  };
}

function flatToObject(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** The same bound to one client and prefix: what the metrics are handed instead of the client. */
export const createMetricFigures = (redis: RedisClient, keys: Keys) => (o: FigureSets) => readMetricFigures(redis, keys, o);

export type MetricFiguresReader = ReturnType<typeof createMetricFigures>;

/**
 * The scrape's figures across partitions (LOTSE_PARTITIONS): counters, index
 * sizes and outbox figures summed over the partitions; dead letters are the
 * deployment's (partition 0: the others have none, so their zeros add nothing).
 */
export function mergedMetricFigures(readers: readonly MetricFiguresReader[]): MetricFiguresReader {
  if (readers.length === 1) return readers[0]!;
  const addHash = (hashes: Record<string, string>[]) => {
    const out: Record<string, string> = {};
    for (const h of hashes) for (const [f, v] of Object.entries(h)) out[f] = String(Number(out[f] ?? 0) + Number(v));
    return out;
  };
  const addLists = (lists: number[][]) => lists[0]!.map((_, i) => lists.reduce((n, l) => n + (l[i] ?? 0), 0));
  return async (o) => {
    const [first, ...rest] = await Promise.all(readers.map((read, p) => read(p === 0 ? o : { ...o, orgs: [], mailOrgs: [], connectorOrgs: [] })));
    const all = [first!, ...rest];
    const relays = all.map((f) => f.relay).filter((r) => r !== null);
    const oldest = all.map((f) => f.oldestOutboxId).filter((id): id is string => id !== undefined).sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]));
    return {
      ...first!,
      created: addHash(all.map((f) => f.created)),
      events: addHash(all.map((f) => f.events)),
      sla: addHash(all.map((f) => f.sla)),
      levels: addLists(all.map((f) => f.levels)),
      statuses: addLists(all.map((f) => f.statuses)),
      outboxDead: all.reduce((n, f) => n + f.outboxDead, 0),
      outboxEntries: all.reduce((n, f) => n + f.outboxEntries, 0),
      oldestOutboxId: oldest[0],
      relay: relays.length === 0 ? null : {
        pending: relays.reduce((n, r) => n + r.pending, 0),
        lag: relays.some((r) => r.lag === null) ? null : relays.reduce((n, r) => n + (r.lag ?? 0), 0),
      },
    };
  };
}
