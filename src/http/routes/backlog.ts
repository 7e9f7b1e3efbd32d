import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BacklogEventInputSchema, BacklogHistoryEntrySchema } from '../../domain/backlog-event.js';
import { IdSchema, LandCodeSchema } from '../../domain/ids.js';
import { BACKLOG_STATUSES, type BacklogEngine } from '../../engine/backlog/index.js';
import { stateInfo, type TicketEngine } from '../../engine/ticket/index.js';
import { principalOf } from '../auth.js';
import { problemResponses } from '../problem.js';

const ALL = ['desk', 'provider', 'operator', 'steering'] as const;
const Params = z.object({ id: IdSchema });
const StatusSchema = z.enum(BACKLOG_STATUSES as unknown as [string, ...string[]]);

const ListQuery = z.strictObject({
  service: IdSchema.optional(),
  land: LandCodeSchema.optional().describe('only items a ticket of this Land is linked to'),
  status: StatusSchema.optional(),
  sort: z.enum(['score', 'rank']).default('score'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(120).regex(/^-?[0-9.e+]+~[A-Za-z0-9_-]+$/, 'a cursor from an earlier page').optional(),
});

const LinkView = z.object({
  ticketId: z.string(), land: LandCodeSchema, priority: z.string(), source: z.string(),
  score: z.number().describe('how alike the ticket and the item are, 0..1'), shared: z.array(z.string()).describe('the terms they share'),
  words: z.array(z.string()).describe('the shared terms as the item writes them (the reason a person reads)'),
  identical: z.boolean().describe('alike in full: the same subject'),
  linkedAt: z.string(),
});

export const BacklogItemViewSchema = z.object({
  id: z.string(),
  service: z.string(),
  title: z.string(),
  description: z.string(),
  status: StatusSchema,
  rank: z.number().int().nullable(),
  score: z.number().describe('0..100: tickets + lands + population + priority, see scoreParts'),
  scoreParts: z.object({ tickets: z.number(), lands: z.number(), population: z.number(), priority: z.number() }),
  ticketCount: z.number().int(),
  lands: z.array(LandCodeSchema),
  population: z.number().int().describe('people the asking Länder stand for (Zensus 2022)'),
  tickets: z.array(z.string()).describe('the linked tickets in the caller\'s reach'),
  why: z.array(LinkView),
  firstSeen: z.string(),
  lastSeen: z.string(),
  release: z.string().nullable(),
  reason: z.string().nullable(),
  mergedInto: z.string().nullable(),
  splitFrom: z.string().nullable(),
  version: z.number().int(),
  allowedEvents: z.array(z.string()),
});

const IF_MATCH = /^\s*(?:"(\d{1,12})"|(\d{1,12}))\s*$/;

/** A linked ticket as a backlog item's reader sees it: what it asks and where it stands, never who asked. */
const LinkedTicketSchema = z.object({
  id: z.string(), subject: z.string(), land: LandCodeSchema, service: z.string(), priority: z.string(),
  status: z.string(), createdAt: z.string().describe('when the ticket was created (ISO 8601)'),
});

const LinkedQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(12).regex(/^[0-9]+$/, 'a cursor from an earlier page').optional(),
});

/** The tickets the backlog routes read: only the linked ones, by id. */
export type LinkedTicketReader = Pick<TicketEngine, 'findTicket'>;

export function backlogRoutes(backlog: BacklogEngine, tickets?: LinkedTicketReader): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/backlog', {
      config: { roles: ALL },
      schema: {
        tags: ['backlog'],
        operationId: 'listBacklogItems',
        summary: 'Backlog items in reach, by score (highest first) or rank (1 first)',
        querystring: ListQuery,
        response: { 200: z.object({ items: z.array(BacklogItemViewSchema), next: z.string().nullable() }), ...problemResponses(400, 401) },
      },
    }, async (req) => {
      const principal = principalOf(req);
      const page = await backlog.list(principal, req.query as Parameters<BacklogEngine['list']>[1]);
      return { items: page.items.map((r) => backlog.view(principal, r)), next: page.next };
    });

    app.get('/v1/backlog/:id', {
      config: { roles: ALL },
      schema: {
        tags: ['backlog'],
        operationId: 'getBacklogItem',
        summary: 'One backlog item with why each ticket was linked, the score\'s parts and its history',
        params: Params,
        response: { 200: BacklogItemViewSchema.extend({ history: z.array(BacklogHistoryEntrySchema) }), ...problemResponses(401, 404) },
      },
    }, async (req, reply) => {
      const principal = principalOf(req);
      const record = await backlog.get(principal, req.params.id);
      reply.header('etag', `"${record.version}"`);
      return { ...backlog.view(principal, record), history: await backlog.history(principal, record.id) };
    });

    if (tickets) {
      app.get('/v1/backlog/:id/tickets', {
        config: { roles: ALL },
        schema: {
          tags: ['backlog'],
          operationId: 'listBacklogItemTickets',
          summary: "An item's linked tickets in the caller's reach (the steering committee's too): subject, Land, service, priority, status, date; never the reporter or the description",
          params: Params,
          querystring: LinkedQuery,
          response: {
            200: z.object({ items: z.array(LinkedTicketSchema), removed: z.array(z.string()).describe('linked tickets that no longer exist (retention, erasure)'), next: z.string().nullable() }),
            ...problemResponses(400, 401, 404),
          },
        },
      }, async (req) => {
        const principal = principalOf(req);
        const record = await backlog.get(principal, req.params.id);
        // The same tickets the item's view names for this caller (a desk: its own Land's).
        const ids = backlog.view(principal, record).tickets;
        const start = Number(req.query.cursor ?? 0);
        const page = ids.slice(start, start + req.query.limit);
        const loaded = await Promise.all(page.map((id) => tickets.findTicket(id)));
        const items = loaded.flatMap((r) => {
          if (!r) return [];
          const info = stateInfo(r.state.value);
          const ctx = r.state.context;
          return [{ id: r.id, subject: r.data.subject, land: ctx.facts.land, service: ctx.facts.service, priority: ctx.priority, status: info.status, createdAt: new Date(ctx.createdAt).toISOString() }];
        });
        const removed = page.filter((_, i) => !loaded[i]);
        return { items, removed, next: start + page.length < ids.length ? String(start + page.length) : null };
      });
    }

    app.post('/v1/backlog/:id/events', {
      config: { roles: ['operator', 'steering'] },
      schema: {
        tags: ['backlog'],
        operationId: 'applyBacklogEvent',
        summary: 'Decide on an item: PRIORITIZE, ACCEPT, REJECT, SCHEDULE, COMPLETE, MERGE, UNMERGE',
        params: Params,
        headers: z.object({
          'if-match': z.string().max(40).regex(IF_MATCH, 'an item version like "3"').optional(),
          'idempotency-key': z.string().min(1).max(200).optional(),
        }),
        body: BacklogEventInputSchema,
        response: { 200: BacklogItemViewSchema, ...problemResponses(400, 401, 403, 404, 409, 412, 422) },
      },
    }, async (req, reply) => {
      const principal = principalOf(req);
      const m = req.headers['if-match'] ? IF_MATCH.exec(req.headers['if-match']) : null;
      const { record, replayed } = await backlog.applyItemEvent(principal, req.params.id, req.body, {
        ifMatch: m ? Number(m[1] ?? m[2]) : undefined,
        idempotencyKey: req.headers['idempotency-key'],
      });
      reply.header('etag', `"${record.version}"`);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return backlog.view(principal, record);
    });
  };
}
