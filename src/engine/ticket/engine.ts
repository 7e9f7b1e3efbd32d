import type { Logger } from 'pino';
import { timerEvent, type TicketEventPayload } from '../../../machines/ticket.machine.js';
import { canSeeReporter, type Principal } from '../../domain/access.js';
import { CreateTicketSchema, TicketEventInputSchema, type CreateTicket, type TicketListQuery, type TicketView } from '../../domain/ticket.js';
import type { Topology } from '../../domain/topology.js';
import { AppError, fieldErrors, validationFailed, type FieldError } from '../../errors.js';
import { failpoint } from '../../failpoints.js';
import { parseRecord, type IdempotencyRecord, type IdempotencyStore } from '../../store/idempotency.js';
import type { Keys } from '../../store/keys.js';
import type { TicketStore } from '../../store/ticket-store.js';
import { checkCreation, createErrors } from './creation.js';
import type { HistoryEntry } from '../../domain/ticket.js';
import { eventKeyText, fingerprint, idempotencyDigest, IDEMPOTENCY_PENDING_MS } from '../idempotency-keys.js';
import { listTickets } from './list.js';
import { actorOf, createRecordEngine } from '../path.js';
import { allowedEventTypes } from './refusal.js';
import { toSlaTimeline } from './sla-view.js';
import { createTicketKind } from './kind.js';
import { reachFacts, type TicketData, type TicketOrigin, type TicketRecord } from './record.js';
import { planErasure, type ErasureCause } from './erasure.js';
import { toTicketView } from './view.js';

export { actorOf } from '../path.js';
export { EVENT_IDEMPOTENCY_TTL_S, idempotencyDigest } from '../idempotency-keys.js';
export type { TicketMachine } from './kind.js';

export interface EngineDeps {
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
}

export interface CreateOptions {
  idempotencyKey?: string | undefined;
  /** Mark the key in flight first (HTTP: a concurrent duplicate gets 409). Default true. */
  reserve?: boolean;
  /** The intake job creating the ticket: remembered, so the ticket's erasure removes the job (it carries the reporter). */
  intakeJobId?: string | undefined;
}

/** The ticket engine: creation, events and timers, each through the one path of change (record-engine.ts). */
export function createEngine(deps: EngineDeps) {
  const { topology, store, keys } = deps;
  const { kind, machine, stepper, persist } = createTicketKind({ topology, store, keys, source: deps.source });
  const records = createRecordEngine(kind, { idempotency: deps.idempotency, now: deps.now, onApplied: deps.onEventApplied });

  async function replay(record: IdempotencyRecord, fp: string): Promise<{ record: TicketRecord; replayed: true }> {
    if (record.fp !== fp) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used with a different body');
    }
    if (record.state === 'pending') {
      throw new AppError('IDEMPOTENCY_IN_FLIGHT', 'A request with this idempotency key is still being processed');
    }
    return { record: await records.loadInReach('system', record.ticketId), replayed: true };
  }

  /**
   * A ticket makes a bounded number of suggestions (an improvement ticket's
   * own counts as one). Read only when a suggestion comes, from the bounded
   * history; two at the very same moment may both pass, never more.
   */
  async function checkSuggestionRoom(ticketId: string) {
    const [record, history] = await Promise.all([records.load(ticketId), store.history(ticketId) as Promise<HistoryEntry[]>]);
    // An unknown ticket: the change itself answers 404.
    if (!record) return;
    const made = history.filter((e) => e.type === 'SUGGEST_IMPROVEMENT').length + (record.data.category === 'improvement' ? 1 : 0);
    const max = topology.services.get(record.data.service)?.backlog.maxSuggestionsPerTicket ?? topology.config.backlog.maxSuggestionsPerTicket;
    if (made >= max) throw new AppError('LIMIT_REACHED', `This ticket has made its ${max} suggestions`, { limit: 'backlog.maxSuggestionsPerTicket', max });
  }

  return {
    machine,
    toRecord: kind.toRecord,
    /** The generic path of change for tickets: other parts (the backlog's notices) send system events through it. */
    records,

    /** Creates a ticket once per idempotency key (default: the body's externalRef) and organisation. */
    async createTicket(principal: Principal, input: unknown, opts: CreateOptions = {}) {
      const parsed = CreateTicketSchema.safeParse(input);
      if (!parsed.success) throw validationFailed(createErrors(topology, input, fieldErrors(parsed.error.issues), deps.now()));
      return this.createParsedTicket(principal, parsed.data, opts);
    },

    /**
     * The same for a body already parsed with CreateTicketSchema (the intake
     * worker parses the job once). Without `reserve`, no pending record marks
     * the key in flight: the commit still refuses a second ticket for a key,
     * which is all a queue, where one job id runs at a time, needs.
     */
    async createParsedTicket(principal: Principal, body: CreateTicket, opts: CreateOptions = {}) {
      if (principal.role !== 'desk' && principal.role !== 'operator') {
        throw new AppError('FORBIDDEN', 'Only desks and operators create tickets');
      }
      const now = deps.now();
      const { land, service, receivedAt } = checkCreation(topology, body, now);

      const fp = fingerprint(body);
      const idemKey = deps.idempotency.key(principal.orgId, idempotencyDigest(opts.idempotencyKey ?? body.externalRef));
      if (opts.reserve !== false) {
        const reservation = await deps.idempotency.reserve(idemKey, fp, IDEMPOTENCY_PENDING_MS);
        if (!reservation.reserved) return replay(reservation.record, fp);
      }

      try {
        const id = deps.newId(now);
        const actor = actorOf(principal);
        const [snapshot, actions] = stepper.initialTransition({
          id,
          facts: { service: service.id, land, category: body.category },
          createdBy: principal.orgId,
          impact: body.impact,
          urgency: body.urgency,
          receivedAt,
          at: now,
        });
        const data: TicketData = {
          externalRef: body.externalRef, channel: body.channel, land, ars: body.ars, service: service.id,
          themeField: service.themeField, category: body.category, subject: body.subject, description: body.description,
          attachments: body.attachments, createdBy: principal.orgId, receivedAt, createdAt: now,
        };
        const record: TicketRecord = { id, version: 1, data, reporter: body.reporter ?? null, state: persist(snapshot), updatedAt: now };
        const entry = kind.historyEntry(null, record, {
          type: 'CREATED', at: now, actor,
          details: { priority: snapshot.context.priority, category: body.category, channel: body.channel },
        }, snapshot);
        const origin: TicketOrigin = { k: idemKey, ...(opts.intakeJobId !== undefined ? { j: opts.intakeJobId } : {}) };
        const result = await records.commit({ before: null, after: record, entry, actions, actor }, { key: idemKey, fp }, { origin });
        if (result.status === 'idempotent') return replay(parseRecord(result.record), fp);
        if (result.status === 'stale') throw new Error(`ticket id ${id} already taken`);
        failpoint('engine-after-commit');
        deps.logger.info({ ticketId: id, orgId: principal.orgId, assignee: record.state.context.assignee }, 'ticket created');
        return { record, replayed: false as const };
      } catch (err) {
        if (opts.reserve !== false) await deps.idempotency.release(idemKey, fp).catch(() => undefined);
        throw err;
      }
    },

    /** Applies one event through the machine; retried on a concurrent change unless the caller pinned a version. */
    async applyEvent(principal: Principal | 'system', ticketId: string, input: unknown, opts: EventOptions = {}): Promise<TicketRecord> {
      return (await this.applyEventOnce(principal, ticketId, input, opts)).record;
    },

    /**
     * The ticket as it is, if an event was applied under this key before; else
     * null. For a sender that no longer holds the event itself (an events job
     * whose texts were dropped once it was applied).
     */
    async appliedUnder(principal: Principal, ticketId: string, idempotencyKey: string): Promise<TicketRecord | null> {
      const used = await deps.idempotency.get(deps.idempotency.key(principal.orgId, idempotencyDigest(eventKeyText(ticketId, idempotencyKey))));
      return used ? records.loadInReach(principal, ticketId) : null;
    },

    /** The same, telling whether an idempotency key made it a replay of an event applied before. */
    async applyEventOnce(principal: Principal | 'system', ticketId: string, input: unknown, opts: EventOptions = {}) {
      const parsed = principal === 'system' ? { success: true as const, data: input as TicketEventPayload } : TicketEventInputSchema.safeParse(input);
      if (!parsed.success) throw validationFailed(fieldErrors(parsed.error.issues));
      const payload = parsed.data;
      if (payload.type === 'ASSIGN' && !topology.orgs.has(payload.assignee)) {
        throw validationFailed([{ path: 'assignee', message: 'unknown organisation' }]);
      }
      if (payload.type === 'SUGGEST_IMPROVEMENT' && principal !== 'system') await checkSuggestionRoom(ticketId);
      const idempotency = opts.idempotencyKey !== undefined && principal !== 'system'
        ? { key: deps.idempotency.key(principal.orgId, idempotencyDigest(eventKeyText(ticketId, opts.idempotencyKey))), fp: fingerprint(payload) }
        : undefined;
      return (await records.change(principal, ticketId, () => payload as TicketEventPayload, { ifMatch: opts.ifMatch, idempotency }))!;
    },

    /**
     * A timer fired: the event it stands for, if the ticket still waits for
     * it. An epoch the ticket has left changes nothing; a timer whose deadline
     * is later than its job (moved later, the job left where it was) answers
     * when to fire again. Decided on the same load as the commit, so a
     * concurrent change makes it decide again.
     */
    async fireTimer(ticketId: string, epoch: number): Promise<{ applied: boolean; event?: string; rescheduleAt?: number }> {
      let rescheduleAt: number | undefined;
      let event: TicketEventPayload | null = null;
      const decide = (before: TicketRecord) => {
        const timer = before.state.context.timer;
        rescheduleAt = timer && timer.epoch === epoch && timer.at > deps.now() ? timer.at : undefined;
        event = timer && timer.epoch === epoch && rescheduleAt === undefined ? timerEvent(timer) : null;
        return event;
      };
      try {
        if (await records.change('system', ticketId, decide)) return { applied: true, event: event!.type };
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'TICKET_NOT_FOUND')) throw err;
      }
      return { applied: false, ...(rescheduleAt !== undefined ? { rescheduleAt } : {}) };
    },

    /**
     * Erases the ticket's personal data (erasure.ts decides what), whatever its
     * state, through the one commit: operators on request, the retention worker
     * for closed tickets past their time. Null when nothing was left to erase
     * (no second audit entry); the purge of its jobs and stream events follows
     * through the outbox.
     */
    async eraseTicket(principal: Principal | 'system', id: string, cause: ErasureCause): Promise<TicketRecord | null> {
      if (principal !== 'system' && principal.role !== 'operator') throw new AppError('FORBIDDEN', 'Only operators erase personal data');
      return records.amend(principal, id, async (before, at, actor) => {
        const history = (await store.history(id)) as HistoryEntry[];
        const creationKey = before.origin?.k ?? deps.idempotency.key(before.data.createdBy, idempotencyDigest(before.data.externalRef));
        return planErasure({ keys, source: deps.source, before, history: history.slice(0, before.version), at, actor, cause, creationKey });
      });
    },

    async getTicket(principal: Principal, id: string) {
      return records.loadInReach(principal, id);
    },

    async history(principal: Principal, id: string) {
      await records.loadInReach(principal, id);
      return (await store.history(id)) as HistoryEntry[];
    },

    /** One history entry, for Lotse's own readers (the backlog feed reads a suggestion where it lies). */
    async historyEntry(id: string, version: number) {
      return (await store.historyEntry(id, version)) as HistoryEntry | null;
    },

    async listTickets(principal: Principal, query: TicketListQuery) {
      return listTickets({ store, keys, toRecord: kind.toRecord }, principal, query);
    },

    /** Every wrong field of a create body whose shape failed, with the topology's checks added. */
    explainCreateInput(input: unknown, issues: FieldError[]): FieldError[] {
      return createErrors(topology, input, issues, deps.now());
    },

    slaTimeline(record: TicketRecord) {
      return toSlaTimeline(topology, record);
    },

    view(principal: Principal | 'system', record: TicketRecord): TicketView {
      const withReporter = principal !== 'system' && canSeeReporter(topology, principal.orgId, reachFacts(record));
      return toTicketView(record, withReporter);
    },

    allowedEvents(principal: Principal, record: TicketRecord): string[] {
      return allowedEventTypes(kind.restore(record), actorOf(principal), deps.now());
    },
  };
}

export type Engine = ReturnType<typeof createEngine>;
