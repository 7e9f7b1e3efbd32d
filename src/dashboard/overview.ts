import type { Principal } from '../domain/access.js';
import { businessMsBetween } from '../domain/business-time.js';
import type { Topology } from '../domain/topology.js';
import { timerJobId } from '../engine/index.js';
import { stateInfo, type TicketEngine, type TicketRecord } from '../engine/ticket/index.js';
import { handoffQueueName, QUEUE } from '../queue/names.js';
import type { QueueReader } from '../queue/partitioned.js';
import type { DeadLetters } from '../webhooks/dead-letters.js';
import type { ConnectorHealth } from '../store/connector-store.js';
import { boardUrl } from './queue-list.js';
import { partitionOfId } from '../domain/partitions.js';
import type { Sampler } from './sampler.js';
import type { StatsReader } from './stats-reader.js';

export interface JobLink {
  queue: string;
  jobId?: string;
  url: string;
}

export interface TicketRow {
  id: string;
  subject: string;
  land: string;
  service: string;
  priority: string;
  level: number | null;
  status: string;
  assignee: string | null;
  jobs: JobLink[];
}

export interface RiskRow extends TicketRow {
  clock: string;
  holder: string;
  calendar: string;
  dueAt: string;
  /** Business time left on the holder's calendar; 0 once due. */
  businessMsLeft: number;
  paused: boolean;
}

export interface BreachRow extends TicketRow {
  clock: string;
  holder: string;
  dueAt: string;
  breachedAt: string;
}

export interface HandoffRow extends TicketRow {
  orgId: string;
  requestedAt: string;
  receiptDueAt: string;
  attempts: number;
}

/** How many tickets each list reads before sorting: enough for a screen, bounded whatever Redis holds. */
const READ = 200;
const SHOW = 25;
const iso = (ms: number) => new Date(ms).toISOString();

/** The board's ticket lists: at risk by business time left, breached, handoffs by receipt deadline, dead letters. */
export function createOverview(o: { engine: TicketEngine; topology: Topology; queues: { queue(name: string): Pick<QueueReader, 'getJob'> }; deadLetters: DeadLetters; stats: StatsReader; sampler: Sampler; now?: () => number; connectorHealth?: () => Promise<ConnectorHealth[]> }) {
  const now = o.now ?? Date.now;
  const { engine, topology } = o;

  function row(r: TicketRecord): TicketRow {
    const ctx = r.state.context;
    const info = stateInfo(r.state.value);
    const jobs: JobLink[] = [];
    if (ctx.timer) {
      const jobId = timerJobId(r.id, ctx.timer.epoch);
      jobs.push({ queue: QUEUE.sla, jobId, url: boardUrl(QUEUE.sla, jobId, partitionOfId(r.id)) });
    }
    return {
      id: r.id, subject: r.data.subject, land: ctx.facts.land, service: ctx.facts.service, priority: ctx.priority,
      level: info.level, status: info.status, assignee: info.active ? ctx.assignee : null, jobs,
    };
  }

  function riskRow(r: TicketRecord, at: number): RiskRow | null {
    const timeline = engine.slaTimeline(r);
    const running = timeline.clocks.filter((c) => c.outcome === 'running' || c.outcome === 'paused');
    const rows = running.map((c) => ({ c, left: businessMsBetween(topology.calendarOf(c.holder), at, Date.parse(c.dueAt)) }));
    rows.sort((a, b) => a.left - b.left);
    const first = rows[0];
    if (!first) return null;
    return { ...row(r), clock: first.c.name, holder: first.c.holder, calendar: first.c.calendar, dueAt: first.c.dueAt, businessMsLeft: first.left, paused: first.c.outcome === 'paused' };
  }

  /** The handoff's job on the provider's queue: the event id of the commit that (last) handed it off. */
  async function handoffJob(principal: Principal, r: TicketRecord, orgId: string): Promise<JobLink> {
    const queue = handoffQueueName(orgId);
    const history = await engine.history(principal, r.id);
    const sent = history.findLast((e) => e.to.endsWith('.handoffPending') && (e.from !== e.to || e.type === 'RECEIPT_OVERDUE'));
    if (sent) {
      const jobId = `${r.id}-v${sent.version}-handoff-${orgId}`;
      if (await o.queues.queue(queue).getJob(jobId)) return { queue, jobId, url: boardUrl(queue, jobId) };
    }
    return { queue, url: boardUrl(queue) };
  }

  async function atRisk(principal: Principal) {
    const at = now();
    const page = await engine.listTickets(principal, { sla: 'at-risk', limit: READ });
    const rows = page.items.map((r) => riskRow(r, at)).filter((r): r is RiskRow => r !== null);
    rows.sort((a, b) => a.businessMsLeft - b.businessMsLeft || a.dueAt.localeCompare(b.dueAt));
    return { items: rows.slice(0, SHOW), read: page.items.length, more: page.next !== null };
  }

  async function breached(principal: Principal) {
    const page = await engine.listTickets(principal, { sla: 'breached', active: true, limit: SHOW });
    const items = page.items.map((r): BreachRow => {
      const b = r.state.context.sla.breaches.at(-1);
      return { ...row(r), clock: b?.clock ?? '', holder: b?.holder ?? '', dueAt: b ? iso(b.dueAt) : '', breachedAt: b ? iso(b.at) : '' };
    });
    return { items, more: page.next !== null };
  }

  async function handoffs(principal: Principal) {
    const page = await engine.listTickets(principal, { status: 'handoff-pending', limit: READ });
    const pending = page.items.filter((r) => r.state.context.handoff !== null);
    pending.sort((a, b) => a.state.context.handoff!.receiptDueAt - b.state.context.handoff!.receiptDueAt);
    const items = await Promise.all(
      pending.slice(0, SHOW).map(async (r): Promise<HandoffRow> => {
        const h = r.state.context.handoff!;
        const base = row(r);
        return { ...base, jobs: [...base.jobs, await handoffJob(principal, r, h.orgId)], orgId: h.orgId, requestedAt: iso(h.requestedAt), receiptDueAt: iso(h.receiptDueAt), attempts: h.attempts };
      }),
    );
    return { items, more: pending.length > SHOW || page.next !== null };
  }

  return {
    async read(principal: Principal) {
      // The steering committee reaches no ticket: it sees the counts, not the lists.
      const lists = principal.role === 'operator';
      const empty = { items: [], more: false };
      const [stats, risk, breach, handoff, dead, series, connectors] = await Promise.all([
        o.stats.read(),
        lists ? atRisk(principal) : { ...empty, read: 0 },
        lists ? breached(principal) : empty,
        lists ? handoffs(principal) : empty,
        lists ? o.deadLetters.list({ limit: 20 }) : { items: [], next: null },
        o.sampler.series(),
        // Per organisation with a connector: last success, queued, failing (no ticket, no personal data).
        o.connectorHealth ? o.connectorHealth() : [],
      ]);
      // Replayed and not failed again since: shown under the dead letters, with when.
      const deadIds = new Set(dead.items.map((d) => d.id));
      const replays = lists ? (await o.deadLetters.recentReplays(10)).filter((r) => !deadIds.has(r.id)) : [];
      return {
        at: iso(now()),
        lists,
        stats,
        atRisk: risk,
        breached: breach,
        handoffs: handoff,
        deadLetters: {
          items: dead.items.map((d) => ({ id: d.id, orgId: d.orgId, type: d.event.type, subject: d.event.subject, reason: d.reason, attempts: d.attempts, lastStatus: d.lastStatus, failedAt: d.failedAt, replayedAt: d.replayedAt ?? null, inDoubt: d.inDoubt === true })),
          more: dead.next !== null,
          replayed: replays.map((r) => ({ id: r.id, orgId: r.orgId, type: r.event.type, subject: r.event.subject, reason: r.reason, attempts: r.attempts, failedAt: r.failedAt, replayedAt: r.replayedAt })),
        },
        series,
        connectors,
      };
    },
  };
}

export type Overview = ReturnType<typeof createOverview>;
