/**
 * The backlog's candidate index: which items of a service might say what a
 * new suggestion says, found without looking at every item.
 *
 * An inverted index. Each item is entered under a bounded set of its terms
 * (src/backlog/text.ts):
 * - its first INDEX_STEMS stems (text order: the subject comes first), as
 *   `<prefix>:bx:<service>:s:<stem>`;
 * - INDEX_GRAMS of its 4-grams, as `<prefix>:bx:<service>:g:<gram>`: the
 *   ones with the smallest hash (a bottom-k sketch, as in MinHash). Two texts
 *   that share most grams share most of their smallest-hash grams too, so
 *   compounds ("Wohngeldantrag" / "Antrag auf Wohngeld"), which share no
 *   stem, still meet in a posting; a text with few grams is entered under
 *   all of them.
 * A posting is a sorted set of item ids scored by the time the item was last
 * seen (created or suggested again), capped at POSTING_CAP: every write
 * trims it, so no posting grows without a bound, and a term every item has
 * ("antrag") keeps only the items seen last. Stale entries (an item whose
 * terms changed under an older version of the analysis) age out the same way.
 *
 * Memory: at most INDEX_STEMS + INDEX_GRAMS entries per item (an empty
 * posting is deleted by Redis); measured about 0.8–1.4 KB per item.
 *
 * A lookup reads at most INDEX_STEMS + INDEX_GRAMS postings, each at most
 * `perPosting` deep (newest first), in one pipeline, and ranks the ids by
 * how many of the postings hold them, weighing a hit by
 * 1 / log2(2 + ids read from that posting) (a rare term says more, as in
 * IDF): its cost depends on the text, not on the number of items. The
 * caller then compares the few candidates' stored Analysed forms with
 * compareTexts.
 *
 * Writes are StoreOp lists (ops.ts), so they go into the engine's one atomic
 * commit beside the item's record.
 */
import type { RedisClient } from './redis-client.js';
import type { Analysed } from '../backlog/text.js';
import type { StoreOp } from './ops.js';

/** Items kept per posting: the ones seen last. */
export const POSTING_CAP = 200;
/** Stems an item is entered under. */
export const INDEX_STEMS = 16;
/** Grams an item is entered under (the smallest by hash). */
export const INDEX_GRAMS = 24;
/** The most postings one lookup reads. */
export const MAX_POSTINGS_PER_LOOKUP = INDEX_STEMS + INDEX_GRAMS;
export const DEFAULT_CANDIDATES = 20;
export const MAX_CANDIDATES = 100;
/** How deep a lookup reads each posting (newest first): the cost of a lookup is at most MAX_POSTINGS_PER_LOOKUP × this. */
export const DEFAULT_PER_POSTING = 50;

export interface Candidate {
  itemId: string;
  /** How many of the looked-up postings hold the item. */
  hits: number;
}

/** FNV-1a, 32 bits: a fixed, fast hash, so every process picks the same grams. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The grams of a text with the smallest hashes (ties by the gram itself). */
function sketchOf(grams: readonly string[]): string[] {
  return [...new Set(grams)]
    .map((gram) => ({ gram, hash: hashOf(gram) }))
    .sort((a, b) => a.hash - b.hash || (a.gram < b.gram ? -1 : a.gram > b.gram ? 1 : 0))
    .slice(0, INDEX_GRAMS)
    .map((g) => g.gram);
}

/** The index terms of a text: `s:<stem>` and `g:<gram>`. */
export function backlogIndexTerms(analysed: Analysed): string[] {
  const stems = [...new Set(analysed.stems)].slice(0, INDEX_STEMS).map((s) => `s:${s}`);
  return [...stems, ...sketchOf(analysed.grams).map((g) => `g:${g}`)];
}

export const backlogPostingKey = (prefix: string, service: string, term: string) => `${prefix}:bx:${service}:${term}`;

/** The posting keys an item with this text is in. */
export function backlogIndexKeys(prefix: string, service: string, analysed: Analysed): string[] {
  return backlogIndexTerms(analysed).map((term) => backlogPostingKey(prefix, service, term));
}

/**
 * The writes that move an item from the postings of `before` to those of
 * `after` (null: not in the index), all of `after`'s re-scored to `at` and
 * trimmed to the cap.
 */
export function backlogIndexOps(prefix: string, service: string, itemId: string, before: Analysed | null, after: Analysed | null, at: number): StoreOp[] {
  if (!Number.isFinite(at)) throw new RangeError(`backlog index: at must be a finite time, got ${at}`);
  const entered = after ? backlogIndexKeys(prefix, service, after) : [];
  const kept = new Set(entered);
  const ops: StoreOp[] = [];
  for (const key of before ? backlogIndexKeys(prefix, service, before) : []) {
    if (!kept.has(key)) ops.push({ op: 'zrem', key, member: itemId });
  }
  for (const key of entered) {
    ops.push({ op: 'zadd', key, member: itemId, score: at });
    ops.push({ op: 'ztrim', key, keep: POSTING_CAP });
  }
  return ops;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.floor(n)));

/**
 * The items of a service most likely to match a text: those in the most of
 * its postings, a hit in a short (rare) posting counting more than one in a
 * long one; then the ones seen last (nearest a posting's head). Reads at most MAX_POSTINGS_PER_LOOKUP
 * postings, `perPosting` ids deep each.
 */
export async function findCandidates(
  redis: RedisClient,
  prefix: string,
  service: string,
  analysed: Analysed,
  opts: { limit?: number; perPosting?: number } = {},
): Promise<Candidate[]> {
  const keys = backlogIndexKeys(prefix, service, analysed);
  if (keys.length === 0) return [];
  const limit = clamp(opts.limit ?? DEFAULT_CANDIDATES, 1, MAX_CANDIDATES);
  const perPosting = clamp(opts.perPosting ?? DEFAULT_PER_POSTING, 1, POSTING_CAP);
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.zrevrange(key, 0, perPosting - 1);
  const results = (await pipeline.exec()) ?? [];
  const seen = new Map<string, { hits: number; weight: number; rank: number }>();
  for (const [err, reply] of results) {
    if (err) throw err;
    const ids = reply as string[];
    // A rare term says more than one every item has (as IDF does): a hit weighs less the longer its posting.
    const weight = 1 / Math.log2(2 + ids.length);
    for (const [rank, id] of ids.entries()) {
      const entry = seen.get(id);
      if (entry) {
        entry.hits++;
        entry.weight += weight;
        entry.rank = Math.min(entry.rank, rank);
      } else seen.set(id, { hits: 1, weight, rank });
    }
  }
  // Ties go to the item seen last: the one nearest the head of some posting (newest first).
  return [...seen]
    .sort(([idA, a], [idB, b]) => b.weight - a.weight || a.rank - b.rank || (idA < idB ? -1 : idA > idB ? 1 : 0))
    .slice(0, limit)
    .map(([itemId, { hits }]) => ({ itemId, hits }));
}

/** The candidate lookup bound to a client and a prefix: what the backlog feed is given. */
export type CandidateFinder = (service: string, analysed: Analysed) => Promise<Candidate[]>;

export const makeCandidateFinder = (redis: RedisClient, prefix: string): CandidateFinder => (service, analysed) => findCandidates(redis, prefix, service, analysed);
