import type { Logger } from 'pino';
import type { Timer, TicketEventPayload } from '../../../machines/ticket.machine.js';
import type { Principal } from '../../domain/access.js';
import type { CreateTicket, HistoryEntry, TicketListQuery, TicketView } from '../../domain/ticket.js';
import type { Topology } from '../../domain/topology.js';
import type { FieldError } from '../../errors.js';
import type { IdempotencyStore } from '../../store/idempotency.js';
import type { Keys } from '../../store/keys.js';
import type { TicketStore } from '../../store/ticket-store.js';
import type { ErasureCause } from './erasure.js';
import type { Sorted, TicketLister } from './list.js';
import type { TicketRecord } from './record.js';
import type { SlaTimeline } from './sla-view.js';

/**
 * The ticket engine as the rest of Lotse sees it (HTTP, the workers, the
 * dashboard, the backlog feed): every change through the one path
 * (engine/path.ts), every read through a call named here. Nothing outside
 * reaches the path's records.
 */
export interface TicketEngine {
  /** Creates a ticket once per idempotency key (default: the body's externalRef) and organisation. */
  createTicket(principal: Principal, input: unknown, opts?: CreateOptions): Promise<Created>;
  /** The same for a body already parsed with CreateTicketSchema (the intake worker parses the job once). */
  createParsedTicket(principal: Principal, body: CreateTicket, opts?: CreateOptions): Promise<Created>;
  /** The ticket this creation's key made in this engine's partition before (replayed; another body 422), or null. */
  createdBefore(principal: Principal, body: CreateTicket, opts?: CreateOptions): Promise<Created | null>;
  /** Applies one event through the machine; retried on a concurrent change unless the caller pinned a version. */
  applyEvent(principal: Principal | 'system', ticketId: string, input: unknown, opts?: EventOptions): Promise<TicketRecord>;
  /** The same, telling whether an idempotency key made it a replay of an event applied before. */
  applyEventOnce(principal: Principal | 'system', ticketId: string, input: unknown, opts?: EventOptions): Promise<{ record: TicketRecord; replayed: boolean }>;
  /** The ticket as it is, if an event was applied under this key before; else null. */
  appliedUnder(principal: Principal, ticketId: string, idempotencyKey: string): Promise<TicketRecord | null>;
  /** A timer fired: the event it stands for, if the ticket still waits for it; or when to fire again. */
  fireTimer(ticketId: string, epoch: number): Promise<TimerOutcome>;
  /** The ticket's armed timer now, if any (the sla worker checks a timer moved earlier meanwhile). */
  timerOf(ticketId: string): Promise<Timer | null>;
  /** A decided backlog item tells a linked ticket, once per key (`<item>-v<version>`; its record is the ticket's partition's): a closed or missing ticket is left alone. */
  tellBacklogOutcome(ticketId: string, outcome: BacklogOutcome, keyText: string): Promise<{ applied: boolean }>;
  /** Lotse's own NOTE (mail from someone not the holder, an automatic reply), at most once per key: the key's record is written in the event's commit. */
  noteOnce(ticketId: string, text: string, idempotencyKey: string): Promise<{ record: TicketRecord; replayed: boolean }>;
  /** Erases the ticket's personal data through the one commit; null when nothing was left to erase. */
  eraseTicket(principal: Principal | 'system', id: string, cause: ErasureCause): Promise<TicketRecord | null>;
  getTicket(principal: Principal, id: string): Promise<TicketRecord>;
  /** A ticket for Lotse's own readers (the backlog feed, retention), in no caller's reach: null when there is none. */
  findTicket(id: string): Promise<TicketRecord | null>;
  history(principal: Principal, id: string): Promise<HistoryEntry[]>;
  /** One history entry, for Lotse's own readers (the backlog feed reads a suggestion where it lies). */
  historyEntry(id: string, version: number): Promise<HistoryEntry | null>;
  listTickets(principal: Principal, query: TicketListQuery): Promise<{ items: TicketRecord[]; next: string | null; searched?: number; sorted?: Sorted }>;
  /** Every wrong field of a create body whose shape failed, with the topology's checks added. */
  explainCreateInput(input: unknown, issues: FieldError[]): FieldError[];
  slaTimeline(record: TicketRecord): SlaTimeline;
  view(principal: Principal | 'system', record: TicketRecord): TicketView;
  allowedEvents(principal: Principal, record: TicketRecord): string[];
}

/** What a decided backlog item tells each ticket linked to it. */
export type BacklogOutcome = Extract<TicketEventPayload, { type: 'BACKLOG_DECIDED' }>;

export interface TicketEngineDeps {
  topology: Topology;
  store: TicketStore;
  idempotency: IdempotencyStore;
  keys: Keys;
  now: () => number;
  newId: (at: number) => string;
  /** CloudEvents `source` of everything this Lotse publishes. */
  source: string;
  logger: Logger;
  /** Told of every event committed to an existing ticket, after the commit (metrics: the handoff receipt latency). Must not throw. */
  onEventApplied?: (change: AppliedEvent) => void;
  /** Where lists read: this engine's own store by default; across partitions, every partition's (mergedLister). */
  lister?: TicketLister;
}

/** An event as committed: the ticket before and after it, and its history entry. */
export interface AppliedEvent {
  before: TicketRecord;
  after: TicketRecord;
  entry: HistoryEntry;
}

export interface EventOptions {
  /** The version the caller last saw: a stale one fails with PRECONDITION_FAILED. */
  ifMatch?: number | undefined;
  /** The same key with the same event answers with the ticket as it is, applying nothing again; with another event 422. */
  idempotencyKey?: string | undefined;
  /**
   * Where the event came from, set by Lotse's own channels only (never from
   * a caller's body): a connector names the remote system, change and how it
   * was matched. Kept in the history entry's details as `via`.
   */
  via?: Record<string, string | number | boolean> | undefined;
}

export interface CreateOptions {
  idempotencyKey?: string | undefined;
  /** Mark the key in flight first (HTTP: a concurrent duplicate gets 409). Default true. */
  reserve?: boolean;
  /** The intake job creating the ticket: remembered, so the ticket's erasure removes the job (it carries the reporter). */
  intakeJobId?: string | undefined;
}

export interface Created {
  record: TicketRecord;
  replayed: boolean;
}

export interface TimerOutcome {
  applied: boolean;
  event?: string;
  rescheduleAt?: number;
}
