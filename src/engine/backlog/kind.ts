import type { SnapshotFrom } from 'xstate';
import { BACKLOG_MACHINE_VERSION, createBacklogMachine, type BacklogEvent, type BacklogEventPayload, type BacklogMachine } from '../../../machines/backlog.machine.js';
import { createPureStepper } from '../../../machines/pure.js';
import type { Actor } from '../../../machines/ticket.policy.js';
import type { Principal } from '../../domain/access.js';
import type { BacklogHistoryEntry } from '../../domain/backlog-event.js';
import { createBacklogPolicy } from '../../domain/backlog-policy.js';
import type { Topology } from '../../domain/topology.js';
import { AppError } from '../../errors.js';
import type { Keys } from '../../store/keys.js';
import type { RecordStore, StoredRecord } from '../../store/record-store.js';
import { actorView } from '../effects.js';
import type { MachineKind } from '../interfaces.js';
import type { NewItem } from './interfaces.js';
import { planBacklogChange } from './plan.js';
import { type BacklogItemData, type BacklogItemRecord, type BacklogStatus } from './record.js';
import { refuseBacklogEvent } from './refusal.js';

export type BacklogSnapshot = SnapshotFrom<BacklogMachine>;

export const backlogItemNotFound = (id: string) => new AppError('BACKLOG_ITEM_NOT_FOUND', `No backlog item ${id} in reach`, { itemId: id });

/** The most changes one item takes from callers; Lotse's own LINKs are bounded by maxLinksPerItem. */
const MAX_ITEM_EVENTS = 1000;

/** Whether an organisation runs a service: it holds one of its levels by name. */
export function runsService(topology: Topology, orgId: string, service: string): boolean {
  const s = topology.services.get(service);
  return !!s && Object.values(s.levels).includes(orgId);
}

/**
 * Who reaches an item: operators and the steering committee every one; a
 * provider the items of the services it runs (and a Land's IT provider those
 * its Land's tickets ask for); a desk the items its Land's tickets are linked to.
 */
export function canReachItem(topology: Topology, principal: Principal, record: BacklogItemRecord): boolean {
  if (principal.role === 'operator' || principal.role === 'steering') return true;
  const ctx = record.state.context;
  const lands = new Set(ctx.links.map((l) => l.land));
  if (principal.role === 'provider') {
    return runsService(topology, principal.orgId, ctx.service) || (principal.land !== undefined && topology.orgs.get(principal.orgId)?.kind === 'it-provider' && lands.has(principal.land));
  }
  return principal.land !== undefined && lands.has(principal.land);
}

export interface BacklogKindDeps {
  topology: Topology;
  store: RecordStore;
  keys: Keys;
  source: string;
}

/** The backlog item as one kind of machine record: the same engine as tickets, its own machine, store, reach and effects. */
export function createBacklogKind(deps: BacklogKindDeps) {
  const { topology, store, keys } = deps;
  const policy = createBacklogPolicy(topology);
  const machine = createBacklogMachine(policy);
  const stepper = createPureStepper(machine);
  const persist = (s: BacklogSnapshot): BacklogItemRecord['state'] => ({ value: s.value as BacklogStatus, context: s.context });
  const historyEntry = (before: BacklogItemRecord | null, after: BacklogItemRecord, event: { type: string; at: number; actor: Actor; details?: Record<string, unknown> }): BacklogHistoryEntry => ({
    version: after.version, at: new Date(event.at).toISOString(), type: event.type, actor: actorView(event.actor),
    from: before ? before.state.value : null, to: after.state.value,
    ...(event.details ? { details: compactDetails(event.details) } : {}),
  });

  const kind: MachineKind<BacklogItemRecord, BacklogEventPayload, BacklogSnapshot, BacklogHistoryEntry, NewItem> = {
    noun: 'backlog item',
    machineVersion: BACKLOG_MACHINE_VERSION,
    store,
    maxVersions: MAX_ITEM_EVENTS,
    notFound: backlogItemNotFound,
    toRecord: (stored: StoredRecord): BacklogItemRecord => ({
      id: stored.id,
      version: stored.version,
      data: stored.data as BacklogItemData,
      state: stored.state as BacklogItemRecord['state'],
      updatedAt: stored.updatedAt,
    }),
    canReach: (principal, record) => canReachItem(topology, principal, record),
    restore: (record) => machine.resolveState({ value: record.state.value, context: record.state.context }),
    transition: (snapshot, event) => stepper.transition(snapshot, event as BacklogEvent),
    persist,
    start: (item, at, actor) => {
      const [snapshot, actions] = stepper.initialTransition({ ...item, at });
      const after: BacklogItemRecord = { id: item.id, version: 1, data: { text: item.text }, state: persist(snapshot), updatedAt: at };
      const details = { tickets: item.links.map((l) => l.ticketId), ...(item.splitFrom ? { splitFrom: item.splitFrom } : {}) };
      return { after, entry: historyEntry(null, after, { type: 'CREATED', at, actor, details }), actions };
    },
    refuse: (snapshot, event) => refuseBacklogEvent(policy, snapshot, event as BacklogEvent),
    historyEntry,
    // An item's plan reads nothing but the change.
    loadPlanInputs: async () => undefined,
    plan: (change) => planBacklogChange(topology, keys, deps.source, change),
    dataOf: (record) => record.data,
  };
  return { kind, policy };
}

/** A history entry names the links an event moved by ticket id, not their whole records. */
function compactDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...details };
  if (out.link && typeof out.link === 'object') out.link = (out.link as { ticketId: string; score: number; shared: string[] });
  if (Array.isArray(out.links)) out.links = (out.links as { ticketId: string }[]).map((l) => l.ticketId);
  return out;
}

export type BacklogKind = ReturnType<typeof createBacklogKind>['kind'];
