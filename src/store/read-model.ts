import type { RedisClient } from './redis-client.js';
import { createdField, type IndexName, type Keys, type StatsName } from './keys.js';

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
 * Entries of a stream between two times, counted inside Redis (only the
 * number travels), at most `cap`: the dashboard's throughput per minute.
 */
const COUNT_RANGE = `return #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])`;

export async function countStreamEntries(redis: RedisClient, key: string, fromMs: number, toMs: number, cap: number): Promise<number> {
  return Number(await redis.eval(COUNT_RANGE, 1, key, `${fromMs}-0`, `${Math.max(fromMs, toMs - 1)}-18446744073709551615`, cap));
}

/**
 * The dashboard's per-minute series: a sorted set by minute, trimmed to the
 * newest `keep`. One process samples each minute (SET NX on the minute), so
 * several API processes do not write it twice.
 */
export async function appendSample(redis: RedisClient, key: string, minute: number, sample: string, keep: number): Promise<boolean> {
  const claimed = await redis.set(`${key}:m:${minute}`, '1', 'EX', 120, 'NX');
  if (claimed !== 'OK') return false;
  await redis.multi().zadd(key, minute, sample).zremrangebyrank(key, 0, -(keep + 1)).exec();
  return true;
}

export async function readSamples(redis: RedisClient, key: string): Promise<string[]> {
  return redis.zrange(key, 0, -1);
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
 * Lotse before 2026-12 counted active tickets in sorted sets by Land and by
 * service (`ix:active:land:<L>`, `ix:active:service:<S>`) where it keeps the
 * `stats:active` counters now. Run once at start: when those sets exist,
 * the counters are rebuilt, not added to, from sets both versions keep
 * (`ix:active` and the Land, service and priority sets), into a new hash
 * renamed over `stats:active`, and the old sets deleted, in one script. So
 * a second process starting at the same time finds nothing left to do, and
 * a run after an old process wrote its sets again repairs the counters
 * instead of counting twice. (Stop every older process first all the same:
 * while one runs it moves no `stats:active` counter.) One pass over the
 * active tickets, a few ZSCOREs each: run on a connection without a command
 * timeout, since a script cannot be cut short once it writes.
 * KEYS: stats:active, its scratch copy, ix:active, the old Land and
 *       service sets, then the Land, service and priority sets kept;
 * ARGV: the number of Länder, of services, then the Länder, services, priorities.
 */
const REBUILD_ACTIVE = `
local nl, ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local np = #ARGV - 2 - nl - ns
local old = 3
local found = 0
for i = 1, nl + ns do found = found + redis.call('EXISTS', KEYS[old + i]) end
if found == 0 then return -1 end
local base = old + nl + ns
local function first(from, n, id)
  for i = 1, n do if redis.call('ZSCORE', KEYS[base + from + i], id) then return ARGV[2 + from + i] end end
  return nil
end
redis.call('DEL', KEYS[2])
local moved = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local land, service, priority = first(0, nl, id), first(nl, ns, id), first(nl + ns, np, id)
  if land and service and priority then
    redis.call('HINCRBY', KEYS[2], land .. '|' .. service .. '|' .. priority, 1) -- activeField's shape
    moved = moved + 1
  end
end
if moved > 0 then redis.call('RENAME', KEYS[2], KEYS[1]) else redis.call('DEL', KEYS[1]) end
for i = 1, nl + ns do redis.call('DEL', KEYS[old + i]) end
return moved
`;

/** Rebuilds `stats:active` when the sets an older Lotse kept are there; the tickets counted, or null when there was nothing to do. */
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
