import type { PartitionLayout } from '../../domain/partitions.js';
import type { BacklogEngine } from './interfaces.js';

/**
 * The backlog over partitions (LOTSE_PARTITIONS): a service's items live in
 * its backlog's partition (layout.ofService), and an item's id names it
 * (`B…-<p>`, made so by the feed's itemIdOf). A creation and every change go
 * to the partition its id names; lists read every partition's listing sets
 * merged (`lists`, an engine whose listing and loads span them all). With
 * one partition this is that partition's engine itself.
 */
export function partitionedBacklogEngine(o: { layout: PartitionLayout; engines: readonly BacklogEngine[]; lists: BacklogEngine }): BacklogEngine {
  const { layout, engines } = o;
  if (engines.length === 1) return engines[0]!;
  const byId = (id: string) => engines[layout.ofId(id)]!;
  const any = engines[0]!;
  return {
    createItem: (item) => byId(item.id).createItem(item),
    link: (itemId, l, known) => byId(itemId).link(itemId, l, known),
    absorb: (into, from, links) => byId(into).absorb(into, from, links),
    applyItemEvent: (principal, id, input, opts) => byId(id).applyItemEvent(principal, id, input, opts),
    list: (principal, q) => o.lists.list(principal, q),
    view: (principal, record) => any.view(principal, record),
    analyse: (service, text) => any.analyse(service, text),
    get: (principal, id) => byId(id).get(principal, id),
    findItem: (id) => byId(id).findItem(id),
    history: (principal, id) => byId(id).history(principal, id),
    policy: any.policy,
  };
}
