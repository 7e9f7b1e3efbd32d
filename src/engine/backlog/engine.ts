import type { RedisClient } from '../../store/redis-client.js';
import type { Logger } from 'pino';
import { allowedBacklogEvents } from '../../../machines/backlog.explain.js';
import { hasRoomFor, isLinked, type BacklogEventPayload } from '../../../machines/backlog.machine.js';
import type { BacklogLink } from '../../../machines/backlog.policy.js';
import { analyseText, type Analysed } from '../../backlog/text.js';
import type { Principal } from '../../domain/access.js';
import { BacklogEventInputSchema } from '../../domain/backlog-event.js';
import type { Topology } from '../../domain/topology.js';
import { AppError, fieldErrors, validationFailed } from '../../errors.js';
import type { IdempotencyStore } from '../../store/idempotency.js';
import type { Keys } from '../../store/keys.js';
import type { RecordStore } from '../../store/record-store.js';
import type { BacklogHistoryEntry } from '../../domain/backlog-event.js';
import { takesLinks, type BacklogItemRecord, type BacklogStatus } from './record.js';
import { createBacklogKind, runsService, scoreOf } from './kind.js';
import { eventKeyText, fingerprint, idempotencyDigest } from '../idempotency-keys.js';
import { actorOf, createRecordEngine } from '../path.js';

export interface BacklogEngineDeps {
  topology: Topology;
  store: RecordStore;
  keys: Keys;
  redis: RedisClient;
  idempotency: IdempotencyStore;
  now: () => number;
  source: string;
  logger: Logger;
}


export interface NewItem {
  id: string;
  service: string;
  title: string;
  description: string;
  links: BacklogLink[];
  text: Analysed;
  splitFrom?: string;
}

export interface BacklogListQuery {
  service?: string | undefined;
  status?: BacklogStatus | undefined;
  sort: 'score' | 'rank';
  limit: number;
  cursor?: string | undefined;
}

/** The words of a service's own name say nothing about what a ticket of it asks: every subject carries them. */
export function textSettingsOf(topology: Topology, service: string) {
  const s = topology.services.get(service);
  const own = s ? [s.id, ...s.name.split(/[\s–—-]+/)] : [];
  return { synonyms: s?.backlog.synonyms ?? topology.config.backlog.synonyms, stopWords: own.filter((w) => w.length > 1) };
}

export function createBacklogEngine(deps: BacklogEngineDeps) {
  const { topology, keys } = deps;
  const { kind, stepper, persist, policy } = createBacklogKind({ topology, store: deps.store, keys, source: deps.source });
  const records = createRecordEngine(kind, { idempotency: deps.idempotency, now: deps.now });

  /** Opens an item; a retry with the same id finds the item made the first time. */
  async function createItem(item: NewItem): Promise<{ record: BacklogItemRecord; created: boolean }> {
    const at = deps.now();
    const actor = actorOf('system');
    const [snapshot, actions] = stepper.initialTransition({ ...item, at });
    const record: BacklogItemRecord = { id: item.id, version: 1, data: { text: item.text }, state: persist(snapshot), updatedAt: at };
    const entry = kind.historyEntry(null, record, { type: 'CREATED', at, actor, details: { tickets: item.links.map((l) => l.ticketId), ...(item.splitFrom ? { splitFrom: item.splitFrom } : {}) } }, snapshot);
    const result = await records.commit({ before: null, after: record, entry, actions, actor });
    if (result.status === 'ok') {
      deps.logger.info({ itemId: item.id, service: item.service, tickets: item.links.length }, 'backlog item opened');
      return { record, created: true };
    }
    return { record: await records.loadInReach('system', item.id), created: false };
  }

  /** Links a ticket to an item; a ticket linked already changes nothing (no commit). Null when the item takes no links. */
  async function link(itemId: string, l: BacklogLink): Promise<BacklogItemRecord | null> {
    let refused = false;
    let loaded: BacklogItemRecord | undefined;
    const changed = await records.change('system', itemId, (before) => {
      loaded = before;
      if (isLinked(before.state.context, l.ticketId)) return null;
      if (!takesLinks(before.state.value) || !hasRoomFor(policy, before.state.context, [l])) {
        refused = true;
        return null;
      }
      return { type: 'LINK', link: l };
    });
    if (refused) return null;
    // Linked already: the record the decision was made on, not a second read.
    return changed?.record ?? loaded!;
  }

  /** A MERGE's target takes the source's links; false when it cannot (then the caller keeps them elsewhere). */
  async function absorb(into: string, from: string, links: BacklogLink[]): Promise<boolean> {
    let refused = false;
    await records.change('system', into, (before) => {
      const ctx = before.state.context;
      // Already absorbed (a retried job): every link is there.
      if (links.every((l) => isLinked(ctx, l.ticketId))) return null;
      if (!takesLinks(before.state.value) || !hasRoomFor(policy, ctx, links)) {
        refused = true;
        return null;
      }
      return { type: 'ABSORB', from, links };
    });
    return !refused;
  }

  /**
   * A caller's event: operators of the service's backlog owner and the
   * steering committee move items; desks and providers read them only. A
   * MERGE is checked against its target first, so no link is lost on the way.
   */
  async function applyItemEvent(principal: Principal, id: string, input: unknown, opts: { ifMatch?: number | undefined; idempotencyKey?: string | undefined } = {}) {
    const parsed = BacklogEventInputSchema.safeParse(input);
    if (!parsed.success) throw validationFailed(fieldErrors(parsed.error.issues));
    const payload = parsed.data as BacklogEventPayload;
    const current = await records.loadInReach(principal, id);
    if (principal.role !== 'operator' && principal.role !== 'steering') throw new AppError('FORBIDDEN', 'Only operators and the steering committee move backlog items');
    if (payload.type === 'MERGE') {
      const target = await records.load(payload.into);
      if (!target) throw validationFailed([{ path: 'into', message: 'no such backlog item' }]);
      if (target.state.context.service !== current.state.context.service) throw validationFailed([{ path: 'into', message: 'an item of another service' }]);
      if (!takesLinks(target.state.value)) throw validationFailed([{ path: 'into', message: `the item is ${target.state.value} and takes no more tickets` }]);
      if (!hasRoomFor(policy, target.state.context, current.state.context.links)) {
        throw new AppError('LIMIT_REACHED', 'The target item cannot hold these tickets too', { limit: 'backlog.maxLinksPerItem', max: policy.maxLinksPerItem(current.state.context.service) });
      }
    }
    const idempotency = opts.idempotencyKey !== undefined
      ? { key: deps.idempotency.key(principal.orgId, idempotencyDigest(eventKeyText(id, opts.idempotencyKey))), fp: fingerprint(payload) }
      : undefined;
    return (await records.change(principal, id, () => payload, { ifMatch: opts.ifMatch, idempotency }))!;
  }

  /** The listing sets a caller reads from: a desk its Land's, a provider its services', everyone else all. */
  function scopesFor(principal: Principal, q: BacklogListQuery): string[] | null {
    const suffix = (service?: string) => [service && `service:${service}`, q.status && `status:${q.status}`].filter(Boolean).join(':') || 'all';
    if (principal.role === 'operator' || principal.role === 'steering') return [suffix(q.service)];
    if (principal.role === 'provider') {
      const runs = [...topology.services.keys()].filter((s) => runsService(topology, principal.orgId, s) && (!q.service || q.service === s));
      return runs.length > 0 ? runs.map((s) => suffix(s)) : null;
    }
    return principal.land ? [`land:${principal.land}`] : null;
  }

  /**
   * One page of items by score (highest first) or rank (1 first). The
   * cursor is the last item's sort value and id; a caller whose reach spans
   * several sets (a provider running several services) gets them merged.
   */
  async function list(principal: Principal, q: BacklogListQuery): Promise<{ items: BacklogItemRecord[]; next: string | null }> {
    const scopes = scopesFor(principal, q);
    if (!scopes) return { items: [], next: null };
    const byRank = q.sort === 'rank';
    const [cursorValue, cursorId] = q.cursor ? [Number(q.cursor.split('~')[0]), q.cursor.split('~')[1] ?? ''] : [byRank ? -Infinity : Infinity, ''];
    const after = (v: number, id: string) => (byRank ? v > cursorValue || (v === cursorValue && id > cursorId) : v < cursorValue || (v === cursorValue && id < cursorId));
    const want = q.limit + 1;
    const pages = await Promise.all(scopes.map(async (scope) => {
      const key = keys.backlogIndex(`${byRank ? 'rank' : 'score'}:${scope}`);
      const flat = byRank
        ? await deps.redis.zrangebyscore(key, Number.isFinite(cursorValue) ? cursorValue : '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, want + 50)
        : await deps.redis.zrevrangebyscore(key, Number.isFinite(cursorValue) ? cursorValue : '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, want + 50);
      const out: { id: string; v: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, v: Number(flat[i + 1]) });
      return out;
    }));
    const sorted = [...new Map(pages.flat().map((e) => [e.id, e])).values()]
      .filter((e) => after(e.v, e.id))
      .sort((a, b) => (byRank ? a.v - b.v || (a.id < b.id ? -1 : 1) : b.v - a.v || (a.id < b.id ? 1 : -1)));
    // A desk's scope holds every item its Land asked for: the filters narrow it here.
    const loaded = (await deps.store.loadMany(sorted.slice(0, want + 50).map((e) => e.id))).map(kind.toRecord)
      .filter((r) => (!q.service || r.state.context.service === q.service) && (!q.status || r.state.value === q.status));
    const page = loaded.slice(0, q.limit);
    const last = page[page.length - 1];
    const sortValue = (r: BacklogItemRecord) => (byRank ? r.state.context.rank ?? 0 : scoreOf(topology, r).score);
    return { items: page, next: loaded.length > q.limit && last ? `${sortValue(last)}~${last.id}` : null };
  }

  /** The item as a caller sees it: the contract's view, why each ticket is linked, the score's parts. */
  function view(principal: Principal, record: BacklogItemRecord) {
    const ctx = record.state.context;
    const score = scoreOf(topology, record);
    // A desk sees which of its own Land's tickets asked; the rest only as counts.
    const visible = principal.role === 'desk' ? ctx.links.filter((l) => l.land === principal.land) : ctx.links;
    const times = ctx.links.map((l) => l.at);
    return {
      id: record.id,
      service: ctx.service,
      title: ctx.title,
      description: ctx.description,
      status: record.state.value,
      rank: ctx.rank,
      score: score.score,
      scoreParts: score.parts,
      ticketCount: ctx.links.length,
      lands: score.counts.lands,
      population: score.counts.population,
      tickets: visible.map((l) => l.ticketId),
      why: visible.map((l) => ({ ticketId: l.ticketId, land: l.land, priority: l.priority, source: l.source, score: l.score, shared: l.shared, linkedAt: new Date(l.at).toISOString() })),
      firstSeen: new Date(times.length > 0 ? Math.min(...times) : ctx.createdAt).toISOString(),
      lastSeen: new Date(times.length > 0 ? Math.max(...times) : ctx.createdAt).toISOString(),
      release: ctx.release,
      reason: ctx.reason,
      mergedInto: ctx.mergedInto,
      splitFrom: ctx.splitFrom,
      version: record.version,
      allowedEvents: principal.role === 'operator' || principal.role === 'steering' ? allowedBacklogEvents(kind.restore(record), actorOf(principal), deps.now()) : [],
    };
  }

  return {
    records,
    createItem,
    link,
    absorb,
    applyItemEvent,
    list,
    view,
    analyse: (service: string, text: string) => analyseText(text, textSettingsOf(topology, service)),
    async get(principal: Principal, id: string) {
      return records.loadInReach(principal, id);
    },
    async history(principal: Principal, id: string) {
      await records.loadInReach(principal, id);
      return (await deps.store.history(id)) as BacklogHistoryEntry[];
    },
    policy,
  };
}

export type BacklogEngine = ReturnType<typeof createBacklogEngine>;
