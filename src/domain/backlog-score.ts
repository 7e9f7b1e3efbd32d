import type { LandCode } from './ids.js';
import type { Priority, Topology } from './topology.js';

/**
 * A backlog item's score: how strongly the Länder's tickets ask for it, from
 * 0 to 100, as the sum of four parts the view shows as they are:
 *
 *   score = tickets + lands + population + priority        (points)
 *
 *   tickets    = 30 × log2(1 + n) / log2(1 + 100), at most 30
 *                n distinct tickets; each more counts less, 100 tickets fill the part
 *   lands      = 20 × (distinct Länder asking) / (participating Länder), at most 20
 *   population = 30 × (people of the Länder asking) / (people of the participating Länder), at most 30
 *                Zensus 2022 from the topology: a wish from NW stands for more people than one from HB
 *   priority   = 20 × mean of the tickets' priority weights
 *                P1 = 1, P2 = 0.6, P3 = 0.3, P4 = 0.1: a P1 weighs most
 *
 * A ticket counts once, however often it was linked. Each part is rounded
 * to two decimals and the score is their sum, so what the view shows adds up.
 */

export const SCORE_WEIGHTS = { tickets: 30, lands: 20, population: 30, priority: 20 } as const;
/** The ticket count at which the tickets part is full. */
export const TICKETS_FOR_FULL_PART = 100;
export const PRIORITY_WEIGHTS: Readonly<Record<Priority, number>> = { P1: 1, P2: 0.6, P3: 0.3, P4: 0.1 };

export interface ScoredLink {
  ticketId: string;
  land: LandCode;
  priority: Priority;
}

export interface ScoreInput {
  links: readonly ScoredLink[];
  /** The Länder that take part in the service (they share its costs and its backlog). */
  participants: readonly LandCode[];
  /** The population of a Land (Zensus 2022 from the topology). */
  populationOf(land: LandCode): number;
}

export interface BacklogScore {
  score: number;
  /** Points of each part; they add up to `score`. */
  parts: { tickets: number; lands: number; population: number; priority: number };
  /** What the parts were computed from, for the view. */
  counts: { tickets: number; lands: LandCode[]; population: number; participatingLands: number; participatingPopulation: number };
}

/** Points in hundredths, so the parts add up exactly. */
const hundredths = (points: number) => Math.round(points * 100);

export function scoreBacklogItem({ links, participants, populationOf }: ScoreInput): BacklogScore {
  const byTicket = new Map<string, ScoredLink>();
  for (const link of links) if (!byTicket.has(link.ticketId)) byTicket.set(link.ticketId, link);
  const tickets = [...byTicket.values()];
  const lands = [...new Set(tickets.map((t) => t.land))].sort();
  const population = lands.reduce((sum, land) => sum + populationOf(land), 0);
  const participating = [...new Set(participants)];
  const participatingPopulation = participating.reduce((sum, land) => sum + populationOf(land), 0);

  const share = (part: number, whole: number) => (whole > 0 ? Math.min(1, part / whole) : 0);
  const n = tickets.length;
  const raw = {
    tickets: SCORE_WEIGHTS.tickets * Math.min(1, Math.log2(1 + n) / Math.log2(1 + TICKETS_FOR_FULL_PART)),
    lands: SCORE_WEIGHTS.lands * share(lands.length, participating.length),
    population: SCORE_WEIGHTS.population * share(population, participatingPopulation),
    priority: n === 0 ? 0 : (SCORE_WEIGHTS.priority * tickets.reduce((sum, t) => sum + PRIORITY_WEIGHTS[t.priority], 0)) / n,
  };
  const h = { tickets: hundredths(raw.tickets), lands: hundredths(raw.lands), population: hundredths(raw.population), priority: hundredths(raw.priority) };
  return {
    score: (h.tickets + h.lands + h.population + h.priority) / 100,
    parts: { tickets: h.tickets / 100, lands: h.lands / 100, population: h.population / 100, priority: h.priority / 100 },
    counts: { tickets: n, lands, population, participatingLands: participating.length, participatingPopulation },
  };
}

/** The score of an item of a service, with the service's participants and the topology's populations. */
export function scoreServiceItem(topology: Topology, service: string, links: readonly ScoredLink[]): BacklogScore {
  const participants = topology.services.get(service)?.participants ?? [...topology.lands.keys()];
  return scoreBacklogItem({ links, participants, populationOf: (land) => topology.lands.get(land)?.population ?? 0 });
}
