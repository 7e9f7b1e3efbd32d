import { timerEvent, type TicketEventPayload } from '../../../machines/ticket.machine.js';
import { canSeeReporter, type Principal } from '../../domain/access.js';
import { CreateTicketSchema, TicketEventInputSchema, type CreateTicket, type HistoryEntry, type TicketListQuery } from '../../domain/ticket.js';
import { AppError, fieldErrors, validationFailed } from '../../errors.js';
import { failpoint } from '../../failpoints.js';
import { parseRecord, type IdempotencyRecord } from '../../store/idempotency.js';
import { eventKeyText, fingerprint, idempotencyDigest, IDEMPOTENCY_PENDING_MS } from '../idempotency-keys.js';
import type { Decision, PathDeps } from '../interfaces.js';
import { actorOf, amend, change, create, load, loadInReach } from '../path.js';
import { checkCreation, createErrors } from './creation.js';
import { planErasure, type ErasureCause } from './erasure.js';
import type { BacklogOutcome, CreateOptions, Created, EventOptions, TicketEngine, TicketEngineDeps, TimerOutcome } from './interfaces.js';
import { createTicketKind, type NewTicket, type TicketSnapshot } from './kind.js';
import { listTickets as listPage, storeLister } from './list.js';
import { reachFacts, type TicketOrigin, type TicketRecord } from './record.js';
import { allowedEventTypes } from './refusal.js';
import { toSlaTimeline } from './sla-view.js';
import { toTicketView } from './view.js';

/** What the ticket's operations share: the engine's deps and the path's (the ticket kind among them). */
export interface TicketPath extends TicketEngineDeps {
  path: PathDeps<TicketRecord, TicketEventPayload, TicketSnapshot, HistoryEntry, NewTicket, readonly HistoryEntry[]>;
}

async function replay(t: TicketPath, record: IdempotencyRecord, fp: string): Promise<Created> {
  if (record.fp !== fp) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used with a different body');
  }
  if (record.state === 'pending') {
    throw new AppError('IDEMPOTENCY_IN_FLIGHT', 'A request with this idempotency key is still being processed');
  }
  return { record: await loadInReach(t.path.kind, 'system', record.ticketId), replayed: true };
}

/**
 * A ticket makes a bounded number of suggestions (an improvement ticket's
 * own counts as one). Read only when a suggestion comes, from the bounded
 * history; two at the very same moment may both pass, never more.
 */
async function checkSuggestionRoom(t: TicketPath, ticketId: string) {
  const [record, history] = await Promise.all([load(t.path.kind, ticketId), t.store.history(ticketId) as Promise<HistoryEntry[]>]);
  // An unknown ticket: the change itself answers 404.
  if (!record) return;
  const made = history.filter((e) => e.type === 'SUGGEST_IMPROVEMENT').length + (record.state.context.facts.category === 'improvement' ? 1 : 0);
  const max = t.topology.services.get(record.state.context.facts.service)?.backlog.maxSuggestionsPerTicket ?? t.topology.config.backlog.maxSuggestionsPerTicket;
  if (made >= max) throw new AppError('LIMIT_REACHED', `This ticket has made its ${max} suggestions`, { limit: 'backlog.maxSuggestionsPerTicket', max });
}

export async function createTicket(t: TicketPath, principal: Principal, input: unknown, opts: CreateOptions = {}): Promise<Created> {
  const parsed = CreateTicketSchema.safeParse(input);
  if (!parsed.success) throw validationFailed(createErrors(t.topology, input, fieldErrors(parsed.error.issues), t.now()));
  return createParsedTicket(t, principal, parsed.data, opts);
}

/**
 * A body already parsed with CreateTicketSchema, through the path's
 * `create`. Without `reserve`, no pending record marks the key in flight:
 * the commit still refuses a second ticket for a key, which is all a queue,
 * where one job id runs at a time, needs.
 */
export async function createParsedTicket(t: TicketPath, principal: Principal, body: CreateTicket, opts: CreateOptions = {}): Promise<Created> {
  if (principal.role !== 'desk' && principal.role !== 'operator') {
    throw new AppError('FORBIDDEN', 'Only desks and operators create tickets');
  }
  const now = t.now();
  const { land, service, receivedAt } = checkCreation(t.topology, body, now);

  const fp = fingerprint(body);
  const idemKey = t.idempotency.key(principal.orgId, idempotencyDigest(opts.idempotencyKey ?? body.externalRef));
  if (opts.reserve !== false) {
    const reservation = await t.idempotency.reserve(idemKey, fp, IDEMPOTENCY_PENDING_MS);
    if (!reservation.reserved) return replay(t, reservation.record, fp);
  }

  try {
    const id = t.newId(now);
    const origin: TicketOrigin = { k: idemKey, ...(opts.intakeJobId !== undefined ? { j: opts.intakeJobId } : {}) };
    const input: NewTicket = { id, body: { ...body, createdBy: principal.orgId }, land, service, receivedAt };
    const result = await create(t.path, principal, input, { idempotency: { key: idemKey, fp }, origin, at: now });
    if (result.status === 'idempotent') return replay(t, parseRecord(result.stored), fp);
    if (result.status === 'stale') throw new Error(`ticket id ${id} already taken`);
    failpoint('engine-after-commit');
    t.logger.info({ ticketId: id, orgId: principal.orgId, assignee: result.record.state.context.assignee }, 'ticket created');
    return { record: result.record, replayed: false };
  } catch (err) {
    if (opts.reserve !== false) await t.idempotency.release(idemKey, fp).catch(() => undefined);
    throw err;
  }
}

/**
 * The ticket this key made here before, replayed (a different body: 422), or
 * null: what a creation asks of its Land's earlier partition after the
 * partition count was raised (partitioned.ts), so a retry never makes a
 * second ticket. A key still pending here is not a ticket yet: null.
 */
export async function createdBefore(t: TicketPath, principal: Principal, body: CreateTicket, opts: CreateOptions = {}): Promise<Created | null> {
  const record = await t.idempotency.get(t.idempotency.key(principal.orgId, idempotencyDigest(opts.idempotencyKey ?? body.externalRef)));
  return record && record.state === 'done' ? replay(t, record, fingerprint(body)) : null;
}

/** One event through the path's `change`; with an idempotency key, at most once. */
export async function applyEventOnce(t: TicketPath, principal: Principal | 'system', ticketId: string, input: unknown, opts: EventOptions = {}) {
  const parsed = principal === 'system' ? { success: true as const, data: input as TicketEventPayload } : TicketEventInputSchema.safeParse(input);
  if (!parsed.success) throw validationFailed(fieldErrors(parsed.error.issues));
  const payload = parsed.data as TicketEventPayload;
  if (payload.type === 'ASSIGN' && !t.topology.orgs.has(payload.assignee)) {
    throw validationFailed([{ path: 'assignee', message: 'unknown organisation' }]);
  }
  // The steering committee decides the backlog; it works no tickets and reaches none.
  if (payload.type === 'ASSIGN' && t.topology.orgs.get(payload.assignee)?.kind === 'steering') {
    throw validationFailed([{ path: 'assignee', message: 'the steering committee holds no tickets' }]);
  }
  if (payload.type === 'SUGGEST_IMPROVEMENT' && principal !== 'system') await checkSuggestionRoom(t, ticketId);
  const idempotency = opts.idempotencyKey !== undefined && principal !== 'system'
    ? { key: t.idempotency.key(principal.orgId, idempotencyDigest(eventKeyText(ticketId, opts.idempotencyKey))), fp: fingerprint(payload) }
    : undefined;
  // Lotse's own channels (a connector) say where an event came from and how it was matched: kept in the history entry's details.
  const sent = opts.via ? ({ ...payload, via: opts.via } as unknown as TicketEventPayload) : payload;
  const outcome = await change(t.path, principal, ticketId, () => ({ send: sent }), { ifMatch: opts.ifMatch, idempotency });
  return { record: outcome.record, replayed: outcome.status === 'replayed' };
}

export async function appliedUnder(t: TicketPath, principal: Principal, ticketId: string, idempotencyKey: string): Promise<TicketRecord | null> {
  const used = await t.idempotency.get(t.idempotency.key(principal.orgId, idempotencyDigest(eventKeyText(ticketId, idempotencyKey))));
  return used ? loadInReach(t.path.kind, principal, ticketId) : null;
}

/**
 * What a fired timer means for the ticket as loaded: its event, if the
 * ticket still waits for it; when to fire again, if its deadline is later
 * than the job (moved later, the job left where it was); else nothing.
 */
export function decideTimer(before: TicketRecord, epoch: number, now: number): Decision<TicketEventPayload, { rescheduleAt?: number }> {
  const timer = before.state.context.timer;
  if (!timer || timer.epoch !== epoch) return { keep: {} };
  if (timer.at > now) return { keep: { rescheduleAt: timer.at } };
  return { send: timerEvent(timer) };
}

/** A timer fired: decided on the same load as the commit, so a concurrent change makes it decide again. */
export async function fireTimer(t: TicketPath, ticketId: string, epoch: number): Promise<TimerOutcome> {
  try {
    const outcome = await change(t.path, 'system', ticketId, (before) => decideTimer(before, epoch, t.now()));
    if (outcome.status === 'applied') return { applied: true, event: outcome.sent.type };
    if (outcome.status === 'replayed') return { applied: false };
    return { applied: false, ...(outcome.why.rescheduleAt !== undefined ? { rescheduleAt: outcome.why.rescheduleAt } : {}) };
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'TICKET_NOT_FOUND')) throw err;
    return { applied: false };
  }
}

/** A decided backlog item tells a linked ticket once: a closed ticket is left alone, a retry applies nothing again. */
export async function tellBacklogOutcome(t: TicketPath, ticketId: string, outcome: BacklogOutcome, keyText: string): Promise<{ applied: boolean }> {
  // The key's record is written by the ticket's commit: in the ticket's own partition.
  const idempotency = { key: t.idempotency.key('lotse', idempotencyDigest(eventKeyText(ticketId, keyText))), fp: fingerprint(outcome) };
  const decide = (before: TicketRecord): Decision<TicketEventPayload> => (before.state.value === 'closed' ? { keep: null } : { send: outcome });
  try {
    return { applied: (await change(t.path, 'system', ticketId, decide, { idempotency })).status === 'applied' };
  } catch (err) {
    if ((err as { code?: string }).code === 'TICKET_NOT_FOUND') return { applied: false };
    throw err;
  }
}

/** A NOTE as Lotse itself (actor system), at most once per key (its record is written in the same commit). */
export async function noteOnce(t: TicketPath, ticketId: string, text: string, key: string): Promise<{ record: TicketRecord; replayed: boolean }> {
  const payload: TicketEventPayload = { type: 'NOTE', text };
  const idemKey = t.idempotency.key('system', idempotencyDigest(eventKeyText(ticketId, key)));
  const outcome = await change(t.path, 'system', ticketId, () => ({ send: payload }), { idempotency: { key: idemKey, fp: fingerprint(payload) }, ifMatch: undefined });
  return { record: outcome.record, replayed: outcome.status === 'replayed' };
}

/**
 * Erases the ticket's personal data (erasure.ts decides what), whatever its
 * state, through the path's `amend`: operators on request, the retention
 * worker for closed tickets past their time. Null when nothing was left to
 * erase (no second audit entry); the purge of its jobs and stream events
 * follows through the outbox.
 */
export async function eraseTicket(t: TicketPath, principal: Principal | 'system', id: string, cause: ErasureCause): Promise<TicketRecord | null> {
  if (principal !== 'system' && principal.role !== 'operator') throw new AppError('FORBIDDEN', 'Only operators erase personal data');
  return amend(t.path, principal, id, async (before, at, actor) => {
    const history = (await t.store.history(id)) as HistoryEntry[];
    const creationKey = before.origin?.k ?? t.idempotency.key(before.state.context.createdBy, idempotencyDigest(before.data.externalRef));
    return planErasure({ keys: t.keys, source: t.source, before, history: history.slice(0, before.version), at, actor, cause, creationKey });
  });
}

export async function ticketHistory(t: TicketPath, principal: Principal, id: string): Promise<HistoryEntry[]> {
  await loadInReach(t.path.kind, principal, id);
  return (await t.store.history(id)) as HistoryEntry[];
}

export async function listTickets(t: TicketPath, principal: Principal, query: TicketListQuery) {
  return listPage({ lister: t.lister ?? storeLister(t.store, t.keys), toRecord: t.path.kind.toRecord, topology: t.topology }, principal, query);
}

/** The ticket engine: its operations bound to their deps, as TicketEngine names them. */
export function createTicketEngine(deps: TicketEngineDeps): TicketEngine {
  const { kind } = createTicketKind({ topology: deps.topology, store: deps.store, keys: deps.keys, source: deps.source });
  const t: TicketPath = { ...deps, path: { kind, idempotency: deps.idempotency, now: deps.now, onApplied: deps.onEventApplied } };
  return {
    createTicket: (principal, input, opts) => createTicket(t, principal, input, opts),
    createParsedTicket: (principal, body, opts) => createParsedTicket(t, principal, body, opts),
    createdBefore: (principal, body, opts) => createdBefore(t, principal, body, opts),
    applyEvent: async (principal, ticketId, input, opts) => (await applyEventOnce(t, principal, ticketId, input, opts)).record,
    applyEventOnce: (principal, ticketId, input, opts) => applyEventOnce(t, principal, ticketId, input, opts),
    appliedUnder: (principal, ticketId, key) => appliedUnder(t, principal, ticketId, key),
    fireTimer: (ticketId, epoch) => fireTimer(t, ticketId, epoch),
    timerOf: async (ticketId) => (await load(kind, ticketId))?.state.context.timer ?? null,
    tellBacklogOutcome: (ticketId, outcome, key) => tellBacklogOutcome(t, ticketId, outcome, key),
    noteOnce: (ticketId, text, key) => noteOnce(t, ticketId, text, key),
    eraseTicket: (principal, id, cause) => eraseTicket(t, principal, id, cause),
    getTicket: (principal, id) => loadInReach(kind, principal, id),
    findTicket: (id) => load(kind, id),
    history: (principal, id) => ticketHistory(t, principal, id),
    historyEntry: async (id, version) => (await deps.store.historyEntry(id, version)) as HistoryEntry | null,
    listTickets: (principal, query) => listTickets(t, principal, query),
    explainCreateInput: (input, issues) => createErrors(deps.topology, input, issues, deps.now()),
    slaTimeline: (record) => toSlaTimeline(deps.topology, record),
    view: (principal, record) => toTicketView(record, principal !== 'system' && canSeeReporter(deps.topology, principal.orgId, reachFacts(record))),
    allowedEvents: (principal, record) => allowedEventTypes(kind.restore(record), actorOf(principal), deps.now()),
  };
}
