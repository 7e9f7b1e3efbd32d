import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './redis-client.js';
import { createdField, type IndexName, type Keys, type StatsName } from './keys.js';
import { BACKFILL_REF, REBUILD_ACTIVE } from './scripts.js';
import { decodeTicketDoc } from './ticket-codec.js';

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

/** The version of the `ix:ref:<digest>` sets backfillRefIndex writes, as its field in `<prefix>:upgrade` records it. */
export const REF_INDEX_VERSION = 1;
const REF_INDEX_STEP = 'ix:ref';
/** Keys asked of each SCAN call: a batch read and written at once, so no command runs long. */
const BACKFILL_BATCH = 500;

/** A SCAN pattern matching the text exactly (the prefix may hold glob characters). */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * Puts the tickets of a Lotse from before the index by desk reference into
 * `ix:ref:<digest>`, as the creation's commit does (`refIndexKey` names the
 * set of a reference: the engine's digest), once: `<prefix>:upgrade` field
 * `ix:ref` holds REF_INDEX_VERSION when it is done, and a later start reads
 * only that. The ticket hashes are found by SCAN in batches of about
 * BACKFILL_BATCH (on a Cluster on every master; the prefix's hash tag puts
 * them all on one), their documents read in one pipeline, and each batch
 * written by the script BACKFILL_REF: ZADDs of members already there change
 * nothing, so a run cut short and started again, or several processes
 * starting at once, leave the same sets. The members added, or null when the
 * step was done already.
 */
export async function backfillRefIndex(redis: RedisClient, keys: Keys, refIndexKey: (externalRef: string) => string): Promise<number | null> {
  if (Number(await redis.hget(keys.upgrade, REF_INDEX_STEP) ?? 0) >= REF_INDEX_VERSION) return null;
  const head = keys.ticket('');
  const nodes = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  let added = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${globEscape(head)}*`, 'COUNT', BACKFILL_BATCH);
      cursor = next;
      // `t:<id>` only: not a ticket's history list `t:<id>:h`.
      const ids = found.map((key) => key.slice(head.length)).filter((id) => id !== '' && !id.includes(':'));
      if (ids.length === 0) continue;
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetBuffer(keys.ticket(id), 'd');
      const docs = (await pipeline.exec()) ?? [];
      const keyList: string[] = [];
      const members: string[] = [];
      docs.forEach(([err, d], i) => {
        if (err) throw err;
        if (!d) return;
        const ref = (decodeTicketDoc(d as Buffer) as { data?: { externalRef?: unknown } }).data?.externalRef;
        if (typeof ref !== 'string' || ref === '') return; // as indexMembership: no set for an empty reference
        keyList.push(keys.ticket(ids[i]!), refIndexKey(ref));
        members.push(ids[i]!);
      });
      if (members.length > 0) added += Number(await redis.eval(BACKFILL_REF, keyList.length, ...keyList, ...members));
    } while (cursor !== '0');
  }
  await redis.hset(keys.upgrade, REF_INDEX_STEP, REF_INDEX_VERSION);
  return added;
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

/**
 * The read model across partitions (LOTSE_PARTITIONS): every count and
 * counter summed over the partitions' own (each partition's commits keep
 * theirs; a service's backlog items are in its backlog's partition); dead
 * letters are the deployment's, in partition 0.
 */
export function mergedReadModel(models: readonly ReadModel[]): ReadModel {
  if (models.length === 1) return models[0]!;
  return {
    async countIndexes(names) {
      const all = await Promise.all(models.map((m) => m.countIndexes(names)));
      return names.map((_, i) => all.reduce((n, counts) => n + counts[i]!, 0));
    },
    async readCounters(name) {
      const sum = new Map<string, number>();
      for (const counters of await Promise.all(models.map((m) => m.readCounters(name)))) for (const [f, n] of counters) sum.set(f, (sum.get(f) ?? 0) + n);
      return sum;
    },
    countDeadLetters: () => models[0]!.countDeadLetters(),
    async readCostFacts(year, pairs, priorities) {
      const [first, ...rest] = await Promise.all(models.map((m) => m.readCostFacts(year, pairs, priorities)));
      return first!.map((row, i) => ({ ...row, tickets: row.tickets + rest.reduce((n, r) => n + r[i]!.tickets, 0), backlogItems: row.backlogItems + rest.reduce((n, r) => n + r[i]!.backlogItems, 0) }));
    },
  };
}
