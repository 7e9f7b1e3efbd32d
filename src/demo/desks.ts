/**
 * The simulated desks of all sixteen Länder, their subject-matter offices,
 * BeschA and the operations team: they create the generator's tickets when
 * their (simulated) time comes, look at each ticket they follow now and
 * then, and move it with the event decideNext picks, all over the HTTP API.
 */
import type { Logger } from 'pino';
import type { TicketEventInput } from '../domain/ticket.js';
import { seededRandom } from '../seeded-random.js';
import type { ApiAnswer, ApiClient } from './api-client.js';
import { officeTimeAt, realMsFor } from './clock.js';
import { chooseAllowed, decideNext, freshMemory, remember, type OrgPart, type SeenTicket, type TicketMemory } from './desk-policy.js';
import { createBody, type TicketDraft, type TicketGenerator } from './generator.js';
import { zeroCounters, type DemoCounters } from './progress.js';

export interface DeskSimOptions {
  api: ApiClient;
  generator: TicketGenerator;
  speed: number;
  /** No new tickets while the demo follows this many open ones. */
  maxOpen: number;
  /** No new tickets after this many. */
  maxTickets: number;
  /** Goes into every externalRef, so two runs with one seed do not collide. */
  runTag: string;
  partOf: (orgId: string) => OrgPart;
  /** The desk that speaks for a Land's citizens: it creates, reads, closes. */
  deskOf: (land: string) => string;
  logger: Logger;
  /** When the request behind a draft came in (default: `enteredLateMs` before now). */
  receivedAt?: (d: TicketDraft, now: number) => number;
  now?: () => number;
}

interface Followed {
  draft: TicketDraft;
  random: () => number;
  memory: TicketMemory;
  dueAt: number;
  busy: boolean;
  status: SeenTicket['status'];
  level: number | null;
  assignee: string | null;
  providers: Set<string>;
  resolvedCounted: boolean;
  breachCounted: boolean;
}

const TICK_MS = 100;
/** Requests in flight at most; a tick that finds them all busy leaves the rest for the next. */
const MAX_IN_FLIGHT = 12;
/** The first look: a desk takes a few minutes to get to a new ticket. */
const FIRST_LOOK_MS = { min: 2 * 60_000, max: 20 * 60_000 };

export interface DeskSim {
  counters: DemoCounters;
  officeNow(): number;
  /** Why no tickets are created now, if a cap holds them back. */
  capped(): string | undefined;
  /** Stops creating and looking; resolves when the requests under way have ended (or after `timeoutMs`). */
  stop(timeoutMs: number): Promise<void>;
}

export function startDeskSim(o: DeskSimOptions): DeskSim {
  const now = o.now ?? Date.now;
  const started = now();
  const counters = zeroCounters();
  const followed = new Map<string, Followed>();
  const pending = new Set<Promise<void>>();
  const warned = new Set<string>();
  let stopping = false;

  const officeNow = () => officeTimeAt(now() - started, o.speed);
  const later = (officeMs: number) => now() + realMsFor(officeMs, o.speed);
  const openCount = () => [...followed.values()].filter((f) => f.status !== 'resolved' && f.status !== 'closed').length;
  const capped = () =>
    counters.created >= o.maxTickets ? `Obergrenze ${o.maxTickets} Tickets erreicht` : openCount() >= o.maxOpen ? `Obergrenze ${o.maxOpen} offene erreicht` : undefined;

  const warnOnce = (what: string, data: Record<string, unknown>) => {
    if (warned.has(what)) return;
    warned.add(what);
    o.logger.warn(data, what);
  };

  function run(task: () => Promise<void>) {
    const p = task().catch((err: unknown) => {
      // Lotse unreachable or too slow: counted, logged once; the ticket is looked at again later.
      counters.failed += 1;
      warnOnce('demo request failed', { err: String(err) });
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }

  /** Counts what a look at the ticket shows, and keeps what the next decision needs. */
  function observe(f: Followed, view: Record<string, unknown>) {
    const status = view.status as SeenTicket['status'];
    const level = (view.level as number | null) ?? null;
    const assignee = (view.assignee as string | null) ?? null;
    if (f.assignee && o.partOf(f.assignee) === 'provider' && (assignee !== f.assignee || status === 'resolved' || status === 'closed')) counters.answered += 1;
    if (assignee && o.partOf(assignee) === 'provider' && !f.providers.has(`${level}:${assignee}`)) {
      f.providers.add(`${level}:${assignee}`);
      counters.handoffs += 1;
    }
    if (f.level !== null && level !== null && level < f.level && status !== 'resolved') f.memory = { ...f.memory, returned: true };
    if ((status === 'resolved' || status === 'closed') && !f.resolvedCounted) {
      f.resolvedCounted = true;
      counters.resolved += 1;
    }
    if (status === 'open' && f.status === 'resolved') f.resolvedCounted = false;
    const breaches = (view.sla as { breaches?: unknown[] } | undefined)?.breaches ?? [];
    if (breaches.length > 0 && !f.breachCounted) {
      f.breachCounted = true;
      counters.breached += 1;
    }
    Object.assign(f, { status, level, assignee });
  }

  async function create(d: TicketDraft) {
    const desk = o.deskOf(d.land);
    const body = createBody(d, `demo-${o.runTag}-${d.n}`, new Date(o.receivedAt ? o.receivedAt(d, now()) : now() - d.enteredLateMs).toISOString());
    const res = await o.api.call(desk, 'POST', '/v1/tickets', body);
    if (res.status !== 201 && res.status !== 200) {
      counters.failed += 1;
      warnOnce(`ticket not created (${res.status})`, { status: res.status, problem: res.body.title, detail: res.body.detail });
      return;
    }
    counters.created += 1;
    const random = seededRandom(d.seed);
    const f: Followed = {
      draft: d, random, memory: freshMemory(), busy: false, status: 'new', level: null, assignee: null, providers: new Set(), resolvedCounted: false, breachCounted: false,
      dueAt: later(FIRST_LOOK_MS.min + random() * (FIRST_LOOK_MS.max - FIRST_LOOK_MS.min)),
    };
    observe(f, res.body);
    followed.set(String(res.body.id), f);
  }

  async function send(id: string, f: Followed, as: string, event: TicketEventInput): Promise<ApiAnswer | undefined> {
    if (!o.api.canActAs(as)) return undefined;
    const path = `/v1/tickets/${encodeURIComponent(id)}/events`;
    let res = await o.api.call(as, 'POST', path, event);
    if (res.status === 409 && Array.isArray(res.body.allowedEvents)) {
      // Lotse names what is allowed now: take one of those instead.
      const instead = chooseAllowed(res.body.allowedEvents as string[], f.draft, f.random);
      if (!instead) return res;
      event = instead;
      res = await o.api.call(as, 'POST', path, event);
    }
    if (res.status === 200) f.memory = remember(f.memory, event);
    return res;
  }

  async function look(id: string, f: Followed) {
    f.busy = true;
    // Set before any request: a look that fails is tried again after a while, not at the next tick.
    f.dueAt = later(10 * 60_000);
    try {
      const desk = o.deskOf(f.draft.land);
      const got = await o.api.call(desk, 'GET', `/v1/tickets/${encodeURIComponent(id)}`);
      if (got.status === 404) return void followed.delete(id);
      if (got.status !== 200) return;
      observe(f, got.body);
      const decision = decideNext({ status: f.status, level: f.level, assignee: f.assignee, land: f.draft.land }, f.draft, f.memory, f.random, o.partOf, desk);
      const res = decision.send ? await send(id, f, decision.send.as, decision.send.event) : undefined;
      if (res?.status === 200) observe(f, res.body);
      if (f.status === 'closed' || decision.againInMs === undefined) return void followed.delete(id);
      f.dueAt = later(decision.againInMs);
    } finally {
      f.busy = false;
    }
  }

  function tick() {
    if (stopping) return;
    const office = officeNow();
    while (o.generator.peek().atOfficeMs <= office && o.api.inFlight() < MAX_IN_FLIGHT) {
      const d = o.generator.next();
      if (capped()) counters.skipped += 1;
      else run(() => create(d));
    }
    const t = now();
    for (const [id, f] of followed) {
      if (o.api.inFlight() >= MAX_IN_FLIGHT) break;
      if (!f.busy && f.dueAt <= t) run(() => look(id, f));
    }
    counters.open = openCount();
  }

  const timer = setInterval(tick, TICK_MS);
  return {
    counters,
    officeNow,
    capped,
    async stop(timeoutMs) {
      stopping = true;
      clearInterval(timer);
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([Promise.allSettled([...pending]), deadline]);
    },
  };
}
