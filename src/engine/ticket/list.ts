import type { Principal } from '../../domain/access.js';
import type { TicketListQuery } from '../../domain/ticket.js';
import type { Keys, IndexName } from '../../store/keys.js';
import type { StoredTicket, TicketStore } from '../../store/ticket-store.js';
import { stateInfo, type TicketRecord } from './record.js';
import type { Topology } from '../../domain/topology.js';
import { STATUSES } from '../../domain/ticket.js';
import { idempotencyDigest } from '../idempotency-keys.js';
import { normaliseText } from '../../backlog/text.js';

/**
 * A search by words reads at most this many tickets of the filtered set per
 * page, whatever it finds: the answer says how many it read (`searched`), and
 * `next` goes on from there.
 */
export const SEARCH_SCAN_MAX = 2000;
/** …and walks the filter's index in at most this many steps of LIST_PAGE (each bounded by its own budget), however sparse the filter. */
const SEARCH_STEPS_MAX = 10;

/** What a list can be sorted by, over the filtered set (see SORT_READ_MAX): the names, not the ids, for Länder, services and holders. */
export const SORT_KEYS = ['subject', 'land', 'service', 'priority', 'status', 'level', 'assignee', 'createdAt'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
/** A sorted list reads at most this many tickets of the filtered set (the newest), sorts them, and pages through them. */
export const SORT_READ_MAX = 2000;

/** The words of a search, in the canonical spelling the subject is compared in (ä = a = ae, case ignored). */
export const searchWords = (q: string): string[] => normaliseText(q).split(' ').filter(Boolean);

/** Whether a subject holds every word of the search (as a part of a word: "Hochlad" finds "Hochladen"). */
export function subjectMatches(subject: string, words: readonly string[]): boolean {
  const text = ` ${normaliseText(subject)} `;
  return words.every((w) => text.includes(w));
}

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

/**
 * Where lists read: pages of ticket ids of the index sets named (newest
 * first, `next` the last id looked at, '' at the end) and the tickets of
 * ids. One partition's store, or every partition's merged (mergedLister).
 */
export interface TicketLister {
  listPage(names: IndexName[], cursor: string, limit: number): Promise<{ ids: string[]; next: string }>;
  loadMany(ids: string[]): Promise<StoredTicket[]>;
}

/** One store's lists: LIST_PAGE over its own index sets. */
export function storeLister(store: TicketStore, keys: Keys): TicketLister {
  return {
    listPage: (names, cursor, limit) => store.listPage(names.map((n) => keys.index(n)), cursor, limit),
    loadMany: (ids) => store.loadMany(ids),
  };
}

/**
 * Lists across partitions without a second key: ticket ids sort by time in
 * every partition, so each partition's page after the same cursor is read
 * and merged. A partition that stopped early (its page full, or its scan
 * budget spent) has looked at everything down to its `next`; the merged page
 * holds what every partition has looked at (the ids at or above the highest
 * such `next`), newest first, at most `limit`, and goes on from there.
 */
export function mergedLister(parts: readonly TicketLister[], partitionOf: (id: string) => number): TicketLister {
  if (parts.length === 1) return parts[0]!;
  return {
    async listPage(names, cursor, limit) {
      const pages = await Promise.all(parts.map((p) => p.listPage(names, cursor, limit)));
      let boundary = '';
      for (const page of pages) if (page.next !== '' && page.next > boundary) boundary = page.next;
      const ids = pages.flatMap((page) => page.ids.filter((id) => id >= boundary)).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
      if (ids.length > limit) return { ids: ids.slice(0, limit), next: ids[limit - 1]! };
      return { ids, next: boundary };
    },
    async loadMany(ids) {
      const byPart = new Map<number, string[]>();
      for (const id of ids) {
        const p = partitionOf(id);
        const list = byPart.get(p);
        if (list) list.push(id);
        else byPart.set(p, [id]);
      }
      const found = new Map<string, StoredTicket>();
      await Promise.all([...byPart].map(async ([p, some]) => {
        for (const s of await parts[p]!.loadMany(some)) found.set(s.id, s);
      }));
      return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
    },
  };
}

type ListDeps = { lister: TicketLister; toRecord: (s: StoredTicket) => TicketRecord; topology?: Topology };

/** One page of tickets, newest first; `next` continues where it stopped. */
export async function listTickets(
  deps: ListDeps,
  principal: Principal,
  q: TicketListQuery,
): Promise<{ items: TicketRecord[]; next: string | null; searched?: number; sorted?: Sorted }> {
  if (principal.role === 'steering') return { items: [], next: null };
  const names = indexesFor(principal, q);
  if (q.sort !== undefined) return sortedTickets(deps, names, q as TicketListQuery & { sort: SortKey });
  if (q.q !== undefined) return searchTickets(deps, names, q as TicketListQuery & { q: string });
  const page = await deps.lister.listPage(names, q.cursor ?? '', q.limit);
  const items = (await deps.lister.loadMany(page.ids)).map(deps.toRecord);
  return { items, next: page.next === '' ? null : page.next };
}

/**
 * A page of the filtered tickets whose subject holds every word of `q`,
 * newest first. Reads the filtered set in batches and stops at `limit` hits
 * or after SEARCH_SCAN_MAX tickets read, whichever comes first; `next` is
 * the last ticket read, so the next page goes on after it.
 */
async function searchTickets(
  deps: ListDeps,
  names: IndexName[],
  q: TicketListQuery & { q: string },
): Promise<{ items: TicketRecord[]; next: string | null; searched: number }> {
  const words = searchWords(q.q);
  const items: TicketRecord[] = [];
  let cursor = q.cursor ?? '';
  let searched = 0;
  for (let step = 0; step < SEARCH_STEPS_MAX && items.length < q.limit && searched < SEARCH_SCAN_MAX; step++) {
    const page = await deps.lister.listPage(names, cursor, Math.min(200, SEARCH_SCAN_MAX - searched));
    const records = new Map((await deps.lister.loadMany(page.ids)).map((s) => [s.id, deps.toRecord(s)] as const));
    let stoppedAt: string | null = null;
    for (const id of page.ids) {
      searched += 1;
      const r = records.get(id);
      if (r && subjectMatches(r.data.subject, words)) items.push(r);
      if (items.length >= q.limit) {
        stoppedAt = id;
        break;
      }
    }
    if (stoppedAt !== null) return { items, next: stoppedAt, searched };
    if (page.next === '') return { items, next: null, searched };
    cursor = page.next;
  }
  return { items, next: cursor, searched };
}

/** What a sorted page says about its sort: by what, which way, over how many tickets, and whether that was the whole filtered set. */
export interface Sorted {
  by: SortKey;
  order: 'asc' | 'desc';
  over: number;
  complete: boolean;
}

/** The value a ticket sorts by: names from the topology, the lifecycle's order for statuses, time for dates. */
function sortValue(topology: Topology | undefined, r: TicketRecord, by: SortKey): string | number {
  const ctx = r.state.context;
  const info = stateInfo(r.state.value);
  const lower = (v: string) => v.toLocaleLowerCase('de');
  switch (by) {
    case 'subject': return lower(r.data.subject);
    case 'land': return lower(topology?.lands.get(ctx.facts.land)?.name ?? ctx.facts.land);
    case 'service': return lower(topology?.services.get(ctx.facts.service)?.name ?? ctx.facts.service);
    case 'priority': return ctx.priority;
    case 'status': return STATUSES.indexOf(info.status as (typeof STATUSES)[number]);
    case 'level': return info.level ?? 9;
    case 'assignee': return info.active ? lower(topology?.orgs.get(ctx.assignee)?.name ?? ctx.assignee) : '\uffff';
    case 'createdAt': return ctx.createdAt;
  }
}

const compare = (a: string | number, b: string | number) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b), 'de'));

/**
 * A page of the filtered tickets (with `q`, those whose subject holds its
 * words) sorted by `sort`: reads at most SORT_READ_MAX of the filtered set,
 * newest first, sorts them (ties newest first) and pages by position
 * (`next` = "s" and the offset). `sorted.complete` says whether that was
 * the whole filtered set.
 */
async function sortedTickets(
  deps: ListDeps,
  names: IndexName[],
  q: TicketListQuery & { sort: SortKey },
): Promise<{ items: TicketRecord[]; next: string | null; searched?: number; sorted: Sorted }> {
  const words = q.q !== undefined ? searchWords(q.q) : null;
  const all: TicketRecord[] = [];
  let cursor = '';
  let read = 0;
  let complete = false;
  for (let step = 0; step < SEARCH_STEPS_MAX && read < SORT_READ_MAX; step++) {
    const page = await deps.lister.listPage(names, cursor, Math.min(200, SORT_READ_MAX - read));
    read += page.ids.length;
    for (const r of (await deps.lister.loadMany(page.ids)).map(deps.toRecord)) if (!words || subjectMatches(r.data.subject, words)) all.push(r);
    if (page.next === '') {
      complete = true;
      break;
    }
    cursor = page.next;
  }
  const order = q.order ?? 'asc';
  const sign = order === 'asc' ? 1 : -1;
  const keyed = all.map((r) => ({ r, v: sortValue(deps.topology, r, q.sort) }));
  keyed.sort((a, b) => sign * compare(a.v, b.v) || (a.r.id < b.r.id ? 1 : -1));
  const offset = /^s\d{1,6}$/.test(q.cursor ?? '') ? Number(q.cursor!.slice(1)) : 0;
  const items = keyed.slice(offset, offset + q.limit).map((k) => k.r);
  return {
    items,
    next: offset + q.limit < keyed.length ? `s${offset + q.limit}` : null,
    ...(words ? { searched: read } : {}),
    sorted: { by: q.sort, order, over: keyed.length, complete },
  };
}
