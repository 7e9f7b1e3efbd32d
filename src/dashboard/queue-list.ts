import { handsOffTo } from '../domain/routing.js';
import type { Topology } from '../domain/topology.js';
import { handoffQueueName, QUEUE } from '../queue/names.js';

/** Every queue of this Lotse: its own five and one `handoff-<org>` per organisation that receives handoffs. */
export function lotseQueueNames(topology: Topology): string[] {
  const handoffs = [...topology.orgs.keys()].filter((id) => handsOffTo(topology, id)).map(handoffQueueName);
  return [...Object.values(QUEUE), ...handoffs];
}

/** Where bull-board shows a queue, or one job of it. */
export const boardUrl = (queue: string, jobId?: string) =>
  `/admin/queues/queue/${encodeURIComponent(queue)}${jobId ? `/${encodeURIComponent(jobId)}` : ''}`;
