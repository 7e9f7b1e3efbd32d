import type { Principal } from '../../domain/access.js';
import type { TicketListQuery } from '../../domain/ticket.js';
import type { Keys, IndexName } from '../../store/keys.js';
import type { StoredTicket, TicketStore } from '../../store/ticket-store.js';
import type { TicketRecord } from './record.js';
import { idempotencyDigest } from '../idempotency-keys.js';

/** The index of a desk's reference: a digest, so any text makes a short key name. */
export const externalRefIndex = (externalRef: string): IndexName => `ref:${idempotencyDigest(externalRef)}`;

/** The index sets a query narrows to; the caller's reach is always one of them. */
export function indexesFor(principal: Principal, q: TicketListQuery): IndexName[] {
  const names: IndexName[] = [principal.role === 'operator' ? 'all' : `reach:${principal.orgId}`];
  if (q.level !== undefined) names.push(`level:${q.level}`);
  if (q.status !== undefined) names.push(`status:${q.status}`);
  if (q.assignee !== undefined) names.push(`assignee:${q.assignee}`);
  if (q.land !== undefined) names.push(`land:${q.land}`);
  if (q.service !== undefined) names.push(`service:${q.service}`);
  // LIST_PAGE walks the smallest set and checks the others: active ∩ Land lists the active tickets of a Land.
  if (q.active) names.push('active');
  if (q.priority !== undefined) names.push(`priority:${q.priority}`);
  if (q.sla !== undefined) names.push(`sla:${q.sla}`);
  if (q.externalRef !== undefined) names.push(externalRefIndex(q.externalRef));
  return names;
}

/** One page of tickets, newest first; `next` continues where it stopped. */
export async function listTickets(
  deps: { store: TicketStore; keys: Keys; toRecord: (s: StoredTicket) => TicketRecord },
  principal: Principal,
  q: TicketListQuery,
): Promise<{ items: TicketRecord[]; next: string | null }> {
  if (principal.role === 'steering') return { items: [], next: null };
  const keys = indexesFor(principal, q).map((n) => deps.keys.index(n));
  const page = await deps.store.listPage(keys, q.cursor ?? '', q.limit);
  const items = (await deps.store.loadMany(page.ids)).map(deps.toRecord);
  return { items, next: page.next === '' ? null : page.next };
}
