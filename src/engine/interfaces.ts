import type { Actor } from '../../machines/ticket.policy.js';
import type { Principal } from '../domain/access.js';
import type { AppError } from '../errors.js';
import type { IdempotencyStore } from '../store/idempotency.js';
import type { StoreOp } from '../store/ops.js';
import type { DelayedJobRemoval, RecordStore, StoredRecord } from '../store/record-store.js';

/**
 * The written interfaces of the one path of change (path.ts), for any
 * record whose life is an XState machine (tickets, backlog items): a kind
 * says what the path needs to know of its records; the path loads, decides,
 * steps the machine, plans and commits.
 */

export interface MachineRecord {
  id: string;
  version: number;
  updatedAt: number;
  /** The machine's persisted state: what `resolveState` takes. */
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
  /** Effects the commit may carry out itself (a timer's delayed job removed): see CommitRequest.delayedJobs. */
  delayedJobs?: DelayedJobRemoval[];
}

export interface Change<R, H> {
  before: R | null;
  after: R;
  entry: H;
  actions: readonly MachineAction[];
  actor: Actor;
}

/** The first version of a record, its history entry and the machine's actions: a creation, decided. */
export interface Start<R, H> {
  after: R;
  entry: H;
  actions: readonly MachineAction[];
}

/**
 * A kind of machine record. `R` the record, `P` the events callers and Lotse
 * send, `S` the machine's snapshot, `H` a history entry, `I` what creates
 * one, `X` what its plan reads besides the change.
 */
export interface MachineKind<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H, I, X = undefined> {
  /** `ticket`, `backlog item`: for messages. */
  noun: string;
  machineVersion: number;
  store: RecordStore;
  notFound(id: string): AppError;
  toRecord(stored: StoredRecord): R;
  canReach(principal: Principal, record: R): boolean;
  /** A new record's first step, pure: its first version, history entry and actions. */
  start(input: I, at: number, actor: Actor): Start<R, H>;
  restore(record: R): S;
  transition(snapshot: S, event: MachineEvent<P>): [S, readonly MachineAction[]];
  persist(snapshot: S): R['state'];
  /** Why the machine will not take an event: 403 or 409 naming what may be sent. */
  refuse(snapshot: S, event: MachineEvent<P>, record: R): AppError;
  historyEntry(before: R | null, after: R, event: { type: string; at: number; actor: Actor; details?: Record<string, unknown> }, next: S): H;
  /** The path's second read, before the plan: what the plan needs besides the change (a ticket's latest history for providers). */
  loadPlanInputs(change: Change<R, H>): Promise<X>;
  /** Effects and store operations of a change: pure. */
  plan(change: Change<R, H>, inputs: X): ChangePlan;
  /** Data written once, at creation, beside the document (a ticket's reporter). */
  writeOnce?(record: R): unknown;
  /** Data the commit rewrites with the document: the facts that never change. */
  dataOf(record: R): unknown;
  /** At most this many versions: events from callers are refused beyond it. */
  maxVersions: number;
}

/** What the path is given: the kind, the idempotency records, the clock. */
export interface PathDeps<R extends MachineRecord, P extends { type: string }, S extends Snapshot<MachineEvent<P>>, H, I, X = undefined> {
  kind: MachineKind<R, P, S, H, I, X>;
  idempotency: IdempotencyStore;
  now: () => number;
  /** Told of every event committed to an existing record, after the commit (metrics). Must not throw. */
  onApplied?: ((change: { before: R; after: R; entry: H }) => void) | undefined;
}

export interface IdempotencyUse {
  key: string;
  fp: string;
  ttlSeconds?: number;
}

/** What a decision on a loaded record says: send this event, or keep the record as it is, and why. */
export type Decision<P, W = null> = { send: P } | { keep: W };

/** What became of a change: applied; replayed (its idempotency key was used before); kept as decided. */
export type ChangeOutcome<R, W = null, P = unknown> =
  | { status: 'applied'; record: R; sent: P }
  | { status: 'replayed'; record: R }
  | { status: 'kept'; record: R; why: W };

/** What became of a creation: made; or a record was there already (the id taken, or the idempotency key used). */
export type CreateOutcome<R> =
  | { status: 'created'; record: R }
  | { status: 'stale' }
  | { status: 'idempotent'; stored: string };

/** What an amendment writes: the record after it (one version more, same machine state), its history entry, its plan. */
export interface Amendment<R, H> {
  after: R;
  entry: H;
  plan: ChangePlan;
  /** An idempotency record rewritten with the commit (an erasure neutralises the creation's). */
  idempotency?: { key: string; fp: string; ttlSeconds: number };
}
