import { Redis } from 'ioredis';
import type { Principal } from '../src/domain/access.js';
import { LAND_CODES } from '../src/domain/ids.js';
import type { Topology } from '../src/domain/topology.js';
import { idempotencyDigest } from '../src/engine/idempotency-keys.js';
import { createTicketEngine, newTicketId } from '../src/engine/ticket/index.js';
import { createLogger } from '../src/logger.js';
import type { Runtime } from '../src/runtime.js';
import { createIdempotencyStore } from '../src/store/idempotency.js';
import { makeKeys } from '../src/store/keys.js';
import { createTicketStore, type CommitRequest } from '../src/store/ticket-store.js';
import { benchBody } from './body.js';

/**
 * Many open tickets, fast: a few dozen template tickets go through the real
 * engine (creation and events, each one commit); every commit request the
 * engine hands the store is kept, and each further ticket is those requests
 * again with a new id and reference, sent to the same store's `commit` (the
 * one Lua COMMIT, with its index, counter and history writes). Only the
 * effects are left out (no outbox entry, so no timer jobs and no published
 * events): what the counts read, the index sets, is written as the engine
 * writes it.
 */

const SERVICES = ['elfe', 'uvo', 'vms', 'ehe', 'lieferantencockpit', 'pq-portal', 'datenservice-einkauf'] as const;
const LEVELS = [['low', 'low'], ['medium', 'low'], ['medium', 'medium'], ['high', 'medium'], ['high', 'high']] as const;
/** What happens to a template after its creation: open tickets, most at their first level, some waiting or handed on. */
const PATHS: { type: string; [k: string]: unknown }[][] = [
  [],
  [],
  [{ type: 'ACCEPT' }],
  [{ type: 'ACCEPT' }],
  [{ type: 'ACCEPT' }, { type: 'REQUEST_INFO', question: 'Welche Version verwenden Sie?' }],
  [{ type: 'ACCEPT' }, { type: 'ESCALATE', reason: 'Fehler im Verfahren, bitte prüfen.' }],
];

export interface Template {
  id: string;
  ref: string;
  idemKey: string;
  /** Each commit of the template, without its effects. */
  commits: CommitRequest[];
}

const REF_WIDTH = 9;
const ref = (tag: string, i: number) => `${tag}${String(i).padStart(REF_WIDTH, '0')}`;

export interface TicketLoader {
  templates: number;
  /** Adds `n` more tickets; resolves when every commit answered OK. */
  load(n: number): Promise<void>;
}

/** Templates through the real engine: creations and events, each commit request kept as JSON text (effects left out). */
async function makeTemplates(runtime: Runtime, redis: Redis, topology: Topology, templates: number): Promise<Template[]> {
  const { keys } = runtime;
  const store = createTicketStore(redis, keys);
  const seen: CommitRequest[] = [];
  const recording = { ...store, commit: async (r: CommitRequest) => (seen.push(structuredClone(r)), store.commit(r)) };
  const engine = createTicketEngine({
    topology,
    store: recording,
    idempotency: createIdempotencyStore(redis, keys),
    keys,
    now: Date.now,
    newId: newTicketId,
    source: `urn:lotse:${keys.prefix}`,
    logger: createLogger('silent'),
  });
  const made: Template[] = [];
  for (let t = 0; t < templates; t++) {
    const land = LAND_CODES[t % LAND_CODES.length]!;
    const service = SERVICES[t % SERVICES.length]!;
    const [impact, urgency] = LEVELS[t % LEVELS.length]!;
    const desk: Principal = { orgId: `desk-${land}`, role: 'desk', land };
    seen.length = 0;
    const tplRef = ref('tpl', t);
    const { record } = await engine.createParsedTicket(desk, benchBody(tplRef, { land, service, impact, urgency }), { reserve: false });
    for (const event of PATHS[t % PATHS.length]!) {
      const current = await engine.getTicket({ orgId: 'ops', role: 'operator' }, record.id);
      // The holder moves its ticket; the Land's desk closes it once resolved.
      const holder = event.type === 'CLOSE' ? desk : runtime.principals.authenticate(`dev-${current.state.context.assignee}`);
      if (!holder) throw new Error(`no development key for ${current.state.context.assignee}`);
      await engine.applyEvent(holder, record.id, event);
    }
    const idemKey = keys.idempotency(desk.orgId, idempotencyDigest(tplRef));
    const tpl: Template = { id: record.id, ref: tplRef, idemKey, commits: seen.map((r) => ({ ...r, effects: [] })) };
    checkClone(tpl);
    made.push(tpl);
  }
  return made;
}

/** Commit fields cloneRequest fills itself; any other field holding the template's id, reference or key is rewritten as JSON text. */
const FILLED = new Set(['id', 'state', 'data', 'ops', 'idempotency']);

/**
 * A template's commit for another ticket: its id, reference and idempotency
 * key put where the template's stand. Field by field (a JSON round trip of
 * the whole request per commit would cost more than the commit); the few
 * other fields that hold one of them (`origin`, the creation's key) go
 * through JSON. checkClone proves it misses nothing.
 */
function cloneRequest(tpl: Template, r: CommitRequest, id: string, cloneRef: string, idemKey: string): CommitRequest {
  const state = r.state as { value: unknown; context: { id: string } };
  const out: Record<string, unknown> = {
    ...r,
    id,
    state: { ...state, context: { ...state.context, id } },
    data: { ...(r.data as object), externalRef: cloneRef },
    ops: r.ops.map((o) => ('member' in o && o.member === tpl.id ? { ...o, member: id } : o)),
    ...(r.idempotency ? { idempotency: { ...r.idempotency, key: idemKey, record: r.idempotency.record.replaceAll(tpl.id, id) } } : {}),
  };
  for (const [k, v] of Object.entries(r)) {
    if (FILLED.has(k) || v === null || typeof v !== 'object') continue;
    const text = JSON.stringify(v);
    if (text.includes(tpl.id) || text.includes(tpl.ref) || text.includes(tpl.idemKey)) {
      out[k] = JSON.parse(text.replaceAll(tpl.id, id).replaceAll(tpl.ref, cloneRef).replaceAll(tpl.idemKey, idemKey)) as unknown;
    }
  }
  return out as unknown as CommitRequest;
}

/** Every place the template's id, reference and key occur is one cloneRequest fills: the same as replacing them in its JSON text. */
function checkClone(tpl: Template) {
  const [id, cloneRef, idemKey] = ['TCHECK00000000000000', ref('chk', 1), 'check:idem:key'];
  for (const r of tpl.commits) {
    const want = JSON.stringify(r).replaceAll(tpl.id, id).replaceAll(tpl.ref, cloneRef).replaceAll(tpl.idemKey, idemKey);
    const got = JSON.stringify(cloneRequest(tpl, r, id, cloneRef, idemKey));
    if (got !== want) throw new Error(`ticket loader: a commit of ${tpl.id} holds its id where cloneRequest does not look:\n${got}\n${want}`);
  }
}

/** Tickets `from`..`to`-1 as clones of the templates, `width` at a time, through the store's commit. */
async function cloneTickets(url: string, prefix: string, made: Template[], from: number, to: number, width = 64): Promise<void> {
  // Autopipelining: the clones' commits go out in batches, one socket write for many.
  const redis = new Redis(url, { enableAutoPipelining: true });
  const keys = makeKeys(prefix);
  const store = createTicketStore(redis, keys);
  async function cloneOne(i: number) {
    const tpl = made[i % made.length]!;
    const id = newTicketId(Date.now());
    const cloneRef = ref('ld-', i);
    const orgId = tpl.idemKey.split(':').at(-2)!;
    const idemKey = keys.idempotency(orgId, idempotencyDigest(cloneRef));
    for (const r of tpl.commits) {
      const result = await store.commit(cloneRequest(tpl, r, id, cloneRef, idemKey));
      if (result.status !== 'ok') throw new Error(`loader: commit of ${id} answered ${result.status}`);
    }
  }
  let next = from;
  try {
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < to) await cloneOne(next++);
    }));
  } finally {
    redis.disconnect();
  }
}

/** The loader: templates made through the engine here, then clones in the same process (a second process gained nothing on 2 cores). */
export async function createTicketLoader(runtime: Runtime, url: string, topology: Topology, o: { templates?: number } = {}): Promise<TicketLoader> {
  const redis = new Redis(url);
  const made = await makeTemplates(runtime, redis, topology, o.templates ?? 60).finally(() => redis.disconnect());
  let next = 0;
  return {
    templates: made.length,
    async load(n) {
      const from = next;
      next += n;
      await cloneTickets(url, runtime.keys.prefix, made, from, from + n);
    },
  };
}
