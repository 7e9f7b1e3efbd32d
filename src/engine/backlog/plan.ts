import type { BacklogHistoryEntry } from '../../domain/backlog-event.js';
import type { Topology } from '../../domain/topology.js';
import { backlogIndexOps } from '../../store/backlog-index.js';
import type { Keys } from '../../store/keys.js';
import { membershipOps, type StoreOp } from '../../store/ops.js';
import type { Change, ChangePlan } from '../interfaces.js';
import { deriveBacklogEffects } from './effects.js';
import { scoreOf, takesLinks, type BacklogItemRecord } from './record.js';

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


/** Everything an item's change writes besides the item itself: effects, listing sets, the text index. Pure. */
export function planBacklogChange(topology: Topology, keys: Keys, source: string, { before, after, entry, actions }: Change<BacklogItemRecord, BacklogHistoryEntry>): ChangePlan {
  const score = scoreOf(topology, after);
  const service = after.state.context.service;
  const textBefore = before && takesLinks(before.state.value) ? before.data.text : null;
  const textAfter = takesLinks(after.state.value) ? after.data.text : null;
  return {
    effects: deriveBacklogEffects(source, after, entry, actions, score),
    ops: [
      ...backlogIndexSetOps(keys, topology, before, after),
      // Only items that still take links are found by new suggestions.
      ...(textBefore || textAfter ? backlogIndexOps(keys.prefix, service, after.id, textBefore, textAfter, after.updatedAt) : []),
    ],
  };
}
