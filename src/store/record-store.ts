import type { RedisClient } from './redis-client.js';
import type { StoreOp } from './ops.js';
import { createGroupCommit, commitManyArgs, type CommitCall, type CommitReply } from './group-commit.js';
import { COMMIT, COMMIT_MANY, LIST_PAGE } from './scripts.js';

/**
 * Records that change only through a machine (tickets, backlog items) lie in
 * Redis the same way: a hash with `v` the version, `d` the document (machine
 * snapshot and facts, encoded by the kind's codec) and, for tickets, `r` the
 * reporter's personal data kept apart; a list of history entries beside it.
 */
export interface StoredRecord {
  id: string;
  version: number;
  machineVersion: number;
  /** The machine's persisted state (value and context): what `resolveState` takes. */
  state: unknown;
  data: unknown;
  reporter: unknown;
  /** Where the record came from, written once at creation (its idempotency key, its intake job): what an erasure must find. */
  origin: unknown;
  updatedAt: number;
}

/** Where a kind's records lie and how their documents are encoded. */
export interface RecordLayout {
  record(id: string): string;
  history(id: string): string;
  outbox: string;
  /**
   * The events stream and its max length, for a kind whose changes with no
   * effect but stream events (and removals of delayed jobs) the commit
   * carries out itself while nothing of the record is left in the outbox
   * (scripts.ts, COMMIT); without it every effect goes through the outbox.
   */
  events?: { key: string; maxLen: number };
  encode(doc: RecordDoc): Buffer;
  decode(stored: Buffer): RecordDoc;
}

export interface RecordDoc {
  mv: number;
  upd: number;
  data: unknown;
  /** The record's `state`; `snap` is its name in documents already written, kept so they still decode. */
  snap: unknown;
}

export interface CommitRequest {
  id: string;
  expectedVersion: number;
  version: number;
  state: unknown;
  machineVersion: number;
  updatedAt: number;
  /** The facts that never change (rewritten with every commit: they are small). */
  data: unknown;
  /** Written only on creation. */
  reporter?: unknown;
  /** Written only on creation: see StoredRecord.origin. */
  origin?: unknown;
  history: unknown;
  effects: unknown[];
  /** Index entries, read-model counters, text index: applied in order in the same script. */
  ops: StoreOp[];
  /** A creation's record lives as long as the ticket; an event's for `ttlSeconds`. */
  idempotency?: { key: string; record: string; fingerprint: string; ttlSeconds?: number };
  /**
   * Effects (by id) the commit may carry out itself, as the removal of a
   * delayed BullMQ job (a ticket's timer cancelled): done by the commit when
   * it publishes the change's events itself, else left to the relay like
   * any other effect.
   */
  delayedJobs?: DelayedJobRemoval[];
}

/** A delayed BullMQ job to remove while it is still delayed: its queue's delayed set, the job's keys (its hash first, six in all) and id. */
export interface DelayedJobRemoval {
  effectId: string;
  delayedKey: string;
  jobKeys: readonly string[];
  jobId: string;
}

export type CommitResult =
  | { status: 'ok' }
  | { status: 'stale'; currentVersion: number }
  | { status: 'idempotent'; record: string };

type CommitFn = (...args: (string | number | Buffer)[]) => Promise<CommitReply>;
type CommitManyFn = (...args: (string | number | Buffer)[]) => Promise<CommitReply[]>;
type ListFn = (...args: (string | number)[]) => Promise<string[]>;

export interface RecordStore {
  load(id: string): Promise<StoredRecord | null>;
  /** The record's version alone (null when there is none): one small read, to tell whether a record in hand is the latest. */
  version(id: string): Promise<number | null>;
  /**
   * How often this store's connection was lost so far (a restart, a failover):
   * a record kept from before may be gone from Redis, and the version it had
   * may since name another record's state, so a version read proves nothing of it.
   */
  connectionEpoch(): number;
  loadMany(ids: string[]): Promise<StoredRecord[]>;
  commit(request: CommitRequest): Promise<CommitResult>;
  history(id: string): Promise<unknown[]>;
  /** The history entry of one version (entries are one per version, from 1). */
  historyEntry(id: string, version: number): Promise<unknown>;
  /** The last `n` history entries, oldest first. */
  historyTail(id: string, n: number): Promise<unknown[]>;
  /** The number of history entries: what a bound on them counts. */
  historyLength(id: string): Promise<number>;
  listPage(indexKeys: string[], cursor: string, limit: number, budget?: number): Promise<{ ids: string[]; next: string }>;
}

const FIELDS = ['v', 'd', 'r', 'o'] as const;

/** A StoreOp as the COMMIT script reads it: a code and two arguments. */
function opArgs(op: StoreOp): [string, string | number, string | number] {
  switch (op.op) {
    case 'zadd': return ['z', op.member, op.score];
    case 'zrem': return ['r', op.member, ''];
    case 'ztrim': return ['t', op.keep, ''];
    case 'hincrby': return ['h', op.field, op.by];
    case 'hdel': return ['d', op.field, ''];
    case 'lset': return ['l', op.index, op.value];
    case 'hsetnx': return ['n', op.field, op.value];
    case 'xadd': return ['x', op.maxLen, op.value];
  }
}

/**
 * What the commit may carry out itself: the events of a change whose effects
 * are all stream events (`publish`) or delayed jobs to remove, and those
 * removals; none when any other effect is asked for (the relay runs it, and
 * publishes the events after it), or when there is no event at all.
 */
function doneByCommit(effects: readonly unknown[], delayedJobs: readonly DelayedJobRemoval[]): { events: { id: string; subject: string }[]; removals: DelayedJobRemoval[] } {
  const none = { events: [], removals: [] };
  const events: { id: string; subject: string }[] = [];
  const removals: DelayedJobRemoval[] = [];
  for (const effect of effects) {
    const e = effect as { id?: unknown; kind?: unknown; event?: { id?: unknown; subject?: unknown } };
    const removal = delayedJobs.find((d) => d.effectId === e.id);
    if (removal) removals.push(removal);
    else if (e.kind === 'publish' && typeof e.event?.id === 'string' && typeof e.event.subject === 'string') events.push(e.event as { id: string; subject: string });
    else return none;
  }
  for (const r of removals) if (r.jobKeys.length !== 6) throw new Error(`a delayed job's removal names ${r.jobKeys.length} keys, not its six`);
  return events.length > 0 ? { events, removals } : none;
}

/** A commit request as COMMIT's KEYS and ARGV (scripts.ts). */
export function commitCall(layout: RecordLayout, r: CommitRequest): CommitCall {
  const fields: (string | Buffer)[] = ['d', layout.encode({ mv: r.machineVersion, upd: r.updatedAt, data: r.data, snap: r.state })];
  if (r.reporter !== undefined && r.reporter !== null) fields.push('r', JSON.stringify(r.reporter));
  if (r.origin !== undefined && r.origin !== null) fields.push('o', JSON.stringify(r.origin));
  const idem = r.idempotency;
  const { events: direct, removals } = layout.events ? doneByCommit(r.effects, r.delayedJobs ?? []) : { events: [], removals: [] };
  const keys = [
    layout.record(r.id),
    layout.history(r.id),
    layout.outbox,
    idem ? idem.key : layout.record(r.id),
    layout.events?.key ?? layout.outbox,
    ...removals.flatMap((d) => [d.delayedKey, ...d.jobKeys]),
    ...r.ops.map((o) => o.key),
  ];
  const args: (string | number | Buffer)[] = [
    r.expectedVersion,
    r.version,
    r.id,
    JSON.stringify(r.history),
    r.effects.length > 0 ? JSON.stringify(r.effects) : '',
    idem ? idem.record : '',
    idem ? idem.fingerprint : '',
    idem?.ttlSeconds ?? '',
    layout.events?.maxLen ?? '',
    direct.length,
    ...direct.flatMap((e) => [e.id, e.subject, JSON.stringify(e)]),
    removals.length,
    ...removals.map((d) => d.jobId),
    fields.length,
    ...fields,
    ...r.ops.flatMap(opArgs),
  ];
  return { keys, args };
}

const epochs = new WeakMap<RedisClient, { n: number }>();

/** The connection epoch of a client (RecordStore.connectionEpoch): counted once per client, however many stores share it. */
function epochOf(redis: RedisClient): { n: number } {
  let epoch = epochs.get(redis);
  if (!epoch) {
    const e = { n: 0 };
    const lost = () => void e.n++;
    // A single Redis says it lost its connection with close and reconnecting; a cluster client says so of a node too.
    for (const event of ['close', 'reconnecting', '-node', 'node error']) redis.on(event, lost);
    epochs.set(redis, (epoch = e));
  }
  return epoch;
}

/** Commits asked for in one turn of the event loop go as one script call, at most this many (group-commit.ts). */
export const GROUP_COMMIT_MAX = 32;

export function createRecordStore(redis: RedisClient, layout: RecordLayout, o: { maxBatch?: number } = {}): RecordStore {
  // defineCommand is per connection and idempotent: every kind's store shares the scripts.
  redis.defineCommand('lotseCommit', { lua: COMMIT });
  redis.defineCommand('lotseCommitMany', { lua: COMMIT_MANY });
  redis.defineCommand('lotseListPage', { lua: LIST_PAGE });
  const commitFn = (redis as unknown as { lotseCommit: CommitFn }).lotseCommit.bind(redis);
  const commitManyFn = (redis as unknown as { lotseCommitMany: CommitManyFn }).lotseCommitMany.bind(redis);
  const group = createGroupCommit({
    one: (call) => commitFn(call.keys.length, ...call.keys, ...call.args),
    many: (calls) => commitManyFn(...commitManyArgs(calls)),
    maxBatch: o.maxBatch ?? GROUP_COMMIT_MAX,
  });
  const listFn = (redis as unknown as { lotseListPage: ListFn }).lotseListPage.bind(redis);
  const epoch = epochOf(redis);

  function parseStored(id: string, values: (Buffer | null)[]): StoredRecord | null {
    const [v, d, r, o] = values;
    if (v == null || d == null) return null;
    const doc = layout.decode(d);
    return {
      id,
      version: Number(v.toString()),
      machineVersion: doc.mv,
      state: doc.snap,
      data: doc.data,
      reporter: r ? JSON.parse(r.toString('utf8')) : null,
      origin: o ? JSON.parse(o.toString('utf8')) : null,
      updatedAt: doc.upd,
    };
  }

  return {
    async load(id) {
      return parseStored(id, await redis.hmgetBuffer(layout.record(id), ...FIELDS));
    },

    async version(id) {
      const v = await redis.hget(layout.record(id), 'v');
      return v === null ? null : Number(v);
    },

    connectionEpoch: () => epoch.n,

    async loadMany(ids) {
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmgetBuffer(layout.record(id), ...FIELDS);
      const results = (await pipeline.exec()) ?? [];
      return results.flatMap(([err, values], i) => {
        if (err) throw err;
        const stored = parseStored(ids[i]!, values as (Buffer | null)[]);
        return stored ? [stored] : [];
      });
    },

    async commit(r) {
      const [status, detail] = await group.commit(commitCall(layout, r));
      if (status === 'OK') return { status: 'ok' };
      if (status === 'STALE') return { status: 'stale', currentVersion: Number(detail) };
      return { status: 'idempotent', record: String(detail) };
    },

    async history(id) {
      return (await redis.lrange(layout.history(id), 0, -1)).map((e) => JSON.parse(e) as unknown);
    },

    async historyEntry(id, version) {
      const raw = await redis.lindex(layout.history(id), version - 1);
      return raw === null ? null : (JSON.parse(raw) as unknown);
    },

    async historyTail(id, n) {
      return (await redis.lrange(layout.history(id), -n, -1)).map((e) => JSON.parse(e) as unknown);
    },

    historyLength: (id) => redis.llen(layout.history(id)),

    async listPage(indexKeys, cursor, limit, budget = Math.max(1000, limit * 20)) {
      const [next, ...ids] = await listFn(indexKeys.length, ...indexKeys, cursor, limit, budget);
      return { ids, next: next ?? '' };
    },
  };
}
