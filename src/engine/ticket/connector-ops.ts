import { HANDOFF_EVENT_TYPES } from '../../domain/cloudevent.js';
import type { Topology } from '../../domain/topology.js';
import { connectorKeys, PENDING } from '../../store/connector-store.js';
import type { StoreOp } from '../../store/ops.js';
import type { Effect } from '../effects.js';

/**
 * What a commit writes for organisations that work in a ticket system of
 * their own (`organisations[].connector`): each handoff effect to one is
 * queued (`cx:<org>:queued`, read as the connector's queued figure), and a
 * handoff request enters the correlation as `pending` unless the ticket has
 * one (HSETNX), in the same commit as the handoff. The connector worker
 * fills in the remote id when the remote create answers.
 */
export function connectorOps(prefix: string, topology: Topology, effects: readonly Effect[], at: number): StoreOp[] {
  const ops: StoreOp[] = [];
  for (const e of effects) {
    if (e.kind !== 'handoff' || !topology.orgs.get(e.orgId)?.connector) continue;
    const keys = connectorKeys(prefix, e.orgId);
    ops.push({ op: 'zadd', key: keys.queued, member: e.id, score: at });
    if (e.event.type === HANDOFF_EVENT_TYPES.requested) ops.push({ op: 'hsetnx', key: keys.link, field: e.event.subject, value: PENDING });
  }
  return ops;
}
