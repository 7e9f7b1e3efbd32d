import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { SnapshotFrom } from 'xstate';
import { createPureStepper } from '../../machines/pure.js';
import { createTicketMachine, TICKET_MACHINE_VERSION, timerEvent, type TicketEvent, type TicketEventPayload } from '../../machines/ticket.machine.js';
import type { Actor } from '../../machines/ticket.policy.js';
import { canReach, canSeeReporter, type Principal } from '../domain/access.js';
import { landOf } from '../domain/routing.js';
import { CreateTicketSchema, TicketEventInputSchema, type CreateTicket, type TicketView } from '../domain/ticket.js';
import { createTicketPolicy } from '../domain/ticket-policy.js';
import type { Topology } from '../domain/topology.js';
import { AppError, fieldErrors, ticketNotFound, validationFailed, type FieldError } from '../errors.js';
import { doneRecord, parseRecord, type IdempotencyRecord, type IdempotencyStore } from '../store/idempotency.js';
import type { Keys } from '../store/keys.js';
import type { StoredTicket, TicketStore } from '../store/ticket-store.js';
import { indexOps } from './commit-plan.js';
import { actorView, deriveEffects, providerToUpdate, type HistoryEntry } from './effects.js';
import { reachFacts, stateInfo, type PersistedTicket, type TicketData, type TicketRecord } from './ticket-record.js';
import { toTicketView } from './view.js';
import { toSlaTimeline } from './sla-view.js';
import { allowedEventTypes, explainRefusal } from './refusal.js';
import { listTickets, type ListQuery } from './list.js';
import { failpoint } from '../failpoints.js';

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

const MAX_ATTEMPTS = 8;
const IDEMPOTENCY_PENDING_MS = 30_000;
/** How long the record of an event sent with an idempotency key is kept: longer than any sender retries. */
export const EVENT_IDEMPOTENCY_TTL_S = 7 * 86_400;
const RECEIVED_AT_MAX_AGE_MS = 7 * 86_400_000;
const CLOCK_SKEW_MS = 60_000;

export type TicketMachine = ReturnType<typeof createTicketMachine>;

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
}

export function actorOf(principal: Principal | 'system'): Actor {
  return principal === 'system' ? { type: 'system' } : { type: 'principal', orgId: principal.orgId, role: principal.role, land: principal.land };
}

/** 128 bits of SHA-256, base64url: collisions are out of reach, records stay short. */
export const idempotencyDigest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
const fingerprint = (body: unknown) => idempotencyDigest(canonicalJson(body));

/** JSON with sorted keys, so the same body always has the same fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function createEngine(deps: EngineDeps) {
  const { topology, store, keys } = deps;
  const machine = createTicketMachine(createTicketPolicy(topology));
  // xstate's pure initialTransition/transition, with their inert actor scope built once.
  const stepper = createPureStepper(machine);

  function toRecord(stored: StoredTicket): TicketRecord {
    if (stored.machineVersion !== TICKET_MACHINE_VERSION) {
      throw new Error(`ticket ${stored.id} has machine version ${stored.machineVersion}; this Lotse runs ${TICKET_MACHINE_VERSION} and knows no migration`);
    }
    return {
      id: stored.id,
      version: stored.version,
      data: stored.data as TicketData,
      reporter: stored.reporter as TicketRecord['reporter'],
      state: stored.snapshot as PersistedTicket,
      updatedAt: stored.updatedAt,
    };
  }

  const persist = (s: SnapshotFrom<TicketMachine>): PersistedTicket => ({ value: s.value as PersistedTicket['value'], context: s.context });
  const restore = (record: TicketRecord) => machine.resolveState({ value: record.state.value, context: record.state.context });

  async function loadInReach(principal: Principal | 'system', id: string): Promise<TicketRecord> {
    const stored = await store.load(id);
    if (!stored) throw ticketNotFound(id);
    const record = toRecord(stored);
    if (principal !== 'system' && !canReach(topology, principal, reachFacts(record))) throw ticketNotFound(id);
    return record;
  }

  /** Everything one change writes, committed at once; effects follow through the outbox. */
  async function commitChange(
    before: TicketRecord | null,
    after: TicketRecord,
    entry: HistoryEntry,
    actions: readonly { type: string; params?: unknown }[],
    actor: Actor,
    idempotency?: { key: string; fp: string; ttlSeconds?: number },
  ) {
    // Providers get the ticket's history with a handoff or an update; only then is it read.
    const needsHistory = actions.some((a) => a.type === 'handOff') || providerToUpdate(topology, before, after, actor) !== null;
    const history = needsHistory && before ? [...((await store.history(after.id)) as HistoryEntry[]), entry] : [entry];
    const effects = deriveEffects({ topology, source: deps.source, before, after, entry, actions, actor, history });
    return store.commit({
      id: after.id,
      expectedVersion: before?.version ?? 0,
      version: after.version,
      snapshot: after.state,
      machineVersion: TICKET_MACHINE_VERSION,
      updatedAt: after.updatedAt,
      data: after.data,
      ...(before ? {} : { reporter: after.reporter }),
      history: entry,
      effects,
      indexOps: indexOps(keys, topology, before, after),
      ...(idempotency ? { idempotency: { key: idempotency.key, record: doneRecord(idempotency.fp, after.id), fingerprint: idempotency.fp, ...(idempotency.ttlSeconds ? { ttlSeconds: idempotency.ttlSeconds } : {}) } } : {}),
    });
  }

  /**
   * What the schema cannot know: the Land of an ARS, the services of this
   * topology, the age of `receivedAt`. Reads raw input too, so one answer can
   * name every wrong field even when others are malformed.
   */
  function topologyErrors(input: unknown, now: number): FieldError[] {
    if (!input || typeof input !== 'object') return [];
    const raw = input as Record<string, unknown>;
    const errors: FieldError[] = [];
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const land = str(raw.land) as CreateTicket['land'];
    const ars = str(raw.ars);
    if (land !== undefined || ars !== undefined) {
      const place = landOf(topology, { land, ars });
      if ('error' in place) errors.push(place.error);
    }
    const service = str(raw.service);
    if (service !== undefined && !topology.services.has(service)) {
      errors.push({ path: 'service', message: `unknown service; known: ${[...topology.services.keys()].join(', ')}` });
    }
    const receivedAt = str(raw.receivedAt) === undefined ? NaN : Date.parse(str(raw.receivedAt)!);
    if (receivedAt > now + CLOCK_SKEW_MS) errors.push({ path: 'receivedAt', message: 'must not be in the future' });
    else if (receivedAt < now - RECEIVED_AT_MAX_AGE_MS) errors.push({ path: 'receivedAt', message: 'must not be older than 7 days' });
    return errors;
  }

  /** Every wrong field of a create body: its shape and its fit with the topology. */
  function createErrors(input: unknown, issues: FieldError[], now: number): FieldError[] {
    const seen = new Set(issues.map((e) => e.path));
    return [...issues, ...topologyErrors(input, now).filter((e) => !seen.has(e.path))];
  }

  function checkAgainstTopology(body: CreateTicket, now: number) {
    const errors = topologyErrors(body, now);
    const place = landOf(topology, body);
    const service = topology.services.get(body.service);
    if (errors.length > 0 || 'error' in place || !service) throw validationFailed(errors);
    const receivedAt = body.receivedAt === undefined ? now : Math.min(Date.parse(body.receivedAt), now);
    return { land: place.land, service, receivedAt };
  }

  /**
   * The one path of change for an existing ticket: load, decide the event on
   * what was loaded, run the machine, commit. A concurrent change makes it
   * load and decide again, unless the caller pinned a version. `decide`
   * answering null means nothing to do (null is returned). With an
   * idempotency key, its record is read with every load: a key already used
   * for this event answers with the ticket as it is (`replayed`).
   */
  async function change(
    principal: Principal | 'system',
    ticketId: string,
    decide: (before: TicketRecord) => TicketEventPayload | null,
    opts: { ifMatch?: number | undefined; idempotency?: { key: string; fp: string } } = {},
  ): Promise<{ record: TicketRecord; replayed: boolean } | null> {
    const actor = actorOf(principal);
    const idem = opts.idempotency;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [before, used] = await Promise.all([loadInReach(principal, ticketId), idem ? deps.idempotency.get(idem.key) : null]);
      if (used) {
        if (used.fp !== idem!.fp) throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used with a different event');
        return { record: before, replayed: true };
      }
      if (opts.ifMatch !== undefined && opts.ifMatch !== before.version) {
        throw new AppError('PRECONDITION_FAILED', `The ticket is at version ${before.version}, not ${opts.ifMatch}`, { version: before.version });
      }
      const payload = decide(before);
      if (!payload) return null;
      const now = deps.now();
      const event = { ...payload, at: now, actor } as TicketEvent;
      const snapshot = restore(before);
      if (!snapshot.can(event)) throw explainRefusal(snapshot, event, before);
      const [next, actions] = stepper.transition(snapshot, event);
      const after: TicketRecord = { ...before, version: before.version + 1, state: persist(next), updatedAt: now };
      const from = stateInfo(before.state.value);
      const to = stateInfo(after.state.value);
      const { type, at: _at, actor: _actor, ...details } = event as TicketEvent & Record<string, unknown>;
      const entry: HistoryEntry = {
        version: after.version, at: new Date(now).toISOString(), type, actor: actorView(actor),
        from: from.path, to: to.path, level: to.level, assignee: to.active ? next.context.assignee : null,
        ...(Object.keys(details).length > 0 ? { details } : {}),
      };
      const result = await commitChange(before, after, entry, actions, actor, idem && { ...idem, ttlSeconds: EVENT_IDEMPOTENCY_TTL_S });
      if (result.status === 'ok') {
        failpoint('engine-after-commit');
        deps.onEventApplied?.({ before, after, entry });
        return { record: after, replayed: false };
      }
      if (opts.ifMatch !== undefined) {
        throw new AppError('PRECONDITION_FAILED', 'The ticket changed meanwhile', { version: result.status === 'stale' ? result.currentVersion : before.version });
      }
    }
    throw new AppError('VERSION_CONFLICT', 'The ticket kept changing; try again');
  }

  async function replay(record: IdempotencyRecord, fp: string): Promise<{ record: TicketRecord; replayed: true }> {
    if (record.fp !== fp) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used with a different body');
    }
    if (record.state === 'pending') {
      throw new AppError('IDEMPOTENCY_IN_FLIGHT', 'A request with this idempotency key is still being processed');
    }
    return { record: await loadInReach('system', record.ticketId), replayed: true };
  }

  return {
    machine,
    toRecord,

    /** Creates a ticket once per idempotency key (default: the body's externalRef) and organisation. */
    async createTicket(principal: Principal, input: unknown, opts: CreateOptions = {}) {
      const parsed = CreateTicketSchema.safeParse(input);
      if (!parsed.success) throw validationFailed(createErrors(input, fieldErrors(parsed.error.issues), deps.now()));
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
      const { land, service, receivedAt } = checkAgainstTopology(body, now);

      const fp = fingerprint(body);
      const keyHash = idempotencyDigest(opts.idempotencyKey ?? body.externalRef);
      const idemKey = deps.idempotency.key(principal.orgId, keyHash);
      if (opts.reserve !== false) {
        const reservation = await deps.idempotency.reserve(idemKey, fp, IDEMPOTENCY_PENDING_MS);
        if (!reservation.reserved) return replay(reservation.record, fp);
      }

      try {
        const id = deps.newId(now);
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
        const info = stateInfo(record.state.value);
        const entry: HistoryEntry = {
          version: 1, at: new Date(now).toISOString(), type: 'CREATED', actor: actorView(actorOf(principal)),
          from: null, to: info.path, level: info.level, assignee: snapshot.context.assignee,
          details: { priority: snapshot.context.priority, category: body.category, channel: body.channel },
        };
        const result = await commitChange(null, record, entry, actions, actorOf(principal), { key: idemKey, fp });
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

    /** The same, telling whether an idempotency key made it a replay of an event applied before. */
    async applyEventOnce(principal: Principal | 'system', ticketId: string, input: unknown, opts: EventOptions = {}) {
      const parsed = principal === 'system' ? { success: true as const, data: input as TicketEventPayload } : TicketEventInputSchema.safeParse(input);
      if (!parsed.success) throw validationFailed(fieldErrors(parsed.error.issues));
      const payload = parsed.data;
      if (payload.type === 'ASSIGN' && !topology.orgs.has(payload.assignee)) {
        throw validationFailed([{ path: 'assignee', message: 'unknown organisation' }]);
      }
      // Scoped to the caller's organisation and the ticket: the same key on another ticket is another request.
      const idempotency = opts.idempotencyKey !== undefined && principal !== 'system'
        ? { key: deps.idempotency.key(principal.orgId, idempotencyDigest(`event\n${ticketId}\n${opts.idempotencyKey}`)), fp: fingerprint(payload) }
        : undefined;
      return (await change(principal, ticketId, () => payload as TicketEventPayload, { ifMatch: opts.ifMatch, ...(idempotency ? { idempotency } : {}) }))!;
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
        if (await change('system', ticketId, decide)) return { applied: true, event: event!.type };
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'TICKET_NOT_FOUND')) throw err;
      }
      return { applied: false, ...(rescheduleAt !== undefined ? { rescheduleAt } : {}) };
    },

    async getTicket(principal: Principal, id: string) {
      return loadInReach(principal, id);
    },

    async history(principal: Principal, id: string) {
      await loadInReach(principal, id);
      return (await store.history(id)) as HistoryEntry[];
    },

    async listTickets(principal: Principal, query: ListQuery) {
      return listTickets({ store, keys, toRecord }, principal, query);
    },

    /** Every wrong field of a create body whose shape failed, with the topology's checks added. */
    explainCreateInput(input: unknown, issues: FieldError[]): FieldError[] {
      return createErrors(input, issues, deps.now());
    },

    slaTimeline(record: TicketRecord) {
      return toSlaTimeline(topology, record);
    },

    view(principal: Principal | 'system', record: TicketRecord): TicketView {
      const withReporter = principal !== 'system' && canSeeReporter(topology, principal.orgId, reachFacts(record));
      return toTicketView(record, withReporter);
    },

    allowedEvents(principal: Principal, record: TicketRecord): string[] {
      return allowedEventTypes(restore(record), actorOf(principal), deps.now());
    },
  };
}

export type Engine = ReturnType<typeof createEngine>;
