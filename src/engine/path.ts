import type { Actor } from '../../machines/ticket.policy.js';
import type { Principal } from '../domain/access.js';
import { AppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import { doneRecord } from '../store/idempotency.js';
import type { CommitResult } from '../store/record-store.js';
import { EVENT_IDEMPOTENCY_TTL_S } from './idempotency-keys.js';
import type {
  Amendment, Change, ChangeOutcome, ChangePlan, CreateOutcome, Decision, IdempotencyUse, MachineAction, MachineEvent, MachineKind, MachineRecord, PathDeps, Snapshot,
} from './interfaces.js';

/**
 * The one path of change, for any record whose life is an XState machine
 * (tickets, backlog items): load → decide → pure transition → plan → one
 * atomic commit (record, history entry, store operations, outbox). Three
 * ways in, each a named function taking its deps: `create` (a new record),
 * `change` (an event of its life), `amend` (a change that is no event of its
 * life: an erasure). The kind (interfaces.ts) says what is particular.
 */

type AnyKind<R extends MachineRecord> = Pick<MachineKind<R, { type: string }, Snapshot<never>, unknown, unknown, unknown>, 'store' | 'machineVersion' | 'noun' | 'toRecord' | 'canReach' | 'notFound'>;

const MAX_ATTEMPTS = 8;

export function actorOf(principal: Principal | 'system'): Actor {
  return principal === 'system' ? { type: 'system' } : { type: 'principal', orgId: principal.orgId, role: principal.role, land: principal.land };
}

/** The event's own fields, without its type and the engine's at and actor. */
export function eventDetails(event: { type: string; at: number; actor: Actor }): Record<string, unknown> | undefined {
  const { type: _type, at: _at, actor: _actor, ...details } = event as unknown as Record<string, unknown>;
  return Object.keys(details).length > 0 ? details : undefined;
}

export async function load<R extends MachineRecord>(kind: AnyKind<R>, id: string): Promise<R | null> {
  const stored = await kind.store.load(id);
  if (!stored) return null;
  if (stored.machineVersion !== kind.machineVersion) {
    throw new Error(`${kind.noun} ${stored.id} has machine version ${stored.machineVersion}; this Lotse runs ${kind.machineVersion} and knows no migration`);
  }
  return kind.toRecord(stored);
}

export async function loadInReach<R extends MachineRecord>(kind: AnyKind<R>, principal: Principal | 'system', id: string): Promise<R> {
  const record = await load(kind, id);
  if (!record || (principal !== 'system' && !kind.canReach(principal, record))) throw kind.notFound(id);
  return record;
}

/**
 * The pure step: from a record and an event to the next record, its history
 * entry and the machine's actions, or the refusal. Runs nothing.
 */
export function step<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H>(
  kind: Pick<MachineKind<R, P, S, H, unknown, unknown>, 'restore' | 'transition' | 'persist' | 'refuse' | 'historyEntry'>,
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

/** Everything one change writes, committed at once; effects follow through the outbox. `origin` is written once, at creation. */
async function commit<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H, I, X>(
  kind: MachineKind<R, P, S, H, I, X>,
  change: Change<R, H>,
  plan: ChangePlan,
  idempotency?: IdempotencyUse,
  origin?: unknown,
): Promise<CommitResult> {
  const { before, after } = change;
  const once = before ? undefined : kind.writeOnce?.(after);
  return kind.store.commit({
    id: after.id,
    expectedVersion: before?.version ?? 0,
    version: after.version,
    state: after.state,
    machineVersion: kind.machineVersion,
    updatedAt: after.updatedAt,
    data: kind.dataOf(after),
    ...(once !== undefined ? { reporter: once } : {}),
    ...(!before && origin !== undefined ? { origin } : {}),
    history: change.entry,
    effects: plan.effects,
    ops: plan.ops,
    ...(plan.delayedJobs ? { delayedJobs: plan.delayedJobs } : {}),
    ...(idempotency ? { idempotency: { key: idempotency.key, record: doneRecord(idempotency.fp, after.id), fingerprint: idempotency.fp, ...(idempotency.ttlSeconds ? { ttlSeconds: idempotency.ttlSeconds } : {}) } } : {}),
  });
}

/** The plan of a change: its inputs loaded, then decided without I/O. */
async function planOf<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H, I, X>(kind: MachineKind<R, P, S, H, I, X>, change: Change<R, H>): Promise<ChangePlan> {
  return kind.plan(change, await kind.loadPlanInputs(change));
}

/**
 * A new record through the same path: the kind's first step, its plan, one
 * commit that fails if the id exists (`stale`) or the creation's
 * idempotency key was used (`idempotent`, with the key's record).
 */
export async function create<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H, I, X>(
  deps: PathDeps<R, P, S, H, I, X>,
  principal: Principal | 'system',
  input: I,
  opts: { idempotency?: IdempotencyUse | undefined; origin?: unknown; at?: number } = {},
): Promise<CreateOutcome<R>> {
  const actor = actorOf(principal);
  // `at`: the moment the caller checked the input against (a ticket's receivedAt is clamped to it).
  const { after, entry, actions } = deps.kind.start(input, opts.at ?? deps.now(), actor);
  const change: Change<R, H> = { before: null, after, entry, actions, actor };
  const result = await commit(deps.kind, change, await planOf(deps.kind, change), opts.idempotency, opts.origin);
  if (result.status === 'ok') return { status: 'created', record: after };
  return result.status === 'stale' ? { status: 'stale' } : { status: 'idempotent', stored: result.record };
}

/**
 * The one path of change for an existing record: load, decide on what was
 * loaded (send an event, or keep the record as it is and say why), step the
 * machine, plan, commit. A concurrent change makes it load and decide again,
 * unless the caller pinned a version. With an idempotency key, its record
 * is read with every load: a key already used answers with the record as it
 * is (`replayed`).
 */
export async function change<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H, I, X, W = null>(
  deps: PathDeps<R, P, S, H, I, X>,
  principal: Principal | 'system',
  id: string,
  decide: (before: R) => Decision<P, W>,
  opts: { ifMatch?: number | undefined; idempotency?: IdempotencyUse | undefined; known?: R | undefined } = {},
): Promise<ChangeOutcome<R, W, P>> {
  const { kind } = deps;
  const actor = actorOf(principal);
  const idem = opts.idempotency;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    // `known` (Lotse's own changes only): the record as the caller loaded it a moment ago, decided on at the first
    // attempt instead of a second load; if it is no longer the latest, the commit finds the version moved on and
    // the next attempt loads it.
    const first = attempt === 1 && opts.known?.id === id && principal === 'system' ? opts.known : undefined;
    const [before, used] = await Promise.all([first ?? loadInReach(kind, principal, id), idem ? deps.idempotency.get(idem.key) : null]);
    if (used) {
      if (used.fp !== idem!.fp) throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used with a different event');
      return { status: 'replayed', record: before };
    }
    if (opts.ifMatch !== undefined && opts.ifMatch !== before.version) {
      throw new AppError('PRECONDITION_FAILED', `The ${kind.noun} is at version ${before.version}, not ${opts.ifMatch}`, { version: before.version });
    }
    const decision = decide(before);
    // Nothing to do is only believed of the latest record: on a `known` one the next attempt loads it and decides again.
    if ('keep' in decision && first) continue;
    if ('keep' in decision) return { status: 'kept', record: before, why: decision.keep };
    // Lotse's own events (timers, the backlog's notices) are bounded by the machines; callers' are counted.
    if (principal !== 'system' && before.version >= kind.maxVersions) {
      throw new AppError('LIMIT_REACHED', `This ${kind.noun} has reached its limit of ${kind.maxVersions} changes`, { limit: 'maxEvents', max: kind.maxVersions });
    }
    const event = { ...decision.send, at: deps.now(), actor } as MachineEvent<P>;
    const { after, entry, actions } = step(kind, before, event);
    const next: Change<R, H> = { before, after, entry, actions, actor };
    const result = await commit(kind, next, await planOf(kind, next), idem && { ...idem, ttlSeconds: EVENT_IDEMPOTENCY_TTL_S });
    if (result.status === 'ok') {
      failpoint('engine-after-commit');
      deps.onApplied?.({ before, after, entry });
      return { status: 'applied', record: after, sent: decision.send };
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
export async function amend<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H, I, X>(
  deps: PathDeps<R, P, S, H, I, X>,
  principal: Principal | 'system',
  id: string,
  decide: (before: R, at: number, actor: Actor) => Promise<Amendment<R, H> | null>,
): Promise<R | null> {
  const { kind } = deps;
  const actor = actorOf(principal);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const before = await loadInReach(kind, principal, id);
    const amendment = await decide(before, deps.now(), actor);
    if (!amendment) return null;
    const { after, entry, plan } = amendment;
    const result = await commit(kind, { before, after, entry, actions: [], actor }, plan, amendment.idempotency);
    if (result.status === 'ok') return after;
  }
  throw new AppError('VERSION_CONFLICT', `The ${kind.noun} kept changing; try again`);
}
