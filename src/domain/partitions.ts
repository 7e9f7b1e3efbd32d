import { LAND_CODES } from './ids.js';

/**
 * Partitions (LOTSE_PARTITIONS, CONTRACT "Partitions"): which partition a
 * ticket belongs to, told by its Land when it is made and by its id ever
 * after. src/store/partitions.ts says where each partition's keys are.
 */

/** At most this many partitions: each costs its workers' connections and a read per list page. */
export const PARTITIONS_MAX = 64;

const ID_SUFFIX = /-([1-9][0-9]?)$/;

/** The partition a ticket id names: its `-<p>` suffix, or 0 for an id without one. */
export function partitionOfId(id: string): number {
  const m = ID_SUFFIX.exec(id);
  return m ? Number(m[1]) : 0;
}

/** A new ticket's id in partition p: the id as it is in partition 0, with `-<p>` after it elsewhere. */
export const idInPartition = (id: string, p: number): string => (p === 0 ? id : `${id}-${p}`);

/** The partition of a Land: its place in the fixed order of the Länder, modulo the count; so a Land's tickets, lists and timers stay together. */
export function partitionOfLand(land: string, count: number): number {
  const at = (LAND_CODES as readonly string[]).indexOf(land);
  return at < 0 || count <= 1 ? 0 : at % count;
}

/**
 * The partition of a service's backlog (its items, listing and text index,
 * its recurring-problem window): FNV-1a of the service id, finished with
 * murmur3's fmix32 (FNV-1a alone spreads short ids poorly modulo a small
 * count: six of the default topology's seven services in one of three),
 * modulo the count; so it does not move when the topology gains or loses a
 * service.
 */
export function partitionOfService(service: string, count: number): number {
  if (count <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) % count;
}

/** Where a deployment's partitions are: their prefixes, and which partition a Land and a ticket id belong to. */
export interface PartitionLayout {
  count: number;
  prefixes: readonly string[];
  ofLand(land: string): number;
  /** The partition of a service's backlog. */
  ofService(service: string): number;
  /** The partition a ticket's or backlog item's id names. */
  ofId(id: string): number;
  /** The counts this deployment had before this one, oldest first (raised since): where a Land's earlier creations are. */
  earlierCounts: readonly number[];
}

export function makeLayout(prefixes: readonly string[], earlierCounts: readonly number[] = []): PartitionLayout {
  const count = prefixes.length;
  return {
    count,
    prefixes,
    earlierCounts,
    ofLand: (land) => partitionOfLand(land, count),
    ofService: (service) => partitionOfService(service, count),
    // An id naming a partition this deployment does not have is looked for in partition 0, where it is not found.
    ofId: (id) => {
      const p = partitionOfId(id);
      return p < count ? p : 0;
    },
  };
}

/**
 * Encodes the positions of a partitioned stream as one `Last-Event-ID`:
 * with one partition the stream entry id itself, else each partition's joined by `_`.
 */
export const encodePositions = (ids: readonly string[]): string => ids.join('_');

/** The positions an id names, one per partition; missing ones are the start (`0-0`): a client from before a raised count gets what the new partitions hold. */
export function decodePositions(id: string, count: number): string[] {
  const parts = id.split('_');
  return Array.from({ length: count }, (_, i) => parts[i] ?? '0-0');
}
