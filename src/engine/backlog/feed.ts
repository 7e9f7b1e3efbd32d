import type { Logger } from 'pino';
import type { BacklogLink } from '../../domain/backlog-policy.js';
import { compareTexts, type Analysed, type Compared } from '../../backlog/text.js';
import type { Topology } from '../../domain/topology.js';
import type { BacklogJob } from '../../queue/jobs.js';
import { backlogIndexTerms, type CandidateFinder } from '../../store/backlog-index.js';
import type { Keys } from '../../store/keys.js';
import type { Locks } from '../../store/locks.js';
import type { RecurringWindow } from '../../store/recurring-window.js';
import type { TicketEngine, TicketRecord } from '../ticket/index.js';
import { itemIdFor } from './ids.js';
import type { BacklogEngine, NewItem } from './interfaces.js';
import { recurringDescription } from './description.js';
import { takesLinks, type BacklogItemRecord } from './record.js';

/** How long one worker may hold a service's matching lock; it is given back as soon as the job is done. */
const LOCK_MS = 15_000;

/** Another worker is matching for the same service: the job waits a moment and runs again. */
export class ServiceBusy extends Error {
  constructor(readonly service: string) {
    super(`the backlog feed of ${service} is busy`);
  }
}

/** How long the feed waits before it asks again for a service's lock another worker holds. */
const FEED_BUSY_WAIT_MS = 250;

/** Recent technical tickets kept per term for the recurring-problem window: the newest, at most. */
const RECURRING_POSTING_CAP = 500;
/** Recent tickets compared with a new one, at most: the cost of an observation does not grow with traffic. */
const RECURRING_CANDIDATES = 100;

export interface BacklogFeedDeps {
  topology: Topology;
  keys: Keys;
  /** The candidate items of a service for a text (the backlog's text index). */
  findCandidates: CandidateFinder;
  /** The recurring-problem window. */
  window: RecurringWindow;
  /** One matching job per service at a time. */
  locks: Locks;
  tickets: TicketEngine;
  backlog: BacklogEngine;
  now: () => number;
  logger: Logger;
  /** A new item's id from its origin and service: with partitions (LOTSE_PARTITIONS), naming the service's partition. Default: itemIdFor. */
  itemIdOf?: (origin: string, service: string) => string;
}

interface Observation {
  ticketId: string;
  land: string;
  priority: string;
  at: number;
  /** The subject's stems: all a comparison reads (stored without the grams, which follow from them). */
  text: Compared;
}

const linkOf = (ticket: TicketRecord, score: number, shared: string[], source: BacklogLink['source'], at: number): BacklogLink => ({
  ticketId: ticket.id, land: ticket.state.context.facts.land, priority: ticket.state.context.priority, score, shared, at, source,
});

/**
 * The feed into the backlog and the backlog's own effects, one function per
 * job of the `backlog` queue. Each is idempotent by what it writes: items
 * get ids from their origin, a ticket is linked to an item once, a notice
 * carries an idempotency key.
 */
export function createBacklogFeed(deps: BacklogFeedDeps) {
  const { topology, keys, backlog } = deps;
  const newItemId = deps.itemIdOf ?? ((origin: string) => itemIdFor(origin));
  const settingsOf = (service: string) => topology.services.get(service)?.backlog ?? topology.config.backlog;

  /** The open item of a service that says most nearly what `text` says, above the service's threshold. */
  async function bestItem(service: string, text: Analysed): Promise<{ itemId: string; score: number; shared: string[]; text: Analysed; linked: ReadonlySet<string>; record: BacklogItemRecord } | null> {
    const candidates = await deps.findCandidates(service, text);
    if (candidates.length === 0) return null;
    const items = await Promise.all(candidates.map((c) => backlog.findItem(c.itemId)));
    let best: { itemId: string; score: number; shared: string[]; text: Analysed; linked: ReadonlySet<string>; record: BacklogItemRecord } | null = null;
    for (const item of items) {
      if (!item || item.state.context.service !== service || !takesLinks(item.state.value)) continue;
      const { score, shared } = compareTexts(item.data.text, text);
      if (score >= settingsOf(service).similarityThreshold && (!best || score > best.score)) {
        best = { itemId: item.id, score, shared, text: item.data.text, linked: new Set(item.state.context.links.map((l) => l.ticketId)), record: item };
      }
    }
    return best;
  }

  /** Links the ticket to the best item, or opens one; the ticket counts once however often this runs. */
  async function place(ticket: TicketRecord, title: string, description: string, source: BacklogLink['source'], origin: string): Promise<string> {
    const service = ticket.state.context.facts.service;
    const text = backlog.analyse(service, `${title}\n${description}`);
    const match = await bestItem(service, text);
    const at = deps.now();
    if (match && (await backlog.link(match.itemId, linkOf(ticket, match.score, match.shared, source, at), match.record))) return match.itemId;
    // The item is made of this ticket's words: alike in full, and every term of it shared (the reason a reader sees).
    const self = compareTexts(text, text);
    const item: NewItem = { id: newItemId(origin, service), service, title, description, links: [linkOf(ticket, self.score, self.shared, source, at)], text };
    return (await backlog.createItem(item)).record.id;
  }

  async function suggest(ticket: TicketRecord, job: Extract<BacklogJob, { type: 'suggest' }>): Promise<{ itemId: string } | null> {
    if (job.source === 'improvement') return { itemId: await place(ticket, ticket.data.subject, ticket.data.description, 'improvement', `${job.ticketId}-improvement`) };
    // The suggestion's text lies in the ticket's history entry of that version.
    const entry = await deps.tickets.historyEntry(job.ticketId, job.version);
    if (entry?.type !== 'SUGGEST_IMPROVEMENT') return null;
    const details = entry.details ?? {};
    return { itemId: await place(ticket, String(details.title ?? ''), String(details.description ?? ''), 'suggestion', `${job.ticketId}-v${job.version}`) };
  }

  /**
   * A technical ticket joins the recurring-problem window of its service. When
   * at least N tickets from at least M Länder within the window match, they
   * become one item (or join the item that already says it).
   */
  async function observe(ticket: TicketRecord): Promise<{ itemId: string } | null> {
    const service = ticket.state.context.facts.service;
    const { recurring, similarityThreshold } = settingsOf(service);
    const windowMs = recurring.windowDays * 86_400_000;
    const at = ticket.state.context.createdAt;
    const text = backlog.analyse(service, ticket.data.subject);
    const terms = backlogIndexTerms(text);
    if (terms.length === 0) return null;
    const me: Observation = { ticketId: ticket.id, land: ticket.state.context.facts.land, priority: ticket.state.context.priority, at, text: { stems: text.stems } };

    // Written first, then read, in one script: of two observations of one problem at once, the later sees the earlier.
    const nearest = await deps.window.enter({ ticketId: ticket.id, service, at, terms, observation: me }, windowMs, RECURRING_POSTING_CAP, {
      since: deps.now() - windowMs, perTerm: RECURRING_CANDIDATES, limit: RECURRING_CANDIDATES,
    });
    const stored = (await deps.window.readObservations(nearest, service)) as Observation[];
    // The ticket itself is in the window too: it is alike itself in full, so it is always in its cluster.
    const cluster = stored.flatMap((o) => {
      const { score, shared } = compareTexts(text, o.text);
      return score >= similarityThreshold || o.ticketId === me.ticketId ? [{ o, score, shared }] : [];
    });
    const lands = new Set(cluster.map((c) => c.o.land));
    if (cluster.length < recurring.minTickets || lands.size < recurring.minLands) return null;

    const now = deps.now();
    // Each link says how alike the ticket is to the item it joins, and which words they share: a ticket joining an
    // item that exists is compared with the item's words, not with the ticket that brought the cluster together.
    const linksTo = (itemText: Compared, members = cluster) => members.map(({ o }): BacklogLink => {
      const { score, shared } = compareTexts(itemText, o.text);
      return { ticketId: o.ticketId, land: o.land as BacklogLink['land'], priority: o.priority as BacklogLink['priority'], score, shared, at: now, source: 'recurring' };
    });
    const match = await bestItem(service, text);
    if (match) {
      // Only the tickets the item does not hold yet: in a burst of one problem every observation finds the
      // whole window again, and linking each of them again would load and decide on the item once per ticket.
      // An item that holds as many links as it may refuses more: not asked again for every ticket of the burst.
      const room = backlog.policy.maxLinksPerItem(service) - match.linked.size;
      const joining = cluster.filter(({ o }) => !match.linked.has(o.ticketId)).slice(0, Math.max(0, room));
      // Each link decided on the item as the last one left it: loaded once for the lot, not once per link.
      let known: BacklogItemRecord | undefined = match.record;
      for (const l of linksTo(match.text, joining)) known = (await backlog.link(match.itemId, l, known)) ?? undefined;
      return { itemId: match.itemId };
    }
    const links = linksTo(text).slice(0, backlog.policy.maxLinksPerItem(service));
    // The window's oldest matching ticket names the item: a retry or a twin observation opens the same one.
    const origin = `recurring-${[...cluster].sort((a, b) => a.o.at - b.o.at || (a.o.ticketId < b.o.ticketId ? -1 : 1))[0]!.o.ticketId}`;
    const item = await backlog.createItem({
      id: newItemId(origin, service), service, title: `Wiederkehrendes Problem: ${ticket.data.subject}`,
      description: recurringDescription(links.length, new Set(links.map((l) => l.land)).size, recurring.windowDays),
      links, text,
    });
    return { itemId: item.record.id };
  }

  /** A MERGE's links go to the target; if the target cannot take them after all, they get an item of their own. */
  async function absorbJob(job: Extract<BacklogJob, { type: 'absorb' }>) {
    if (await backlog.absorb(job.into, job.from, job.links)) return { itemId: job.into };
    const source = await backlog.findItem(job.from);
    const ctx = source?.state.context;
    const item = await backlog.createItem({
      id: newItemId(`absorb-${job.from}-${job.into}`, ctx?.service ?? ''), service: ctx?.service ?? '', title: ctx?.title ?? '', description: ctx?.description ?? '',
      links: job.links, text: source?.data.text ?? { stems: [], grams: [] }, splitFrom: job.from,
    });
    deps.logger.warn({ from: job.from, into: job.into, itemId: item.record.id }, 'merge target took no links; they went to a new item');
    return { itemId: item.record.id };
  }

  async function split(job: Extract<BacklogJob, { type: 'split' }>) {
    const source = await backlog.findItem(job.from);
    if (!source) return null;
    const ctx = source.state.context;
    const item = await backlog.createItem({
      id: newItemId(`split-${job.from}-v${job.version}`, ctx.service), service: ctx.service, title: ctx.title, description: ctx.description,
      links: job.links, text: source.data.text, splitFrom: job.from,
    });
    return { itemId: item.record.id };
  }

  /** A decided item tells a linked ticket once: a closed ticket is left alone, a retry applies nothing again. */
  async function notify(job: Extract<BacklogJob, { type: 'notify' }>) {
    const outcome = {
      type: 'BACKLOG_DECIDED' as const, item: job.item, outcome: job.outcome,
      ...(job.release !== undefined ? { release: job.release } : {}), ...(job.reason !== undefined ? { reason: job.reason } : {}),
      note: job.outcome === 'done' ? `Umsetzung ausgeliefert in Release ${job.release ?? ''}`.trim() : `Vorschlag abgelehnt: ${job.reason ?? ''}`.trim(),
    };
    return deps.tickets.tellBacklogOutcome(job.ticketId, outcome, `${job.item}-v${job.version}`);
  }

  /**
   * Matching and opening items of one service, one job at a time: two
   * suggestions of one wish at once would otherwise both open an item.
   */
  async function locked<T>(ticketId: string, fn: (ticket: TicketRecord) => Promise<T>): Promise<T | null> {
    // Loaded once: the lock's service and the job's ticket are the same read.
    const ticket = await deps.tickets.findTicket(ticketId);
    if (!ticket) return null;
    const key = keys.backlogLock(ticket.state.context.facts.service);
    const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    if (!(await deps.locks.acquire(key, token, LOCK_MS))) throw new ServiceBusy(ticket.state.context.facts.service);
    try {
      return await fn(ticket);
    } finally {
      await deps.locks.release(key, token);
    }
  }

  /**
   * The recurring-problem window's feed (`rfeed`), a batch at a time: the
   * tickets are loaded, and each service's are observed one after the other
   * under that service's lock, taken once for them all. A service whose lock
   * another worker holds is waited for (it is given back as soon as that
   * worker's job or batch is done), up to `LOCK_MS`, then ServiceBusy: the
   * caller leaves the batch unfinished and reads it again. A ticket gone
   * (erased) is skipped. Running a batch again repeats nothing: entering the
   * window twice writes the same, and a ticket counts once on an item.
   */
  async function observeFeed(ticketIds: readonly string[], wait: (ms: number) => Promise<void>): Promise<{ observed: number; items: string[] }> {
    const tickets = (await Promise.all([...new Set(ticketIds)].map((id) => deps.tickets.findTicket(id)))).filter((t): t is TicketRecord => t !== null);
    const byService = new Map<string, TicketRecord[]>();
    for (const t of tickets) {
      const service = t.state.context.facts.service;
      const list = byService.get(service);
      if (list) list.push(t);
      else byService.set(service, [t]);
    }
    const items: string[] = [];
    for (const [service, list] of byService) {
      const key = keys.backlogLock(service);
      const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
      for (let waited = 0; !(await deps.locks.acquire(key, token, LOCK_MS)); waited += FEED_BUSY_WAIT_MS) {
        if (waited >= LOCK_MS) throw new ServiceBusy(service);
        await wait(FEED_BUSY_WAIT_MS);
      }
      try {
        for (const t of list) {
          const found = await observe(t);
          if (found) items.push(found.itemId);
        }
      } finally {
        await deps.locks.release(key, token);
      }
    }
    return { observed: tickets.length, items };
  }

  return {
    observeFeed,
    async run(job: BacklogJob) {
      switch (job.type) {
        case 'suggest': return locked(job.ticketId, (ticket) => suggest(ticket, job));
        // Observations come through the feed (observeFeed); a job of an older version still waiting is run as before.
        case 'observe': return locked(job.ticketId, (ticket) => observe(ticket));
        case 'absorb': return absorbJob(job);
        case 'split': return split(job);
        case 'notify': return notify(job);
      }
    },
  };
}

export type BacklogFeed = ReturnType<typeof createBacklogFeed>;
