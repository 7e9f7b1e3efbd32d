import type { BacklogPolicy } from '../../machines/backlog.policy.js';
import type { Topology } from './topology.js';

/** The backlog item machine's view of a topology: each service's owner and bound on links. */
export function createBacklogPolicy(topology: Topology): BacklogPolicy {
  return {
    backlogOwnerOf: (service) => topology.services.get(service)?.backlogOwner,
    maxLinksPerItem: (service) => topology.services.get(service)?.backlog.maxLinksPerItem ?? topology.config.backlog.maxLinksPerItem,
  };
}
