import { handsOffTo } from '../domain/routing.js';
import type { Topology } from '../domain/topology.js';
import { handoffQueueName, ownQueueNames, QUEUE } from '../queue/names.js';

/** Every queue of this Lotse: its own, each organisation's own (`queues:`) and one `handoff-<org>` per organisation that receives handoffs. */
export function lotseQueueNames(topology: Topology): string[] {
  const handoffs = [...topology.orgs.keys()].filter((id) => handsOffTo(topology, id)).map(handoffQueueName);
  return [...Object.values(QUEUE), ...ownQueueNames(topology), ...handoffs];
}

/** Where bull-board shows a queue, or one job of it. */
export const boardUrl = (queue: string, jobId?: string, partition = 0) =>
  `/admin/queues/queue/${encodeURIComponent(boardQueueName(queue, partition))}${jobId ? `/${encodeURIComponent(jobId)}` : ''}`;

/** A queue's name on the board: a partition's own queue (LOTSE_PARTITIONS) as `p<n>.<queue>` beside partition 0's. */
export const boardQueueName = (queue: string, partition = 0) => (partition === 0 ? queue : `p${partition}.${queue}`);
