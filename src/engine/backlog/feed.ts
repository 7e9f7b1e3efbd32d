import type { RedisClient } from '../../store/redis-client.js';
import type { Logger } from 'pino';
import type { BacklogLink } from '../../../machines/backlog.policy.js';
import { compareTexts, type Analysed } from '../../backlog/text.js';
import type { Topology } from '../../domain/topology.js';
import type { BacklogJob } from '../../queue/jobs.js';
import { backlogIndexTerms, findCandidates } from '../../store/backlog-index.js';
import type { Keys } from '../../store/keys.js';
import { COMPARE_AND_DELETE } from '../../store/scripts.js';
import type { BacklogEngine, NewItem } from './engine.js';
import { itemIdFor } from './ids.js';
import { takesLinks } from './record.js';
import type { HistoryEntry } from '../../domain/ticket.js';
import type { Engine } from '../ticket/engine.js';
import { eventKeyText, fingerprint, idempotencyDigest } from '../idempotency-keys.js';
import type { TicketRecord } from '../ticket/record.js';

/** How long one worker may hold a service's matching lock; it is given back as soon as the job is done. */
const LOCK_MS = 15_000;

/** Another worker is matching for the same service: the job waits a moment and runs again. */
export class ServiceBusy extends Error {
  constructor(readonly service: string) {
    super(`the backlog feed of ${service} is busy`);
  }
}

/** Recent technical tickets kept per term for the recurring-problem window: the newest, at most. */
const RECURRING_POSTING_CAP = 500;
/** Recent tickets compared with a new one, at most: the cost of an observation does not grow with traffic. */
const RECURRING_CANDIDATES = 100;

export interface BacklogFeedDeps {
  topology: Topology;
  keys: Keys;
  redis: RedisClient;
  tickets: Engine;
  backlog: BacklogEngine;
  now: () => number;
  logger: Logger;
}

interface Observation {
  ticketId: string;
  land: string;
  priority: string;
  at: number;
  text: Analysed;
}

const linkOf = (ticket: TicketRecord, score: number, shared: string[], source: BacklogLink['source'], at: number): BacklogLink => ({
  ticketId: ticket.id, land: ticket.data.land, priority: ticket.state.context.priority, score, shared, at, source,
});

/**
 * The feed into the backlog and the backlog's own effects, one function per
 * job of the `backlog` queue. Each is idempotent by what it writes: items
 * get ids from their origin, a ticket is linked to an item once, a notice
 * carries an idempotency key.
 */
export function createBacklogFeed(deps: BacklogFeedDeps) {
  const { topology, keys, redis, backlog } = deps;
  const settingsOf = (service: string) => topology.services.get(service)?.backlog ?? topology.config.backlog;
  const loadTicket = (id: string) => deps.tickets.records.load(id);

  /** The open item of a service that says most nearly what `text` says, above the service's threshold. */
  async function bestItem(service: string, text: Analysed): Promise<{ itemId: string; score: number; shared: string[] } | null> {
    const candidates = await findCandidates(redis, keys.prefix, service, text);
    if (candidates.length === 0) return null;
    const items = await Promise.all(candidates.map((c) => backlog.records.load(c.itemId)));
    let best: { itemId: string; score: number; shared: string[] } | null = null;
    for (const item of items) {
      if (!item || item.state.context.service !== service || !takesLinks(item.state.value)) continue;
      const { score, shared } = compareTexts(text, item.data.text);
      if (score >= settingsOf(service).similarityThreshold && (!best || score > best.score)) best = { itemId: item.id, score, shared };
    }
    return best;
  }

  /** Links the ticket to the best item, or opens one; the ticket counts once however often this runs. */
  async function place(ticket: TicketRecord, title: string, description: string, source: BacklogLink['source'], origin: string): Promise<string> {
    const service = ticket.data.service;
    const text = backlog.analyse(service, `${title}\n${description}`);
    const match = await bestItem(service, text);
    const at = deps.now();
    if (match && (await backlog.link(match.itemId, linkOf(ticket, match.score, match.shared, source, at)))) return match.itemId;
    const item: NewItem = { id: itemIdFor(origin), service, title, description, links: [linkOf(ticket, 1, [], source, at)], text };
    return (await backlog.createItem(item)).record.id;
  }

  async function suggest(job: Extract<BacklogJob, { type: 'suggest' }>): Promise<{ itemId: string } | null> {
    const ticket = await loadTicket(job.ticketId);
    if (!ticket) return null;
    if (job.source === 'improvement') return { itemId: await place(ticket, ticket.data.subject, ticket.data.description, 'improvement', `${job.ticketId}-improvement`) };
    // The suggestion's text lies in the ticket's history entry of that version.
    const entry = (await deps.tickets.historyEntry(job.ticketId, job.version)) as HistoryEntry | null;
    if (entry?.type !== 'SUGGEST_IMPROVEMENT') return null;
    const details = entry.details ?? {};
    return { itemId: await place(ticket, String(details.title ?? ''), String(details.description ?? ''), 'suggestion', `${job.ticketId}-v${job.version}`) };
  }

  /**
   * A technical ticket joins the recurring-problem window of its service. When
   * at least N tickets from at least M Länder within the window match, they
   * become one item (or join the item that already says it).
   */
  async function observe(job: Extract<BacklogJob, { type: 'observe' }>): Promise<{ itemId: string } | null> {
    const ticket = await loadTicket(job.ticketId);
    if (!ticket) return null;
    const service = ticket.data.service;
    const { recurring, similarityThreshold } = settingsOf(service);
    const windowMs = recurring.windowDays * 86_400_000;
    const at = ticket.data.createdAt;
    const text = backlog.analyse(service, ticket.data.subject);
    const terms = backlogIndexTerms(text);
    if (terms.length === 0) return null;
    const me: Observation = { ticketId: ticket.id, land: ticket.data.land, priority: ticket.state.context.priority, at, text };
    const ttl = Math.ceil(windowMs / 1000);

    // Write first, then read: two observations of one problem at once still see each other.
    const write = redis.multi().set(keys.recurringTicket(ticket.id), JSON.stringify(me), 'EX', ttl);
    for (const term of terms) {
      const key = keys.recurringPosting(service, term);
      write.zadd(key, at, ticket.id).zremrangebyscore(key, '-inf', at - windowMs).zremrangebyrank(key, 0, -(RECURRING_POSTING_CAP + 1)).expire(key, ttl);
    }
    await write.exec();

    const read = redis.pipeline();
    for (const term of terms) read.zrevrangebyscore(keys.recurringPosting(service, term), '+inf', deps.now() - windowMs, 'LIMIT', 0, RECURRING_CANDIDATES);
    const hits = new Map<string, number>();
    for (const [err, ids] of (await read.exec()) ?? []) {
      if (err) throw err;
      for (const id of ids as string[]) hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    const nearest = [...hits].sort((a, b) => b[1] - a[1]).slice(0, RECURRING_CANDIDATES).map(([id]) => id);
    const stored = nearest.length > 0 ? await redis.mget(...nearest.map((id) => keys.recurringTicket(id))) : [];
    const cluster = stored.flatMap((raw) => {
      if (!raw) return [];
      const o = JSON.parse(raw) as Observation;
      const { score, shared } = o.ticketId === me.ticketId ? { score: 1, shared: [] } : compareTexts(text, o.text);
      return score >= similarityThreshold ? [{ o, score, shared }] : [];
    });
    const lands = new Set(cluster.map((c) => c.o.land));
    if (cluster.length < recurring.minTickets || lands.size < recurring.minLands) return null;

    const now = deps.now();
    const links = cluster.map(({ o, score, shared }): BacklogLink => ({
      ticketId: o.ticketId, land: o.land as BacklogLink['land'], priority: o.priority as BacklogLink['priority'], score, shared, at: now, source: 'recurring',
    }));
    const match = await bestItem(service, text);
    if (match) {
      for (const l of links) await backlog.link(match.itemId, l);
      return { itemId: match.itemId };
    }
    // The window's oldest matching ticket names the item: a retry or a twin observation opens the same one.
    const origin = `recurring-${[...cluster].sort((a, b) => a.o.at - b.o.at || (a.o.ticketId < b.o.ticketId ? -1 : 1))[0]!.o.ticketId}`;
    const item = await backlog.createItem({
      id: itemIdFor(origin), service, title: `Wiederkehrendes Problem: ${ticket.data.subject}`,
      description: `${cluster.length} technische Tickets aus ${lands.size} Ländern innerhalb von ${recurring.windowDays} Tagen melden dasselbe.`,
      links: links.slice(0, backlog.policy.maxLinksPerItem(service)), text,
    });
    return { itemId: item.record.id };
  }

  /** A MERGE's links go to the target; if the target cannot take them after all, they get an item of their own. */
  async function absorbJob(job: Extract<BacklogJob, { type: 'absorb' }>) {
    if (await backlog.absorb(job.into, job.from, job.links)) return { itemId: job.into };
    const source = await backlog.records.load(job.from);
    const ctx = source?.state.context;
    const item = await backlog.createItem({
      id: itemIdFor(`absorb-${job.from}-${job.into}`), service: ctx?.service ?? '', title: ctx?.title ?? '', description: ctx?.description ?? '',
      links: job.links, text: source?.data.text ?? { stems: [], grams: [] }, splitFrom: job.from,
    });
    deps.logger.warn({ from: job.from, into: job.into, itemId: item.record.id }, 'merge target took no links; they went to a new item');
    return { itemId: item.record.id };
  }

  async function split(job: Extract<BacklogJob, { type: 'split' }>) {
    const source = await backlog.records.load(job.from);
    if (!source) return null;
    const ctx = source.state.context;
    const item = await backlog.createItem({
      id: itemIdFor(`split-${job.from}-v${job.version}`), service: ctx.service, title: ctx.title, description: ctx.description,
      links: job.links, text: source.data.text, splitFrom: job.from,
    });
    return { itemId: item.record.id };
  }

  /** A decided item tells a linked ticket once: a closed ticket is left alone, a retry applies nothing again. */
  async function notify(job: Extract<BacklogJob, { type: 'notify' }>) {
    const payload = {
      type: 'BACKLOG_DECIDED' as const, item: job.item, outcome: job.outcome,
      ...(job.release !== undefined ? { release: job.release } : {}), ...(job.reason !== undefined ? { reason: job.reason } : {}),
      note: job.outcome === 'done' ? `Umsetzung ausgeliefert in Release ${job.release ?? ''}`.trim() : `Vorschlag abgelehnt: ${job.reason ?? ''}`.trim(),
    };
    const key = keys.idempotency('lotse', idempotencyDigest(eventKeyText(job.ticketId, `${job.item}-v${job.version}`)));
    const result = await deps.tickets.records.change('system', job.ticketId, (before) => (before.state.value === 'closed' ? null : payload), { idempotency: { key, fp: fingerprint(payload) } })
      .catch((err: unknown) => {
        if ((err as { code?: string }).code === 'TICKET_NOT_FOUND') return null;
        throw err;
      });
    return { applied: !!result && !result.replayed };
  }

  /**
   * Matching and opening items of one service, one job at a time: two
   * suggestions of one wish at once would otherwise both open an item.
   */
  async function locked<T>(ticketId: string, fn: () => Promise<T>): Promise<T | null> {
    const ticket = await loadTicket(ticketId);
    if (!ticket) return null;
    const key = keys.backlogLock(ticket.data.service);
    const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    if ((await redis.set(key, token, 'PX', LOCK_MS, 'NX')) !== 'OK') throw new ServiceBusy(ticket.data.service);
    try {
      return await fn();
    } finally {
      await redis.eval(COMPARE_AND_DELETE, 1, key, token);
    }
  }

  return {
    async run(job: BacklogJob) {
      switch (job.type) {
        case 'suggest': return locked(job.ticketId, () => suggest(job));
        case 'observe': return locked(job.ticketId, () => observe(job));
        case 'absorb': return absorbJob(job);
        case 'split': return split(job);
        case 'notify': return notify(job);
      }
    },
  };
}

export type BacklogFeed = ReturnType<typeof createBacklogFeed>;
