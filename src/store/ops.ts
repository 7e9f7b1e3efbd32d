/**
 * The writes a commit can carry besides the record itself: a small closed
 * list, applied in order inside the commit's one Lua script. Index sets,
 * read-model counters and the backlog's text index are all made of these.
 */
export type StoreOp =
  /** Add (or re-score) a member of a sorted set. Score 0 keeps a lexical listing index. */
  | { op: 'zadd'; key: string; member: string; score: number }
  | { op: 'zrem'; key: string; member: string }
  /** Keep a sorted set bounded: remove ranks start..stop (ZREMRANGEBYRANK), e.g. 0..-(cap+1) keeps the `cap` highest. */
  | { op: 'ztrim'; key: string; keep: number }
  | { op: 'hincrby'; key: string; field: string; by: number }
  /** Remove a field of a hash (an erasure drops a record's reporter). */
  | { op: 'hdel'; key: string; field: string }
  /** Rewrite one element of a list in place (an erasure rewrites history entries; index from 0). */
  | { op: 'lset'; key: string; index: number; value: string }
  /** Set a field of a hash only if it is not there (a handoff's pending correlation with a remote ticket). */
  | { op: 'hsetnx'; key: string; field: string; value: string }
  /** Append an entry `t <value>` to a stream capped at about `maxLen` (XADD MAXLEN ~): the recurring-problem window's feed. */
  | { op: 'xadd'; key: string; maxLen: number; value: string };

/**
 * The sorted sets a record enters (or is re-scored in) and leaves, given the
 * sets it was in and is in now with its score there: one pure diff for every
 * kind's index sets.
 */
export function membershipOps(was: ReadonlyMap<string, number>, is: ReadonlyMap<string, number>, member: string, keyOf: (name: string) => string): StoreOp[] {
  const ops: StoreOp[] = [];
  for (const [name, score] of is) if (was.get(name) !== score) ops.push({ op: 'zadd', key: keyOf(name), member, score });
  for (const name of was.keys()) if (!is.has(name)) ops.push({ op: 'zrem', key: keyOf(name), member });
  return ops;
}
