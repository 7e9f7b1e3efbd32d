import type { Principal } from '../../domain/access.js';
import { partitionOfLand, type PartitionLayout } from '../../domain/partitions.js';
import { landOf } from '../../domain/routing.js';
import { CreateTicketSchema, type CreateTicket } from '../../domain/ticket.js';
import type { Topology } from '../../domain/topology.js';
import type { CreateOptions, TicketEngine } from './interfaces.js';

/**
 * The ticket engine over partitions (LOTSE_PARTITIONS): one engine per
 * partition, each with its own store, keys and idempotency records, so every
 * commit stays in its partition's slot. A creation goes to the partition of
 * its Land, everything else to the partition its ticket id names; lists read
 * every partition merged (`lists`, an engine whose lister is mergedLister).
 * With one partition this is that partition's engine itself.
 */
export function partitionedTicketEngine(o: { layout: PartitionLayout; engines: readonly TicketEngine[]; lists: TicketEngine; topology: Topology }): TicketEngine {
  const { layout, engines, topology } = o;
  if (engines.length === 1) return engines[0]!;
  const byId = (id: string) => engines[layout.ofId(id)]!;
  /** The body's Land, or null when it has none we know: a body that fails its checks fails them in partition 0, with the same answer any partition would give. */
  const landOfBody = (body: CreateTicket) => {
    const place = landOf(topology, body);
    return 'error' in place ? null : place.land;
  };
  const forLand = (land: string | null) => (land === null ? engines[0]! : engines[layout.ofLand(land)]!);
  /**
   * After a raised count a Land's tickets go to a new partition, while its
   * earlier creations' keys are in the partition of the count before:
   * asked first (one read each), so a retried or repeated creation answers
   * the ticket it made then instead of making a second one.
   */
  const createParsed = async (principal: Principal, body: CreateTicket, opts?: CreateOptions) => {
    const land = landOfBody(body);
    if (land !== null) {
      const now = layout.ofLand(land);
      const earlier = [...new Set(layout.earlierCounts.map((c) => partitionOfLand(land, c)))].filter((p) => p !== now && p < engines.length);
      for (const p of earlier) {
        const made = await engines[p]!.createdBefore(principal, body, opts);
        if (made) return made;
      }
    }
    return forLand(land).createParsedTicket(principal, body, opts);
  };
  const any = engines[0]!;
  return {
    createTicket(principal, input, opts) {
      const parsed = CreateTicketSchema.safeParse(input);
      return parsed.success ? createParsed(principal, parsed.data, opts) : any.createTicket(principal, input, opts);
    },
    createParsedTicket: createParsed,
    createdBefore: (principal, body, opts) => forLand(landOfBody(body)).createdBefore(principal, body, opts),
    applyEvent: (principal, ticketId, input, opts) => byId(ticketId).applyEvent(principal, ticketId, input, opts),
    applyEventOnce: (principal, ticketId, input, opts) => byId(ticketId).applyEventOnce(principal, ticketId, input, opts),
    appliedUnder: (principal, ticketId, key) => byId(ticketId).appliedUnder(principal, ticketId, key),
    fireTimer: (ticketId, epoch) => byId(ticketId).fireTimer(ticketId, epoch),
    timerOf: (ticketId) => byId(ticketId).timerOf(ticketId),
    tellBacklogOutcome: (ticketId, outcome, key) => byId(ticketId).tellBacklogOutcome(ticketId, outcome, key),
    noteOnce: (ticketId, text, key) => byId(ticketId).noteOnce(ticketId, text, key),
    eraseTicket: (principal, id, cause) => byId(id).eraseTicket(principal, id, cause),
    getTicket: (principal, id) => byId(id).getTicket(principal, id),
    findTicket: (id) => byId(id).findTicket(id),
    history: (principal, id) => byId(id).history(principal, id),
    historyEntry: (id, version) => byId(id).historyEntry(id, version),
    listTickets: (principal, query) => o.lists.listTickets(principal, query),
    explainCreateInput: (input, issues) => any.explainCreateInput(input, issues),
    slaTimeline: (record) => any.slaTimeline(record),
    view: (principal, record) => any.view(principal, record),
    allowedEvents: (principal, record) => any.allowedEvents(principal, record),
  };
}
