import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { PARTITIONS_MAX } from '../domain/partitions.js';
import type { RedisClient } from './redis-client.js';

/**
 * Partitions (LOTSE_PARTITIONS, CONTRACT "Partitions"): tickets spread over
 * N key spaces, each under a prefix with a hash tag of its own, so every
 * operation on a ticket stays in one slot while the partitions spread over a
 * Redis Cluster's masters.
 *
 * - Partition 0 is the deployment's prefix itself: one partition is the
 *   layout Lotse always had, and raising the count moves nothing.
 * - A ticket belongs to the partition of its Land for its whole life, and
 *   its id names it: `T…` in partition 0, `T…-<p>` in partition p. Any
 *   process finds a ticket without a lookup.
 * - Partition p's prefix is chosen once, when a process first uses the
 *   partition, and remembered in `<prefix>:partitions` (a hash p → prefix).
 *   On a cluster it is chosen so that its slot lies on the master holding
 *   the fewest partitions; later processes, and a raised count, keep it.
 */

/** The hash tag of a prefix, or the whole prefix when it has none (a single Redis needs none). */
function tagParts(prefix: string): { before: string; tag: string; after: string; braces: boolean } {
  const m = /^(.*?)\{([^{}]+)\}(.*)$/.exec(prefix);
  return m ? { before: m[1]!, tag: m[2]!, after: m[3]!, braces: true } : { before: '', tag: prefix, after: '', braces: false };
}

/** The i-th candidate prefix of partition p (p ≥ 1): the base's hash tag with `-p<p>` (and `-<i>` for i ≥ 1) in it. */
export function partitionPrefixCandidate(base: string, p: number, i: number): string {
  const { before, tag, after, braces } = tagParts(base);
  const own = `${tag}-p${p}${i > 0 ? `-${i}` : ''}`;
  return braces ? `${before}{${own}}${after}` : own;
}

/** What every partition's prefix (p ≥ 1) of a base starts with: `{lotse-p` for `{lotse}`; an ACL rule names it (src/queue/acl.ts). */
export function partitionPrefixStem(base: string): string {
  const { before, tag, braces } = tagParts(base);
  return braces ? `${before}{${tag}-p` : `${tag}-p`;
}

/** The slot a prefix's keys hash to. */
export const slotOfPrefix = (prefix: string): number => calculateSlot(`${prefix}:x`);

/** Which master serves each slot: the start, end and master's address of every range. */
async function slotMasters(redis: RedisClient): Promise<{ start: number; end: number; master: string }[]> {
  const ranges = await redis.cluster('SLOTS');
  return ranges.map(([start, end, ...nodes]) => ({ start, end, master: `${nodes[0]?.[0]}:${nodes[0]?.[1]}` }));
}

/**
 * The prefixes of partitions 0 … count-1: read from `<base>:partitions`,
 * choosing (and remembering, with HSETNX so concurrent starts agree) those
 * not chosen yet. On a cluster each new one goes to the master with the
 * fewest partitions; on a single Redis it is the first candidate.
 */
export async function resolvePartitionPrefixes(redis: RedisClient, base: string, count: number): Promise<string[]> {
  return (await resolvePartitions(redis, base, count)).prefixes;
}

/**
 * The partitions' prefixes, and the counts the deployment had before this
 * one (`counts` in `<base>:partitions`, each count as it was first used):
 * a raised count leaves a Land's earlier tickets, and their creations'
 * keys, in the partition of the count before.
 */
export async function resolvePartitions(redis: RedisClient, base: string, count: number): Promise<{ prefixes: string[]; earlierCounts: number[] }> {
  if (!Number.isInteger(count) || count < 1 || count > PARTITIONS_MAX) throw new Error(`partitions: between 1 and ${PARTITIONS_MAX}`);
  const registry = `${base}:partitions`;
  // One read where the count is 1 and always was (the hash does not exist).
  const known = await redis.hgetall(registry);
  const counts = (known.counts ?? '').split(',').filter(Boolean).map(Number);
  delete known.counts;
  // Tickets of a partition beyond the count would be found by nobody: the count is only ever raised.
  const beyond = Object.keys(known).map(Number).filter((p) => p >= count);
  if (beyond.length > 0) throw new Error(`partitions: this deployment has used ${Math.max(...beyond) + 1} partitions (${registry}); LOTSE_PARTITIONS cannot be lowered, only raised`);
  // A deployment with tickets and no record is one that ran with one partition (the layout before partitions).
  if (counts.length === 0 && count > 1 && (await redis.exists(`${base}:ix:all`)) === 1) counts.push(1);
  if (count === 1 && counts.length === 0 && Object.keys(known).length === 0) return { prefixes: [base], earlierCounts: [] };
  if (counts.at(-1) !== count) {
    counts.push(count);
    await redis.hset(registry, 'counts', counts.join(','));
  }
  const earlierCounts = [...new Set(counts.filter((c) => c !== count))];
  const prefixes = [base];
  const masters = redis instanceof Cluster ? await slotMasters(redis) : null;
  const masterOf = (prefix: string) => {
    const slot = slotOfPrefix(prefix);
    return masters?.find((r) => slot >= r.start && slot <= r.end)?.master ?? '';
  };
  for (let p = 1; p < count; p++) {
    let prefix = known[String(p)];
    if (!prefix) {
      prefix = partitionPrefixCandidate(base, p, 0);
      if (masters) {
        const load = new Map<string, number>();
        for (const r of masters) load.set(r.master, 0);
        for (const taken of prefixes) load.set(masterOf(taken), (load.get(masterOf(taken)) ?? 0) + 1);
        const fewest = Math.min(...load.values());
        for (let i = 0; i < 1000; i++) {
          const candidate = partitionPrefixCandidate(base, p, i);
          if (load.get(masterOf(candidate)) === fewest) {
            prefix = candidate;
            break;
          }
        }
      }
      await redis.hsetnx(registry, String(p), prefix);
      prefix = (await redis.hget(registry, String(p))) ?? prefix;
    }
    prefixes.push(prefix);
  }
  return { prefixes, earlierCounts };
}


/** The prefixes of the partitions a deployment has used besides its own (from `<base>:partitions`): what removing its keys must remove too. */
export async function knownPartitionPrefixes(redis: RedisClient, base: string): Promise<string[]> {
  const known = await redis.hgetall(`${base}:partitions`);
  return Object.entries(known).filter(([p]) => /^\d+$/.test(p)).map(([, prefix]) => prefix);
}
