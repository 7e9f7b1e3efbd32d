import type { Principal } from '../../domain/access.js';
import type { Topology } from '../../domain/topology.js';
import type { BacklogListing } from '../../store/backlog-listing.js';
import type { StoredRecord } from '../../store/record-store.js';
import type { BacklogListQuery } from './interfaces.js';
import { runsService } from './kind.js';
import { scoreOf, type BacklogItemRecord } from './record.js';

/** The listing sets a caller reads from: a desk its Land's, a provider its services', everyone else all. */
export function scopesFor(topology: Topology, principal: Principal, q: BacklogListQuery): string[] | null {
  const suffix = (service?: string) => [service && `service:${service}`, q.status && `status:${q.status}`].filter(Boolean).join(':') || 'all';
  // A Land has sets of its own (all items, and per service, that its tickets ask for); a status among them is filtered after.
  if (q.land && (principal.role === 'operator' || principal.role === 'steering')) return [q.service ? `service:${q.service}:land:${q.land}` : `land:${q.land}`];
  if (principal.role === 'operator' || principal.role === 'steering') return [suffix(q.service)];
  if (principal.role === 'provider') {
    const runs = [...topology.services.keys()].filter((s) => runsService(topology, principal.orgId, s) && (!q.service || q.service === s));
    return runs.length > 0 ? runs.map((s) => suffix(s)) : null;
  }
  return principal.land ? [`land:${principal.land}`] : null;
}

export interface ListDeps {
  topology: Topology;
  listing: BacklogListing;
  loadMany(ids: string[]): Promise<StoredRecord[]>;
  toRecord(stored: StoredRecord): BacklogItemRecord;
}

/**
 * One page of items by score (highest first) or rank (1 first). The
 * cursor is the last item's sort value and id; a caller whose reach spans
 * several sets (a provider running several services) gets them merged.
 */
export async function listItems(deps: ListDeps, principal: Principal, q: BacklogListQuery): Promise<{ items: BacklogItemRecord[]; next: string | null }> {
  const scopes = scopesFor(deps.topology, principal, q);
  if (!scopes) return { items: [], next: null };
  const byRank = q.sort === 'rank';
  const [cursorValue, cursorId] = q.cursor ? [Number(q.cursor.split('~')[0]), q.cursor.split('~')[1] ?? ''] : [byRank ? -Infinity : Infinity, ''];
  const after = (v: number, id: string) => (byRank ? v > cursorValue || (v === cursorValue && id > cursorId) : v < cursorValue || (v === cursorValue && id < cursorId));
  const want = q.limit + 1;
  const pages = await Promise.all(scopes.map((scope) => deps.listing.read(q.sort, scope, cursorValue, want + 50)));
  const sorted = [...new Map(pages.flat().map((e) => [e.id, e])).values()]
    .filter((e) => after(e.value, e.id))
    .sort((a, b) => (byRank ? a.value - b.value || (a.id < b.id ? -1 : 1) : b.value - a.value || (a.id < b.id ? 1 : -1)));
  // A desk's scope holds every item its Land asked for: the filters narrow it here.
  const loaded = (await deps.loadMany(sorted.slice(0, want + 50).map((e) => e.id))).map(deps.toRecord)
    .filter((r) => (!q.service || r.state.context.service === q.service) && (!q.status || r.state.value === q.status)
      && (!q.land || r.state.context.links.some((l) => l.land === q.land)));
  const page = loaded.slice(0, q.limit);
  const last = page[page.length - 1];
  const sortValue = (r: BacklogItemRecord) => (byRank ? r.state.context.rank ?? 0 : scoreOf(deps.topology, r).score);
  return { items: page, next: loaded.length > q.limit && last ? `${sortValue(last)}~${last.id}` : null };
}
