import type { LandCode } from './ids.js';
import type { Priority, Topology } from './topology.js';

/**
 * What the backlog item machine needs to know of the world, handed in once
 * so the machine stays pure: who owns a service's backlog and how many
 * tickets one item may hold. Defined here, beside the function that builds
 * it from a topology, so the domain needs nothing of machines/.
 */
export interface BacklogPolicy {
  /** The organisation that keeps and prioritises a service's backlog (`services[].backlogOwner`). */
  backlogOwnerOf(service: string): string | undefined;
  /** The most tickets one item of a service links (`backlog.maxLinksPerItem`): its Redis size stays bounded. */
  maxLinksPerItem(service: string): number;
}

/** How a ticket came to an item. */
export const LINK_SOURCES = ['suggestion', 'improvement', 'recurring'] as const;
export type LinkSource = (typeof LINK_SOURCES)[number];

/**
 * One ticket asking for an item, with why it was matched (the score and the
 * terms its text shares with the item), so the view can explain the link.
 */
export interface BacklogLink {
  ticketId: string;
  land: LandCode;
  priority: Priority;
  /** The similarity that matched the ticket to the item, 0..1 (1 for the ticket that opened it). */
  score: number;
  /** The normalised terms the ticket's text shares with the item. */
  shared: string[];
  at: number;
  source: LinkSource;
}

/** The backlog item machine's view of a topology: each service's owner and bound on links. */
export function createBacklogPolicy(topology: Topology): BacklogPolicy {
  return {
    backlogOwnerOf: (service) => topology.services.get(service)?.backlogOwner,
    maxLinksPerItem: (service) => topology.services.get(service)?.backlog.maxLinksPerItem ?? topology.config.backlog.maxLinksPerItem,
  };
}
