import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { devRoleFor, type Principal } from '../domain/access.js';
import { businessMsBetween } from '../domain/business-time.js';
import type { Topology } from '../domain/topology.js';
import { timerJobId } from '../engine/index.js';
import type { TicketEngine as Engine } from '../engine/ticket/index.js';
import { AppError } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { sendProblem } from '../http/problem.js';
import { handoffQueueName, QUEUE } from '../queue/names.js';
import { boardUrl } from './queue-list.js';
import { partitionOfId } from '../domain/partitions.js';
import type { Sessions } from './sessions.js';
import { z } from 'zod';

/** The console's pages: one HTML file each, filled by its script from the same API every other caller uses. */
const PAGES: { path: string; operationId: string; file: string; roles: readonly string[] }[] = [
  { path: '/dashboard/tickets', operationId: 'getConsoleTicketList', file: 'tickets.html', roles: ['operator'] },
  { path: '/dashboard/tickets/:id', operationId: 'getConsoleTicket', file: 'ticket.html', roles: ['operator'] },
  { path: '/dashboard/backlog', operationId: 'getConsoleBacklog', file: 'backlog.html', roles: ['operator', 'steering'] },
  { path: '/dashboard/backlog/:id', operationId: 'getConsoleBacklogItem', file: 'backlog-item.html', roles: ['operator', 'steering'] },
  { path: '/dashboard/reports/cost-split', operationId: 'getConsoleCostReport', file: 'report.html', roles: ['operator', 'steering'] },
  { path: '/dashboard/dead-letters', operationId: 'getConsoleDeadLetters', file: 'dead-letters.html', roles: ['operator'] },
];

/** What the OpenAPI document says a console page answers (besides the problems every route can answer). */
const PAGE_RESPONSES = {
  200: { description: 'The page (HTML) to a session of a role that may open it', content: { 'text/html': { schema: z.string() } } },
  303: z.null().describe('No session: to the login form, /dashboard/login (Location)'),
};

const PAGE_SUMMARY: Record<string, string> = {
  '/dashboard/tickets': 'The console: a list of tickets with the filter of a count on the board, and the search',
  '/dashboard/tickets/:id': 'The console: one ticket with its timeline, SLA clocks in local time and the actions the machine allows now',
  '/dashboard/backlog': 'The console: the backlog by score or rank',
  '/dashboard/backlog/:id': 'The console: a backlog item with its linked tickets, why each was linked, and the decisions allowed now',
  '/dashboard/reports/cost-split': 'The console: the cost report per Land and service, with a CSV download',
  '/dashboard/dead-letters': 'The console: every dead letter (webhook, mail, connector), paged, each to replay; the board\'s count opens it',
};

export interface ConsoleDeps {
  engine: Engine;
  topology: Topology;
  sessions: Sessions;
  now: () => number;
}

const back = (reply: FastifyReply, location: string) => reply.code(303).header('location', location).header('cache-control', 'no-store').send();

/** A clock as the ticket page shows it: the business time left on the holder's calendar, computed where the calendars are. */
function clocksOf(engine: Engine, topology: Topology, record: Awaited<ReturnType<Engine['getTicket']>>, at: number) {
  const timeline = engine.slaTimeline(record);
  return {
    ...timeline,
    clocks: timeline.clocks.map((c) => {
      const live = c.outcome === 'running' || c.outcome === 'paused';
      return { ...c, businessMsLeft: live ? businessMsBetween(topology.calendarOf(c.holder), at, Date.parse(c.dueAt)) : null };
    }),
  };
}

/** The handoff still waiting for its receipt, if any. */
function handoffOf(record: Awaited<ReturnType<Engine['getTicket']>>) {
  const h = record.state.context.handoff;
  const iso = (ms: number) => new Date(ms).toISOString();
  return h ? { orgId: h.orgId, attempts: h.attempts, requestedAt: iso(h.requestedAt), receiptDueAt: iso(h.receiptDueAt) } : null;
}

/** The jobs behind a ticket, as links into bull-board: its armed SLA timer, the queue of a handoff waiting for its receipt. */
function jobsOf(record: Awaited<ReturnType<Engine['getTicket']>>) {
  const { timer, handoff } = record.state.context;
  const jobs: { label: 'timer' | 'handoff'; queue: string; jobId?: string; orgId?: string; url: string; at?: string }[] = [];
  if (timer) {
    const jobId = timerJobId(record.id, timer.epoch);
    jobs.push({ label: 'timer', queue: QUEUE.sla, jobId, url: boardUrl(QUEUE.sla, jobId, partitionOfId(record.id)), at: new Date(timer.at).toISOString() });
  }
  if (handoff) jobs.push({ label: 'handoff', queue: handoffQueueName(handoff.orgId), orgId: handoff.orgId, url: boardUrl(handoffQueueName(handoff.orgId)) });
  return jobs;
}

/**
 * The steps the ticket's holder could take now that the viewer cannot: the
 * page says that only the holder may, and offers to take the ticket over first.
 */
function holderOnlyEvents(engine: Engine, topology: Topology, record: Awaited<ReturnType<Engine['getTicket']>>, holder: string | null, allowed: readonly string[]): string[] {
  const role = holder ? devRoleFor(topology, holder) : undefined;
  if (!holder || !role || role === 'steering') return [];
  const asHolder = engine.allowedEvents({ orgId: holder, role, land: topology.orgs.get(holder)?.land }, record);
  return asHolder.filter((e) => !allowed.includes(e));
}

/**
 * `/dashboard/tickets…`, `/dashboard/backlog…`, `/dashboard/reports/…`: the
 * pages, and the one read the API has no route for (a ticket with its
 * history, clocks and the events the caller may send now). Every change the
 * pages make goes to `/v1/…` with the session's CSRF token: the one path.
 */
export function consoleRoutes(deps: ConsoleDeps) {
  const { engine, topology } = deps;

  async function page(req: FastifyRequest, reply: FastifyReply, file: string, roles: readonly string[]) {
    const session = await deps.sessions.fromRequest(req);
    if (!session) return back(reply, `/dashboard/login`);
    if (!roles.includes(session.principal.role)) {
      // A browser gets a page that says so in words; a client that asks for JSON, the problem document.
      if (!/text\/html/.test(req.headers.accept ?? '')) return sendProblem(reply, new AppError('FORBIDDEN', `The role ${session.principal.role} may not open this page`));
      return reply.code(403).header('cache-control', 'no-store').sendFile('forbidden.html');
    }
    reply.header('cache-control', 'no-store');
    return reply.sendFile(file);
  }

  return async (app: FastifyInstance) => {
    for (const p of PAGES) {
      app.get(p.path, { schema: { tags: ['dashboard'], operationId: p.operationId, summary: PAGE_SUMMARY[p.path], response: PAGE_RESPONSES } }, (req, reply) => page(req, reply, p.file, p.roles));
    }

    app.get<{ Params: { id: string } }>('/dashboard/api/tickets/:id', { config: { roles: ['operator'] }, schema: { hide: true } }, async (req, reply) => {
      const principal: Principal = principalOf(req);
      const record = await engine.getTicket(principal, req.params.id);
      const at = deps.now();
      // The console never shows the reporter, whatever the view would allow.
      const { reporter: _reporter, ...ticket } = engine.view(principal, record);
      reply.header('cache-control', 'no-store').header('etag', `"${record.version}"`);
      const allowedEvents = engine.allowedEvents(principal, record);
      return {
        at: new Date(at).toISOString(),
        ticket,
        allowedEvents,
        holderOnly: holderOnlyEvents(engine, topology, record, ticket.assignee, allowedEvents),
        // Who an operator may hand the ticket to: every organisation that works tickets, not the holder.
        assignable: [...topology.orgs.values()].filter((o) => o.kind !== 'steering' && o.id !== ticket.assignee).map((o) => o.id),
        handoff: handoffOf(record),
        jobs: jobsOf(record),
        sla: clocksOf(engine, topology, record, at),
        history: await engine.history(principal, record.id),
      };
    });
  };
}
