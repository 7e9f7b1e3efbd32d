import type { Actor } from '../../machines/ticket.policy.js';
import type { Principal } from '../domain/access.js';
import { AppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import { doneRecord, type IdempotencyStore } from '../store/idempotency.js';
import type { StoreOp } from '../store/ops.js';
import type { CommitResult, RecordStore, StoredRecord } from '../store/record-store.js';
import { EVENT_IDEMPOTENCY_TTL_S } from './idempotency-keys.js';

/**
 * The one path of change, for any record whose life is an XState machine
 * (tickets, backlog items): load → pure transition → one atomic commit
 * (document, version, history entry, store operations, outbox) → effects
 * carried out by the relay. A kind hands in what differs: its machine, its
 * store (layout and codec), who reaches a record, its history entries, and
 * the effects and store operations a change derives.
 */

export interface MachineRecord {
  id: string;
  version: number;
  updatedAt: number;
  state: { value: unknown; context: unknown };
}

export interface MachineAction {
  type: string;
  params?: unknown;
}

/** An event as the machine gets it: what the caller sent, plus when and who. */
export type MachineEvent<P extends { type: string }> = P & { at: number; actor: Actor };

export interface Snapshot<E> {
  can(event: E): boolean;
}

/** What a change derives besides the record itself. */
export interface ChangePlan {
  effects: unknown[];
  ops: StoreOp[];
}

export interface Change<R, H> {
  before: R | null;
  after: R;
  entry: H;
  actions: readonly MachineAction[];
  actor: Actor;
}

export interface MachineKind<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H> {
  /** `ticket`, `backlog item`: for messages. */
  noun: string;
  machineVersion: number;
  store: RecordStore;
  notFound(id: string): AppError;
  toRecord(stored: StoredRecord): R;
  canReach(principal: Principal, record: R): boolean;
  restore(record: R): S;
  transition(snapshot: S, event: MachineEvent<P>): [S, readonly MachineAction[]];
  persist(snapshot: S): R['state'];
  /** Why the machine will not take an event: 403 or 409 naming what may be sent. */
  refuse(snapshot: S, event: MachineEvent<P>, record: R): AppError;
  historyEntry(before: R | null, after: R, event: { type: string; at: number; actor: Actor; details?: Record<string, unknown> }, next: S): H;
  plan(change: Change<R, H>): ChangePlan | Promise<ChangePlan>;
  /** Data written once, at creation, beside the document (a ticket's reporter). */
  writeOnce?(record: R): unknown;
  /** Data the commit rewrites with the document: the facts that never change. */
  dataOf(record: R): unknown;
  /** At most this many versions: events from callers are refused beyond it. */
  maxVersions: number;
}

export interface RecordEngineDeps<R = unknown, H = unknown> {
  idempotency: IdempotencyStore;
  now: () => number;
  /** Told of every event committed to an existing record, after the commit (metrics). Must not throw. */
  onApplied?: ((change: { before: R; after: R; entry: H }) => void) | undefined;
}

export function actorOf(principal: Principal | 'system'): Actor {
  return principal === 'system' ? { type: 'system' } : { type: 'principal', orgId: principal.orgId, role: principal.role, land: principal.land };
}

/** The event's own fields, without its type and the engine's at and actor. */
export function eventDetails(event: { type: string; at: number; actor: Actor }): Record<string, unknown> | undefined {
  const { type: _type, at: _at, actor: _actor, ...details } = event as unknown as Record<string, unknown>;
  return Object.keys(details).length > 0 ? details : undefined;
}

/**
 * The pure step: from a record and an event to the next record, its history
 * entry and the machine's actions, or the refusal. Runs nothing.
 */
export function stepRecord<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H>(
  kind: Pick<MachineKind<R, P, S, H>, 'restore' | 'transition' | 'persist' | 'refuse' | 'historyEntry'>,
  before: R,
  event: MachineEvent<P>,
): { after: R; entry: H; actions: readonly MachineAction[] } {
  const snapshot = kind.restore(before);
  if (!snapshot.can(event)) throw kind.refuse(snapshot, event, before);
  const [next, actions] = kind.transition(snapshot, event);
  const after = { ...before, version: before.version + 1, state: kind.persist(next), updatedAt: event.at } as R;
  const details = eventDetails(event);
  const entry = kind.historyEntry(before, after, { type: event.type, at: event.at, actor: event.actor, ...(details ? { details } : {}) }, next);
  return { after, entry, actions };
}

export interface IdempotencyUse {
  key: string;
  fp: string;
}

const MAX_ATTEMPTS = 8;

export function createRecordEngine<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H>(
  kind: MachineKind<R, P, S, H>,
  deps: RecordEngineDeps<R, H>,
) {
  async function load(id: string): Promise<R | null> {
    const stored = await kind.store.load(id);
    if (!stored) return null;
    if (stored.machineVersion !== kind.machineVersion) {
      throw new Error(`${kind.noun} ${stored.id} has machine version ${stored.machineVersion}; this Lotse runs ${kind.machineVersion} and knows no migration`);
    }
    return kind.toRecord(stored);
  }

  async function loadInReach(principal: Principal | 'system', id: string): Promise<R> {
    const record = await load(id);
    if (!record || (principal !== 'system' && !kind.canReach(principal, record))) throw kind.notFound(id);
    return record;
  }

  /**
   * Everything one change writes, committed at once; effects follow through
   * the outbox. `extra.plan` replaces the kind's plan (an amendment brings its
   * own); `extra.origin` is written once, at creation.
   */
  async function commit(
    change: Change<R, H>,
    idempotency?: { key: string; fp: string; ttlSeconds?: number },
    extra: { plan?: ChangePlan; origin?: unknown } = {},
  ): Promise<CommitResult> {
    const { before, after } = change;
    const plan = extra.plan ?? (await kind.plan(change));
    const once = before ? undefined : kind.writeOnce?.(after);
    const origin = before ? undefined : extra.origin;
    return kind.store.commit({
      id: after.id,
      expectedVersion: before?.version ?? 0,
      version: after.version,
      state: after.state,
      machineVersion: kind.machineVersion,
      updatedAt: after.updatedAt,
      data: kind.dataOf(after),
      ...(once !== undefined ? { reporter: once } : {}),
      ...(origin !== undefined ? { origin } : {}),
      history: change.entry,
      effects: plan.effects,
      ops: plan.ops,
      ...(idempotency ? { idempotency: { key: idempotency.key, record: doneRecord(idempotency.fp, after.id), fingerprint: idempotency.fp, ...(idempotency.ttlSeconds ? { ttlSeconds: idempotency.ttlSeconds } : {}) } } : {}),
    });
  }

  /**
   * The one path of change for an existing record: load, decide the event on
   * what was loaded, step the machine, commit. A concurrent change makes it
   * load and decide again, unless the caller pinned a version. `decide`
   * answering null means nothing to do (null is returned). With an
   * idempotency key, its record is read with every load: a key already used
   * for this event answers with the record as it is (`replayed`).
   */
  async function change(
    principal: Principal | 'system',
    id: string,
    decide: (before: R) => P | null,
    opts: { ifMatch?: number | undefined; idempotency?: IdempotencyUse | undefined } = {},
  ): Promise<{ record: R; replayed: boolean } | null> {
    const actor = actorOf(principal);
    const idem = opts.idempotency;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [before, used] = await Promise.all([loadInReach(principal, id), idem ? deps.idempotency.get(idem.key) : null]);
      if (used) {
        if (used.fp !== idem!.fp) throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used with a different event');
        return { record: before, replayed: true };
      }
      if (opts.ifMatch !== undefined && opts.ifMatch !== before.version) {
        throw new AppError('PRECONDITION_FAILED', `The ${kind.noun} is at version ${before.version}, not ${opts.ifMatch}`, { version: before.version });
      }
      const payload = decide(before);
      if (!payload) return null;
      // Lotse's own events (timers, the backlog's notices) are bounded by the machines; callers' are counted.
      if (principal !== 'system' && before.version >= kind.maxVersions) {
        throw new AppError('LIMIT_REACHED', `This ${kind.noun} has reached its limit of ${kind.maxVersions} changes`, { limit: 'maxEvents', max: kind.maxVersions });
      }
      const event = { ...payload, at: deps.now(), actor } as MachineEvent<P>;
      const { after, entry, actions } = stepRecord(kind, before, event);
      const result = await commit({ before, after, entry, actions, actor }, idem && { ...idem, ttlSeconds: EVENT_IDEMPOTENCY_TTL_S });
      if (result.status === 'ok') {
        failpoint('engine-after-commit');
        deps.onApplied?.({ before, after, entry });
        return { record: after, replayed: false };
      }
      if (opts.ifMatch !== undefined) {
        throw new AppError('PRECONDITION_FAILED', `The ${kind.noun} changed meanwhile`, { version: result.status === 'stale' ? result.currentVersion : before.version });
      }
    }
    throw new AppError('VERSION_CONFLICT', `The ${kind.noun} kept changing; try again`);
  }

  /**
   * A change that is no event of the record's life (an erasure): the machine
   * is not asked and its state stays as it is, but everything else is as for
   * an event: decided on what was loaded, one more version, a history entry,
   * one atomic commit with the amendment's store operations and effects, a
   * reload and a new decision on a concurrent change. `decide` answering null
   * means nothing to do (null is returned, nothing is written).
   */
  async function amend(
    principal: Principal | 'system',
    id: string,
    decide: (before: R, at: number, actor: Actor) => Promise<Amendment<R, H> | null>,
    opts: { idempotency?: { key: string; fp: string; ttlSeconds: number } } = {},
  ): Promise<R | null> {
    const actor = actorOf(principal);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const before = await loadInReach(principal, id);
      const amendment = await decide(before, deps.now(), actor);
      if (!amendment) return null;
      const { after, entry, plan } = amendment;
      const result = await commit({ before, after, entry, actions: [], actor }, amendment.idempotency ?? opts.idempotency, { plan });
      if (result.status === 'ok') return after;
    }
    throw new AppError('VERSION_CONFLICT', `The ${kind.noun} kept changing; try again`);
  }

  return { load, loadInReach, commit, change, amend };
}

/** What an amendment writes: the record after it (one version more, same machine state), its history entry, its plan. */
export interface Amendment<R, H> {
  after: R;
  entry: H;
  plan: ChangePlan;
  /** An idempotency record rewritten with the commit (an erasure neutralises the creation's). */
  idempotency?: { key: string; fp: string; ttlSeconds: number };
}

export type RecordEngine<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H> = ReturnType<typeof createRecordEngine<R, P, S, H>>;
