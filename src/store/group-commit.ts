/**
 * Group commit: the commits asked for within one turn of the event loop
 * (the creations of the intake jobs a worker holds at the same moment, the
 * requests answered in one tick) go to Redis as one script call, COMMIT_MANY,
 * instead of one call each. Each commit is still checked and applied on its
 * own (its version, its idempotency key) and answers for itself; the group
 * saves the calls, their round trips and the socket writes, not the work.
 *
 * Bounded: a group holds at most `maxBatch` commits; a full one is sent at
 * once, the rest when the turn ends (setImmediate). A lone commit goes as
 * COMMIT, as before. Commits are grouped by the hash tag of their record's
 * key, since one script call must stay in one Redis Cluster slot; keys
 * without a tag (a single Redis) form one group.
 */

/** One commit's KEYS and ARGV, as COMMIT takes them (scripts.ts). */
export interface CommitCall {
  keys: (string | Buffer)[];
  args: (string | number | Buffer)[];
}

/** A commit's raw answer: COMMIT's, or COMMIT_MANY's {'ERR', message} for a commit that raised an error. */
export type CommitReply = [string, (string | number)?];

export interface GroupCommitDeps {
  /** One commit: COMMIT with these keys and arguments. */
  one(call: CommitCall): Promise<CommitReply>;
  /** Several: COMMIT_MANY, one answer per commit, in order. */
  many(calls: CommitCall[]): Promise<CommitReply[]>;
  /** The most commits in one call. */
  maxBatch: number;
}

/** The most commits one group may hold, whatever is asked: a script call stays short (Redis runs nothing else meanwhile). */
export const MAX_GROUP_COMMIT = 64;

interface Waiting {
  call: CommitCall;
  resolve(reply: CommitReply): void;
  reject(err: unknown): void;
}

/** The slot a key hashes to in Redis Cluster is decided by its `{tag}` when it has one. */
export function hashTagOf(key: string | Buffer): string {
  const text = typeof key === 'string' ? key : key.toString('latin1');
  const open = text.indexOf('{');
  if (open === -1) return '';
  const close = text.indexOf('}', open + 1);
  return close > open + 1 ? text.slice(open + 1, close) : '';
}

/** The flat arguments of COMMIT_MANY for a group. */
export function commitManyArgs(calls: readonly CommitCall[]): (string | number | Buffer)[] {
  const keys = calls.flatMap((c) => c.keys);
  const argv: (string | number | Buffer)[] = [calls.length];
  for (const c of calls) argv.push(c.keys.length, c.args.length, ...c.args);
  return [keys.length, ...keys, ...argv];
}

export function createGroupCommit(deps: GroupCommitDeps) {
  if (!Number.isInteger(deps.maxBatch) || deps.maxBatch < 1 || deps.maxBatch > MAX_GROUP_COMMIT) {
    throw new Error(`group commit: maxBatch must be an integer from 1 to ${MAX_GROUP_COMMIT}, got ${deps.maxBatch}`);
  }
  const groups = new Map<string, Waiting[]>();
  let scheduled = false;

  function send(group: Waiting[]): void {
    if (group.length === 1) {
      const [w] = group;
      deps.one(w!.call).then(w!.resolve, w!.reject);
      return;
    }
    deps.many(group.map((w) => w.call)).then(
      (replies) => group.forEach((w, i) => {
        const reply = replies[i];
        if (!reply) w.reject(new Error('group commit: no answer for this commit'));
        else if (reply[0] === 'ERR') w.reject(new Error(String(reply[1])));
        else w.resolve(reply);
      }),
      (err: unknown) => group.forEach((w) => w.reject(err)),
    );
  }

  function flush(): void {
    scheduled = false;
    const taken = [...groups.values()];
    groups.clear();
    for (const group of taken) send(group);
  }

  return {
    commit(call: CommitCall): Promise<CommitReply> {
      return new Promise<CommitReply>((resolve, reject) => {
        const tag = hashTagOf(call.keys[0] ?? '');
        const group = groups.get(tag);
        const waiting = { call, resolve, reject };
        if (!group) groups.set(tag, [waiting]);
        else group.push(waiting);
        if (group && group.length >= deps.maxBatch) {
          groups.delete(tag);
          send(group);
          return;
        }
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
