import type { RedisClient } from '../queue/connections.js';
import { COMMIT, LIST_PAGE } from './scripts.js';
import type { Keys } from './keys.js';
import { decodeTicketDoc, encodeTicketDoc } from './ticket-codec.js';

/** A ticket as it lies in Redis: the machine snapshot plus the facts that never change. */
export interface StoredTicket {
  id: string;
  version: number;
  machineVersion: number;
  snapshot: unknown;
  data: unknown;
  reporter: unknown;
  updatedAt: number;
}

export interface IndexOp {
  key: string;
  /** 'a' adds to a lexical index, 'r' removes, a number adds with that score. */
  op: 'a' | 'r' | number;
}

export interface CommitRequest {
  id: string;
  expectedVersion: number;
  version: number;
  snapshot: unknown;
  machineVersion: number;
  updatedAt: number;
  /** The facts that never change (rewritten with every commit: they are small). */
  data: unknown;
  /** Written only on creation. */
  reporter?: unknown;
  history: unknown;
  effects: unknown[];
  indexOps: IndexOp[];
  /** A creation's record lives as long as the ticket; an event's for `ttlSeconds`. */
  idempotency?: { key: string; record: string; fingerprint: string; ttlSeconds?: number };
}

export type CommitResult =
  | { status: 'ok' }
  | { status: 'stale'; currentVersion: number }
  | { status: 'idempotent'; record: string };

type CommitFn = (...args: (string | number | Buffer)[]) => Promise<[string, (string | number)?]>;
type ListFn = (...args: (string | number)[]) => Promise<string[]>;

export interface TicketStore {
  load(id: string): Promise<StoredTicket | null>;
  loadMany(ids: string[]): Promise<StoredTicket[]>;
  commit(request: CommitRequest): Promise<CommitResult>;
  history(id: string): Promise<unknown[]>;
  listPage(indexKeys: string[], cursor: string, limit: number, budget?: number): Promise<{ ids: string[]; next: string }>;
}

/** A ticket's hash: `v` its version, `d` its document (see ticket-codec), `r` the reporter's personal data. */
const FIELDS = ['v', 'd', 'r'] as const;

interface TicketDoc {
  mv: number;
  upd: number;
  data: unknown;
  snap: unknown;
}

function parseStored(id: string, values: (Buffer | null)[]): StoredTicket | null {
  const [v, d, r] = values;
  if (v == null || d == null) return null;
  const doc = decodeTicketDoc(d) as TicketDoc;
  return {
    id,
    version: Number(v.toString()),
    machineVersion: doc.mv,
    snapshot: doc.snap,
    data: doc.data,
    reporter: r ? JSON.parse(r.toString('utf8')) : null,
    updatedAt: doc.upd,
  };
}

export function createTicketStore(redis: RedisClient, keys: Keys): TicketStore {
  redis.defineCommand('lotseCommit', { lua: COMMIT });
  redis.defineCommand('lotseListPage', { lua: LIST_PAGE });
  const commitFn = (redis as unknown as { lotseCommit: CommitFn }).lotseCommit.bind(redis);
  const listFn = (redis as unknown as { lotseListPage: ListFn }).lotseListPage.bind(redis);

  return {
    async load(id) {
      return parseStored(id, await redis.hmgetBuffer(keys.ticket(id), ...FIELDS));
    },

    async loadMany(ids) {
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmgetBuffer(keys.ticket(id), ...FIELDS);
      const results = (await pipeline.exec()) ?? [];
      return results.flatMap(([err, values], i) => {
        if (err) throw err;
        const stored = parseStored(ids[i]!, values as (Buffer | null)[]);
        return stored ? [stored] : [];
      });
    },

    async commit(r) {
      const doc: TicketDoc = { mv: r.machineVersion, upd: r.updatedAt, data: r.data, snap: r.snapshot };
      const fields: (string | Buffer)[] = ['d', encodeTicketDoc(doc)];
      if (r.reporter !== undefined && r.reporter !== null) fields.push('r', JSON.stringify(r.reporter));
      const idem = r.idempotency;
      const args: (string | number | Buffer)[] = [
        4 + r.indexOps.length,
        keys.ticket(r.id),
        keys.history(r.id),
        keys.outbox,
        idem ? idem.key : keys.ticket(r.id),
        ...r.indexOps.map((o) => o.key),
        r.expectedVersion,
        r.version,
        r.id,
        JSON.stringify(r.history),
        r.effects.length > 0 ? JSON.stringify(r.effects) : '',
        idem ? idem.record : '',
        idem ? idem.fingerprint : '',
        idem?.ttlSeconds ?? '',
        fields.length,
        ...fields,
        ...r.indexOps.map((o) => String(o.op)),
      ];
      const [status, detail] = await commitFn(...args);
      if (status === 'OK') return { status: 'ok' };
      if (status === 'STALE') return { status: 'stale', currentVersion: Number(detail) };
      return { status: 'idempotent', record: String(detail) };
    },

    async history(id) {
      return (await redis.lrange(keys.history(id), 0, -1)).map((e) => JSON.parse(e) as unknown);
    },

    async listPage(indexKeys, cursor, limit, budget = Math.max(1000, limit * 20)) {
      const [next, ...ids] = await listFn(indexKeys.length, ...indexKeys, cursor, limit, budget);
      return { ids, next: next ?? '' };
    },
  };
}
