import type { EffectParams, MachineEffectType } from '../../../machines/ticket.machine.js';
import type { Actor } from '../../../machines/ticket.policy.js';
import { canSeeReporter } from '../../domain/access.js';
import { cloudEvent, HANDOFF_EVENT_TYPES, ticketEventType } from '../../domain/cloudevent.js';
import { handsOffTo } from '../../domain/routing.js';
import type { Topology } from '../../domain/topology.js';
import type { HistoryEntry } from '../../domain/ticket.js';
import { timerJobId, type Effect } from '../effects.js';
import { reachFacts, stateInfo, type TicketRecord } from './record.js';
import { toTicketView } from './view.js';

interface DeriveInput {
  topology: Topology;
  source: string;
  before: TicketRecord | null;
  after: TicketRecord;
  entry: HistoryEntry;
  actions: readonly { type: string; params?: unknown }[];
  actor: Actor;
  /** What providers get to read of the ticket's past. */
  history: readonly HistoryEntry[];
}

/**
 * What a provider gets: the ticket view (reporter only where the service
 * allows) and the latest of its history, an excerpt of `historyTotal`
 * entries whose whole is at `historyUrl`.
 */
export function providerPayload(topology: Topology, record: TicketRecord, orgId: string, history: readonly HistoryEntry[]) {
  return {
    ticket: toTicketView(record, canSeeReporter(topology, orgId, reachFacts(record))),
    history,
    historyTotal: record.version,
    historyUrl: `/v1/tickets/${record.id}/history`,
  };
}

/** Turns the machine's actions and the change itself into effects. */
export function deriveEffects(input: DeriveInput): Effect[] {
  const { after, entry, source, topology } = input;
  const id = after.id;
  const v = after.version;
  const at = Date.parse(entry.at);
  const effects: Effect[] = [
    {
      kind: 'publish',
      id: `${id}-v${v}`,
      event: cloudEvent({ id: `${id}-v${v}`, source, type: ticketEventType(entry.type), subject: id, at, version: v, data: { ticketId: id, ...entry } }),
    },
  ];
  const handoffEvent = (orgId: string, type: string, suffix: string, data: unknown) =>
    ({ kind: 'handoff', id: `${id}-v${v}-${suffix}-${orgId}`, orgId, event: cloudEvent({ id: `${id}-v${v}-${suffix}-${orgId}`, source, type, subject: id, at, version: v, data }) }) as const;
  const handedTo = new Set<string>();

  for (const action of input.actions) {
    const type = action.type as MachineEffectType;
    switch (type) {
      case 'handOff': {
        const p = action.params as EffectParams['handOff'];
        handedTo.add(p.orgId);
        effects.push(handoffEvent(p.orgId, HANDOFF_EVENT_TYPES.requested, 'handoff', {
          ...providerPayload(topology, after, p.orgId, input.history),
          attempt: p.attempt,
          reason: p.reason,
          // A ticket handed back to a provider that had already taken it needs no new receipt.
          receiptRequired: after.state.context.handoff?.orgId === p.orgId,
        }));
        break;
      }
      case 'withdrawHandoff': {
        const p = action.params as EffectParams['withdrawHandoff'];
        effects.push(handoffEvent(p.orgId, HANDOFF_EVENT_TYPES.withdrawn, 'withdrawn', { ticketId: id, version: v, reason: p.reason, state: stateInfo(after.state.value).path }));
        break;
      }
      case 'notify': {
        const p = action.params as EffectParams['notify'];
        effects.push({
          kind: 'publish',
          id: `${id}-v${v}-notify`,
          event: cloudEvent({ id: `${id}-v${v}-notify`, source, type: 'lotse.notification', subject: id, at, version: v, data: { ticketId: id, ...p } }),
        });
        break;
      }
      case 'suggestImprovement': {
        // The text stays in the ticket's history entry: the job names where to read it.
        effects.push({ kind: 'backlog', id: `${id}-v${v}-suggest`, job: { type: 'suggest', ticketId: id, version: v, source: 'suggestion' } });
        break;
      }
      case 'armTimer': {
        const p = action.params as EffectParams['armTimer'];
        effects.push({ kind: 'timer.arm', id: timerJobId(id, p.epoch), ticketId: id, epoch: p.epoch, fireAt: p.at });
        break;
      }
      case 'moveTimer': {
        const p = action.params as EffectParams['moveTimer'];
        effects.push({ kind: 'timer.move', id: timerJobId(id, p.epoch), ticketId: id, epoch: p.epoch, fireAt: p.at });
        break;
      }
      case 'cancelTimer': {
        const p = action.params as EffectParams['cancelTimer'];
        effects.push({ kind: 'timer.cancel', id: timerJobId(id, p.epoch), ticketId: id, epoch: p.epoch });
        break;
      }
      default:
        // assign and other built-ins never reach here; an unknown name is a bug in the machine
        throw new Error(`the ticket machine asked for an unknown effect ${String(type)}`);
    }
  }

  if (!input.before) effects.push(...feedOnCreation(after));

  const holder = providerToUpdate(topology, input.before, after, input.actor);
  if (holder && !handedTo.has(holder)) {
    effects.push(handoffEvent(holder, HANDOFF_EVENT_TYPES.updated, 'updated', { ...providerPayload(topology, after, holder, input.history), change: entry.type }));
  }
  return effects;
}

/** The provider that keeps the ticket through a change it did not make itself, and so gets an update; else null. */
export function providerToUpdate(topology: Topology, before: TicketRecord | null, after: TicketRecord, actor: Actor): string | null {
  const holder = after.state.context.assignee;
  const stillHeld = before?.state.context.assignee === holder && stateInfo(after.state.value).active;
  const byHolder = actor.type === 'principal' && actor.orgId === holder;
  return stillHeld && !byHolder && handsOffTo(topology, holder) ? holder : null;
}

/**
 * What a new ticket gives the backlog: an improvement is a suggestion of its
 * own; a technical ticket may be one more report of a recurring problem.
 */
function feedOnCreation(ticket: TicketRecord): Effect[] {
  if (ticket.state.context.facts.category === 'improvement') {
    return [{ kind: 'backlog', id: `${ticket.id}-improvement`, job: { type: 'suggest', ticketId: ticket.id, version: 1, source: 'improvement' } }];
  }
  if (ticket.state.context.facts.category === 'technical') return [{ kind: 'backlog', id: `${ticket.id}-observe`, job: { type: 'observe', ticketId: ticket.id } }];
  return [];
}
