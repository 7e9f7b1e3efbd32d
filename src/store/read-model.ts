import type { RedisClient } from './redis-client.js';
import { createdField, type IndexName, type Keys, type StatsName } from './keys.js';
import { REBUILD_ACTIVE } from './scripts.js';

/** How many members each index set has, in one pipeline of ZCARDs: O(1) each, whatever the number of tickets. */
export async function countIndexes(redis: RedisClient, keys: Keys, names: readonly IndexName[]): Promise<number[]> {
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.zcard(keys.index(name));
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, n]) => {
    if (err) throw err;
    return Number(n);
  });
}

/**
 * A counter hash (`stats:<name>`) as field → count; the fields come from the
 * topology's bounded sets, so HGETALL reads a bounded number of them.
 */
export async function readCounters(redis: RedisClient, keys: Keys, name: StatsName): Promise<Map<string, number>> {
  return new Map(Object.entries(await redis.hgetall(keys.stats(name))).map(([f, v]) => [f, Number(v)] as const));
}

/** Webhook deliveries that failed for good, all organisations. */
export async function countDeadLetters(redis: RedisClient, keys: Keys): Promise<number> {
  return redis.zcard(keys.deadLetterIndex());
}

/**
 * What the cost report puts beside each Land's share: the tickets it created
 * in the year (the commit's `created` counter, summed over the priorities,
 * plus `created-year`, which Lotse wrote before 2026-12 and reads still) and
 * the backlog items its tickets ask for (a set the backlog's commit keeps), per service.
 */
export async function readCostFacts(redis: RedisClient, keys: Keys, year: number, pairs: readonly { service: string; land: string }[], priorities: readonly string[]) {
  const pipeline = redis.pipeline();
  pipeline.hmget(keys.stats('created'), ...pairs.flatMap((p) => priorities.map((priority) => createdField(year, p.land, p.service, priority))));
  pipeline.hmget(keys.stats('created-year'), ...pairs.map((p) => `${year}|${p.service}|${p.land}`));
  for (const p of pairs) pipeline.zcard(keys.backlogIndex(`score:service:${p.service}:land:${p.land}`));
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
  const created = (results[0]![1] as (string | null)[]).map((v) => Number(v ?? 0));
  const before = (results[1]![1] as (string | null)[]).map((v) => Number(v ?? 0));
  const tickets = (i: number) => before[i]! + created.slice(i * priorities.length, (i + 1) * priorities.length).reduce((a, b) => a + b, 0);
  return pairs.map((p, i) => ({ ...p, tickets: tickets(i), backlogItems: Number(results[i + 2]![1]) }));
}

/**
 * Rebuilds `stats:active` when the sets an older Lotse kept are there (the
 * script REBUILD_ACTIVE in scripts.ts says how, and why once at start on a
 * connection without a command timeout); the tickets counted, or null when
 * there was nothing to do.
 */
export async function migrateActiveCounters(redis: RedisClient, keys: Keys, topology: { lands: readonly string[]; services: readonly string[]; priorities: readonly string[] }): Promise<number | null> {
  const old = (kind: string, v: string) => `${keys.prefix}:ix:active:${kind}:${v}`;
  const keyList = [
    keys.stats('active'), `${keys.stats('active')}:rebuild`, keys.index('active'),
    ...topology.lands.map((l) => old('land', l)), ...topology.services.map((s) => old('service', s)),
    ...topology.lands.map((l) => keys.index(`land:${l}`)), ...topology.services.map((s) => keys.index(`service:${s}`)), ...topology.priorities.map((p) => keys.index(`priority:${p}`)),
  ];
  const n = Number(await redis.eval(REBUILD_ACTIVE, keyList.length, ...keyList, topology.lands.length, topology.services.length, ...topology.lands, ...topology.services, ...topology.priorities));
  return n < 0 ? null : n;
}

/** The read model's readers bound to one client and prefix: what the operators' views and reports are handed instead of the client. */
export function createReadModel(redis: RedisClient, keys: Keys) {
  return {
    countIndexes: (names: readonly IndexName[]) => countIndexes(redis, keys, names),
    readCounters: (name: StatsName) => readCounters(redis, keys, name),
    countDeadLetters: () => countDeadLetters(redis, keys),
    readCostFacts: (year: number, pairs: readonly { service: string; land: string }[], priorities: readonly string[]) => readCostFacts(redis, keys, year, pairs, priorities),
  };
}

export type ReadModel = ReturnType<typeof createReadModel>;
