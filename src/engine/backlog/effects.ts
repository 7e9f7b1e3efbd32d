import type { BacklogEffectParams, BacklogEffectType } from '../../../machines/backlog.machine.js';
import type { BacklogHistoryEntry } from '../../domain/backlog-event.js';
import type { BacklogScore } from '../../domain/backlog-score.js';
import { backlogEventType, cloudEvent } from '../../domain/cloudevent.js';
import type { Effect } from '../effects.js';
import type { MachineAction } from '../interfaces.js';
import type { BacklogItemRecord } from './record.js';

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

