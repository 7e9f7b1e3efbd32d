import { LRUCache } from 'lru-cache';
import { hasRoomFor, isLinked, type BacklogEventPayload } from '../../../machines/backlog.machine.js';
import type { BacklogLink } from '../../domain/backlog-policy.js';
import { analyseText, type TextSettings } from '../../backlog/text.js';
import type { Principal } from '../../domain/access.js';
import { BacklogEventInputSchema, type BacklogHistoryEntry } from '../../domain/backlog-event.js';
import type { Topology } from '../../domain/topology.js';
import { AppError, fieldErrors, validationFailed } from '../../errors.js';
import { eventKeyText, fingerprint, idempotencyDigest } from '../idempotency-keys.js';
import type { Decision, PathDeps } from '../interfaces.js';
import { change, create, load, loadInReach } from '../path.js';
import type { BacklogEngine, BacklogEngineDeps, NewItem } from './interfaces.js';
import { createBacklogKind, type BacklogSnapshot } from './kind.js';
import { describeAfterLinks } from './description.js';
import { listItems } from './list.js';
import { takesLinks, type BacklogItemRecord } from './record.js';
import { toItemView } from './view.js';
import type { BacklogPolicy } from '../../domain/backlog-policy.js';

/** The text settings made so far, per topology and service. */
const textSettings = new WeakMap<Topology, Map<string, TextSettings>>();

/** The words of a service's own name say nothing about what a ticket of it asks: every subject carries them. */
export function textSettingsOf(topology: Topology, service: string): TextSettings {
  let byService = textSettings.get(topology);
  if (!byService) textSettings.set(topology, (byService = new Map()));
  let settings = byService.get(service);
  if (!settings) {
    const s = topology.services.get(service);
    const own = s ? [s.id, ...s.name.split(/[\s–—-]+/)] : [];
    settings = { synonyms: s?.backlog.synonyms ?? topology.config.backlog.synonyms, stopWords: own.filter((w) => w.length > 1) };
    // One object per service and topology: analyseText compiles a settings object once (by identity), not per text.
    if (s) byService.set(service, settings);
  }
  return settings;
}

/** What the backlog's operations share: the engine's deps, the policy and the path's (the item kind among them). */
export interface BacklogPath extends BacklogEngineDeps {
  policy: BacklogPolicy;
  path: PathDeps<BacklogItemRecord, BacklogEventPayload, BacklogSnapshot, BacklogHistoryEntry, NewItem>;
}

/** Opens an item through the path's `create`; a retry with the same id finds the item made the first time. */
export async function createItem(b: BacklogPath, item: NewItem): Promise<{ record: BacklogItemRecord; created: boolean }> {
  const result = await create(b.path, 'system', item);
  if (result.status === 'created') {
    b.logger.info({ itemId: item.id, service: item.service, tickets: item.links.length }, 'backlog item opened');
    return { record: result.record, created: true };
  }
  return { record: await loadInReach(b.path.kind, 'system', item.id), created: false };
}

/** Whether an item takes a ticket: LINK it; keep it as it is when linked already or when it takes no links (refused). */
export function decideLink(policy: BacklogPolicy, before: BacklogItemRecord, l: BacklogLink): Decision<BacklogEventPayload, 'linked' | 'refused'> {
  if (isLinked(before.state.context, l.ticketId)) return { keep: 'linked' };
  if (!takesLinks(before.state.value) || !hasRoomFor(policy, before.state.context, [l])) return { keep: 'refused' };
  const description = describeAfterLinks(before.state.context.description, before.state.context.links, [l]);
  return { send: { type: 'LINK', link: l, ...(description !== null ? { description } : {}) } };
}

/** Whether a MERGE's target takes the source's links: ABSORB them; keep it when every one is there (a retried job) or it cannot. */
export function decideAbsorb(policy: BacklogPolicy, before: BacklogItemRecord, from: string, links: BacklogLink[]): Decision<BacklogEventPayload, 'absorbed' | 'refused'> {
  const ctx = before.state.context;
  if (links.every((l) => isLinked(ctx, l.ticketId))) return { keep: 'absorbed' };
  if (!takesLinks(before.state.value) || !hasRoomFor(policy, ctx, links)) return { keep: 'refused' };
  const description = describeAfterLinks(ctx.description, ctx.links, links);
  return { send: { type: 'ABSORB', from, links, ...(description !== null ? { description } : {}) } };
}

/** Links a ticket to an item; a ticket linked already changes nothing (no commit). Null when the item takes no links. */
export async function link(b: BacklogPath, itemId: string, l: BacklogLink, known?: BacklogItemRecord): Promise<BacklogItemRecord | null> {
  const outcome = await change(b.path, 'system', itemId, (before) => decideLink(b.policy, before, l), { known });
  // Linked already: the record the decision was made on, not a second read.
  return outcome.status === 'kept' && outcome.why === 'refused' ? null : outcome.record;
}

export async function absorb(b: BacklogPath, into: string, from: string, links: BacklogLink[]): Promise<boolean> {
  const outcome = await change(b.path, 'system', into, (before) => decideAbsorb(b.policy, before, from, links));
  return !(outcome.status === 'kept' && outcome.why === 'refused');
}

/**
 * A caller's event: operators of the service's backlog owner and the
 * steering committee move items; desks and providers read them only. A
 * MERGE is checked against its target first, so no link is lost on the way.
 */
export async function applyItemEvent(b: BacklogPath, principal: Principal, id: string, input: unknown, opts: { ifMatch?: number | undefined; idempotencyKey?: string | undefined } = {}) {
  const parsed = BacklogEventInputSchema.safeParse(input);
  if (!parsed.success) throw validationFailed(fieldErrors(parsed.error.issues));
  const payload = parsed.data as BacklogEventPayload;
  const current = await loadInReach(b.path.kind, principal, id);
  if (principal.role !== 'operator' && principal.role !== 'steering') throw new AppError('FORBIDDEN', 'Only operators and the steering committee move backlog items');
  if (payload.type === 'MERGE') {
    const target = await load(b.path.kind, payload.into);
    if (!target) throw validationFailed([{ path: 'into', message: 'no such backlog item' }]);
    if (target.state.context.service !== current.state.context.service) throw validationFailed([{ path: 'into', message: 'an item of another service' }]);
    if (!takesLinks(target.state.value)) throw validationFailed([{ path: 'into', message: `the item is ${target.state.value} and takes no more tickets` }]);
    if (!hasRoomFor(b.policy, target.state.context, current.state.context.links)) {
      throw new AppError('LIMIT_REACHED', 'The target item cannot hold these tickets too', { limit: 'backlog.maxLinksPerItem', max: b.policy.maxLinksPerItem(current.state.context.service) });
    }
  }
  const idempotency = opts.idempotencyKey !== undefined
    ? { key: b.idempotency.key(principal.orgId, idempotencyDigest(eventKeyText(id, opts.idempotencyKey))), fp: fingerprint(payload) }
    : undefined;
  const outcome = await change(b.path, principal, id, () => ({ send: payload }), { ifMatch: opts.ifMatch, idempotency });
  return { record: outcome.record, replayed: outcome.status === 'replayed' };
}

/** Items one process keeps as it last loaded or changed them, at most… */
export const KEPT_ITEMS_MAX = 128;
/** …and for this long. */
export const KEPT_ITEMS_TTL_MS = 30_000;

/** The backlog engine: its operations bound to their deps, as BacklogEngine names them. */
export function createBacklogEngine(deps: BacklogEngineDeps): BacklogEngine {
  const { topology } = deps;
  const { kind, policy } = createBacklogKind({ topology, store: deps.store, keys: deps.keys, source: deps.source });
  // The items this process loaded or changed last, by id: in a burst of one problem every observation finds the same
  // item, which holds up to 500 links; asking its version is one small read, loading it again a large one, decoded.
  // Each with the store's connection epoch when it was kept: Redis restarted or failed over since may have lost that
  // version, and another process may have written the same version number anew.
  const kept = new LRUCache<string, { record: BacklogItemRecord; epoch: number }>({ max: KEPT_ITEMS_MAX, ttl: KEPT_ITEMS_TTL_MS });
  const keep = (record: BacklogItemRecord) => {
    const mine = kept.get(record.id);
    // A slow load does not replace a later version kept meanwhile.
    if (!mine || mine.record.version <= record.version || mine.epoch !== deps.store.connectionEpoch()) kept.set(record.id, { record, epoch: deps.store.connectionEpoch() });
  };
  const b: BacklogPath = { ...deps, policy, path: { kind, idempotency: deps.idempotency, now: deps.now, onApplied: ({ after }) => keep(after) } };
  return {
    async createItem(item) {
      const result = await createItem(b, item);
      keep(result.record);
      return result;
    },
    link: (itemId, l, known) => link(b, itemId, l, known),
    absorb: (into, from, links) => absorb(b, into, from, links),
    applyItemEvent: (principal, id, input, opts) => applyItemEvent(b, principal, id, input, opts),
    list: (principal, q) => listItems({ topology, listing: deps.listing, loadMany: (ids) => deps.store.loadMany(ids), toRecord: kind.toRecord }, principal, q),
    view: (principal, record) => toItemView(topology, kind, principal, record, deps.now()),
    analyse: (service, text) => analyseText(text, textSettingsOf(topology, service)),
    get: (principal, id) => loadInReach(kind, principal, id),
    // The item as this process last had it when that is still its version (the latest: a change anywhere moves the
    // version on) and the connection was not lost meanwhile, else loaded; what is decided on it is committed against
    // its version all the same.
    async findItem(id) {
      const mine = kept.get(id);
      if (mine && mine.epoch === deps.store.connectionEpoch()) {
        const version = await deps.store.version(id);
        if (version === mine.record.version && mine.epoch === deps.store.connectionEpoch()) return mine.record;
      }
      const found = await load(kind, id);
      if (found) keep(found);
      else kept.delete(id);
      return found;
    },
    async history(principal, id) {
      await loadInReach(kind, principal, id);
      return (await deps.store.history(id)) as BacklogHistoryEntry[];
    },
    policy,
  };
}
