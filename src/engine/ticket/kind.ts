import type { SnapshotFrom } from 'xstate';
import { createPureStepper } from '../../../machines/pure.js';
import { createTicketMachine, TICKET_MACHINE_VERSION, type TicketEvent, type TicketEventPayload } from '../../../machines/ticket.machine.js';
import { canReach } from '../../domain/access.js';
import { createTicketPolicy } from '../../domain/ticket-policy.js';
import type { Service, Topology } from '../../domain/topology.js';
import { ticketNotFound } from '../../errors.js';
import type { Keys } from '../../store/keys.js';
import type { DelayedJobRemoval, StoredRecord } from '../../store/record-store.js';
import { delayedJobKeys } from '../../queue/job-keys.js';
import { QUEUE } from '../../queue/names.js';
import type { TicketStore } from '../../store/ticket-store.js';
import { ticketStoreOps } from './plan.js';
import { connectorOps } from './connector-ops.js';
import type { CreateTicket, HistoryEntry } from '../../domain/ticket.js';
import type { Actor } from '../../../machines/ticket.policy.js';
import type { LandCode } from '../../domain/ids.js';
import { actorView } from '../effects.js';
import { deriveEffects, providerToUpdate } from './effects.js';
import type { MachineKind } from '../interfaces.js';
import { explainRefusal } from './refusal.js';
import { reachFacts, stateInfo, type TicketState, type TicketData, type TicketRecord } from './record.js';

/**
 * How many of the latest history entries a handoff or update CloudEvent
 * carries: a payload stays small however long a ticket lives; the rest is
 * at `historyUrl`.
 */
export const HISTORY_EXCERPT = 20;

export type TicketMachine = ReturnType<typeof createTicketMachine>;
export type TicketSnapshot = SnapshotFrom<TicketMachine>;

/** A creation checked against the topology: the body, its Land and service, when it was received, its id. */
export interface NewTicket {
  id: string;
  body: CreateTicket & { createdBy: string };
  land: LandCode;
  service: Service;
  receivedAt: number;
}

export interface TicketKindDeps {
  topology: Topology;
  store: TicketStore;
  keys: Keys;
  source: string;
}

/** The ticket as one kind of machine record: what the generic engine needs to know of it. */
export function createTicketKind(deps: TicketKindDeps) {
  const { topology, store, keys } = deps;
  const machine = createTicketMachine(createTicketPolicy(topology));
  // xstate's pure initialTransition/transition, with their inert actor scope built once.
  const stepper = createPureStepper(machine);
  const persist = (s: TicketSnapshot): TicketState => ({ value: s.value as TicketState['value'], context: s.context });
  const historyEntry = (before: TicketRecord | null, after: TicketRecord, event: { type: string; at: number; actor: Actor; details?: Record<string, unknown> }, next: TicketSnapshot): HistoryEntry => {
    const to = stateInfo(after.state.value);
    return {
      version: after.version, at: new Date(event.at).toISOString(), type: event.type, actor: actorView(event.actor),
      from: before ? stateInfo(before.state.value).path : null, to: to.path, level: to.level,
      assignee: to.active || !before ? next.context.assignee : null,
      ...(event.details ? { details: event.details } : {}),
    };
  };

  const kind: MachineKind<TicketRecord, TicketEventPayload, TicketSnapshot, HistoryEntry, NewTicket, readonly HistoryEntry[]> = {
    noun: 'ticket',
    machineVersion: TICKET_MACHINE_VERSION,
    store,
    maxVersions: topology.config.tickets.maxEvents,
    notFound: ticketNotFound,
    toRecord: (stored: StoredRecord): TicketRecord => ({
      id: stored.id,
      version: stored.version,
      data: stored.data as TicketData,
      reporter: stored.reporter as TicketRecord['reporter'],
      origin: stored.origin as TicketRecord['origin'],
      state: stored.state as TicketState,
      updatedAt: stored.updatedAt,
    }),
    canReach: (principal, record) => canReach(topology, principal, reachFacts(record)),
    start: ({ id, body, land, service, receivedAt }, at, actor) => {
      const [snapshot, actions] = stepper.initialTransition({
        id,
        facts: { service: service.id, land, category: body.category },
        createdBy: body.createdBy,
        impact: body.impact,
        urgency: body.urgency,
        receivedAt,
        at,
      });
      const data: TicketData = {
        externalRef: body.externalRef, channel: body.channel, ars: body.ars,
        themeField: service.themeField, subject: body.subject, description: body.description,
        attachments: body.attachments,
      };
      const after: TicketRecord = { id, version: 1, data, reporter: body.reporter ?? null, state: persist(snapshot), updatedAt: at };
      const entry = historyEntry(null, after, {
        type: 'CREATED', at, actor,
        details: { priority: snapshot.context.priority, category: body.category, channel: body.channel },
      }, snapshot);
      return { after, entry, actions };
    },
    restore: (record) => machine.resolveState({ value: record.state.value, context: record.state.context }),
    transition: (snapshot, event) => stepper.transition(snapshot, event as TicketEvent),
    persist,
    refuse: (snapshot, event, record) => explainRefusal(snapshot, event as TicketEvent, record),
    historyEntry,
    async loadPlanInputs({ before, after, actions, actor }) {
      // Providers get the latest of the ticket's history with a handoff or an update; only then is it read.
      const needsHistory = actions.some((a) => a.type === 'handOff') || providerToUpdate(topology, before, after, actor) !== null;
      return needsHistory && before ? ((await store.historyTail(after.id, HISTORY_EXCERPT - 1)) as HistoryEntry[]) : [];
    },
    plan: ({ before, after, entry, actions, actor }, earlier) => {
      const effects = deriveEffects({ topology, source: deps.source, before, after, entry, actions, actor, history: [...earlier, entry] });
      // A timer cancelled: the commit removes its delayed job itself when it publishes the change's events itself (COMMIT), else the relay does.
      const delayedJobs: DelayedJobRemoval[] = effects.flatMap((e) => (e.kind === 'timer.cancel' ? [{ effectId: e.id, jobId: e.id, ...delayedJobKeys(keys.prefix, QUEUE.sla, e.id) }] : []));
      // Organisations with a connector: their handoffs queued and correlated in this same commit.
      return { effects, ops: [...ticketStoreOps(keys, topology, before, after, entry), ...connectorOps(keys.prefix, topology, effects, Date.parse(entry.at))], ...(delayedJobs.length > 0 ? { delayedJobs } : {}) };
    },
    writeOnce: (record) => record.reporter ?? undefined,
    dataOf: (record) => record.data,
  };
  return { kind, machine };
}
