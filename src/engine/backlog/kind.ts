import type { SnapshotFrom } from 'xstate';
import { explainBacklogRefusal } from '../../../machines/backlog.explain.js';
import { BACKLOG_MACHINE_VERSION, createBacklogMachine, type BacklogEffectParams, type BacklogEffectType, type BacklogEvent, type BacklogEventPayload, type BacklogMachine } from '../../../machines/backlog.machine.js';
import { createPureStepper } from '../../../machines/pure.js';
import type { Principal } from '../../domain/access.js';
import { createBacklogPolicy } from '../../domain/backlog-policy.js';
import { scoreServiceItem, type BacklogScore } from '../../domain/backlog-score.js';
import { backlogEventType, cloudEvent } from '../../domain/cloudevent.js';
import type { Topology } from '../../domain/topology.js';
import { AppError } from '../../errors.js';
import { backlogIndexOps } from '../../store/backlog-index.js';
import type { Keys } from '../../store/keys.js';
import { membershipOps, type StoreOp } from '../../store/ops.js';
import type { RecordStore, StoredRecord } from '../../store/record-store.js';
import type { BacklogHistoryEntry } from '../../domain/backlog-event.js';
import { takesLinks, type BacklogItemData, type BacklogItemRecord, type BacklogStatus } from './record.js';
import { actorView, type Effect } from '../effects.js';
import type { MachineAction, MachineKind } from '../path.js';

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

export const scoreOf = (topology: Topology, record: BacklogItemRecord): BacklogScore =>
  scoreServiceItem(topology, record.state.context.service, record.state.context.links);

/**
 * The listing sets an item is in, with its score there: by score overall,
 * per service, per status and both, per Land asking; by rank the same once
 * ranked. An item merged away is in none: it only answers by id.
 */
export function backlogMembership(topology: Topology, record: BacklogItemRecord): Map<string, number> {
  const m = new Map<string, number>();
  const status = record.state.value;
  if (status === 'merged') return m;
  const ctx = record.state.context;
  const score = scoreOf(topology, record).score;
  const lands = [...new Set(ctx.links.map((l) => l.land))];
  const scopes = ['all', `service:${ctx.service}`, `status:${status}`, `service:${ctx.service}:status:${status}`, ...lands.map((l) => `land:${l}`), ...lands.map((l) => `service:${ctx.service}:land:${l}`)];
  for (const scope of scopes) {
    m.set(`score:${scope}`, score);
    if (ctx.rank !== null) m.set(`rank:${scope}`, ctx.rank);
  }
  return m;
}

export const backlogIndexSetOps = (keys: Keys, topology: Topology, before: BacklogItemRecord | null, after: BacklogItemRecord): StoreOp[] =>
  membershipOps(before ? backlogMembership(topology, before) : new Map(), backlogMembership(topology, after), after.id, keys.backlogIndex);

/** The machine's actions and the change itself as effects, each with a deterministic id. */
export function deriveBacklogEffects(source: string, after: BacklogItemRecord, entry: BacklogHistoryEntry, actions: readonly MachineAction[], score: BacklogScore): Effect[] {
  const id = after.id;
  const v = after.version;
  const ctx = after.state.context;
  const effects: Effect[] = [{
    kind: 'publish',
    id: `${id}-v${v}`,
    event: cloudEvent({
      id: `${id}-v${v}`, source, type: backlogEventType(entry.type), subject: id, at: Date.parse(entry.at), version: v,
      data: { itemId: id, service: ctx.service, title: ctx.title, status: after.state.value, score: score.score, ticketCount: ctx.links.length, ...entry },
    }),
  }];
  for (const action of actions) {
    const type = action.type as BacklogEffectType;
    switch (type) {
      case 'absorbInto': {
        const p = action.params as BacklogEffectParams['absorbInto'];
        effects.push({ kind: 'backlog', id: `${id}-v${v}-absorb`, job: { type: 'absorb', into: p.into, from: p.from, links: p.links } });
        break;
      }
      case 'splitOff': {
        const p = action.params as BacklogEffectParams['splitOff'];
        effects.push({ kind: 'backlog', id: `${id}-v${v}-split`, job: { type: 'split', from: p.from, version: v, links: p.links } });
        break;
      }
      case 'notifyTickets': {
        const p = action.params as BacklogEffectParams['notifyTickets'];
        for (const ticketId of p.tickets) {
          effects.push({
            kind: 'backlog', id: `${id}-v${v}-notify-${ticketId}`,
            job: { type: 'notify', item: id, version: v, ticketId, outcome: p.outcome, ...(p.outcome === 'done' ? { release: p.release } : { reason: p.reason }) },
          });
        }
        break;
      }
      default:
        throw new Error(`the backlog machine asked for an unknown effect ${String(type)}`);
    }
  }
  return effects;
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

  const kind: MachineKind<BacklogItemRecord, BacklogEventPayload, BacklogSnapshot, BacklogHistoryEntry> = {
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
    refuse: (snapshot, event) => {
      const why = explainBacklogRefusal(policy, snapshot, event as BacklogEvent);
      return why.kind === 'forbidden'
        ? new AppError('FORBIDDEN', `In state ${why.state} only ${why.couldSend.join(' or ')} may send ${event.type}`, { allowedEvents: why.allowedEvents })
        : new AppError('INVALID_TRANSITION', `${event.type} is not possible for this item in state ${why.state}`, { state: why.state, allowedEvents: why.allowedEvents });
    },
    historyEntry: (before, after, event) => ({
      version: after.version, at: new Date(event.at).toISOString(), type: event.type, actor: actorView(event.actor),
      from: before ? before.state.value : null, to: after.state.value,
      ...(event.details ? { details: compactDetails(event.details) } : {}),
    }),
    plan({ before, after, entry, actions }) {
      const score = scoreOf(topology, after);
      const service = after.state.context.service;
      const textBefore = before && takesLinks(before.state.value) ? before.data.text : null;
      const textAfter = takesLinks(after.state.value) ? after.data.text : null;
      return {
        effects: deriveBacklogEffects(deps.source, after, entry, actions, score),
        ops: [
          ...backlogIndexSetOps(keys, topology, before, after),
          // Only items that still take links are found by new suggestions.
          ...(textBefore || textAfter ? backlogIndexOps(keys.prefix, service, after.id, textBefore, textAfter, after.updatedAt) : []),
        ],
      };
    },
    dataOf: (record) => record.data,
  };
  return { kind, machine, stepper, persist, policy };
}

/** A history entry names the links an event moved by ticket id, not their whole records. */
function compactDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...details };
  if (out.link && typeof out.link === 'object') out.link = (out.link as { ticketId: string; score: number; shared: string[] });
  if (Array.isArray(out.links)) out.links = (out.links as { ticketId: string }[]).map((l) => l.ticketId);
  return out;
}
