import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdSchema, LandCodeSchema } from '../../domain/ids.js';
import { CreateTicketSchema, HistoryEntrySchema, StatusSchema, TicketEventInputSchema, TicketViewSchema } from '../../domain/ticket.js';
import { PrioritySchema } from '../../domain/topology.js';
import { SEARCH_SCAN_MAX, SlaTimelineSchema, SORT_KEYS, SORT_READ_MAX, type TicketEngine } from '../../engine/ticket/index.js';
import { AppError, fieldErrors } from '../../errors.js';
import { principalOf } from '../auth.js';
import { problemResponses } from '../problem.js';

/** Who reads single tickets: the steering committee reaches none, so it is refused (403) for any id, existing or not. */
const READERS = ['desk', 'provider', 'operator'] as const;
const Params = z.object({ id: IdSchema.describe('Ticket id') });

const IdempotencyKeyHeader = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'visible ASCII only')
  .refine((k) => k !== '""', 'must not be empty')
  .optional();

const CreateHeaders = z.object({ 'idempotency-key': IdempotencyKeyHeader });

/** The draft has the key as a structured-field string: "…"; plain tokens are taken as they are. */
const idempotencyKeyFromHeader = (header: string | undefined) => header?.replace(/^"(.*)"$/, '$1');

/** The ticket list's query as sent: the domain's TicketListQuery over HTTP (test/unit/type-drift.test.ts keeps the two in step). */
export const ListQuery = z.strictObject({
  level: z.coerce.number().int().min(1).max(3).optional(),
  status: StatusSchema.optional(),
  assignee: IdSchema.optional(),
  land: LandCodeSchema.optional(),
  service: IdSchema.optional(),
  sla: z.enum(['at-risk', 'breached']).optional(),
  priority: PrioritySchema.optional(),
  externalRef: z.string().min(1).max(200).optional().describe("The desk's own reference, exactly as sent at creation (tickets in the caller's reach)"),
  q: z.string().max(100).refine((v) => /[\p{L}\p{N}]{2}/u.test(v), 'at least two letters or digits in a row').optional()
    .describe(`Words of the subject, all of them (case and umlaut spelling ignored). Bounded: one page reads at most ${SEARCH_SCAN_MAX} tickets of the filtered set; the answer says how many (searched) and next goes on`),
  sort: z.enum(SORT_KEYS).optional()
    .describe(`Sorted over the filtered set by this (Länder, services and holders by name): reads at most ${SORT_READ_MAX} tickets of it, the newest; the answer says over how many (sorted) and whether that was all`),
  order: z.enum(['asc', 'desc']).optional().describe('with sort: asc (default) or desc'),
  active: z.enum(['true', 'false']).optional().describe('true: only tickets at a level (neither resolved nor closed)'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).regex(/^[A-Za-z0-9_-]*$/, 'a cursor from an earlier page').optional(),
});

const IF_MATCH = /^\s*(?:\*|(?:W\/)?"(\d{1,12})"|(\d{1,12}))\s*$/;

/** `If-Match: 3`, `"3"` or `W/"3"`: the version the caller last saw; `*`: any version. */
function parseIfMatch(header: string | undefined): number | undefined {
  const m = header === undefined ? null : IF_MATCH.exec(header);
  const version = m?.[1] ?? m?.[2];
  return version === undefined ? undefined : Number(version);
}

export function ticketRoutes(engine: TicketEngine): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/v1/tickets', {
      config: { roles: ['desk', 'operator'] },
      // The engine checks the body itself, shape and topology together, so one answer names every wrong field.
      attachValidation: true,
      schema: {
        tags: ['tickets'],
        operationId: 'createTicket',
        summary: 'Create a ticket (idempotent per Idempotency-Key, default externalRef)',
        headers: CreateHeaders,
        body: CreateTicketSchema,
        response: { 201: TicketViewSchema, 200: TicketViewSchema, ...problemResponses(400, 401, 403, 409, 413, 422) },
      },
    }, async (req, reply) => {
      const principal = principalOf(req);
      // Fastify stops at the first part that fails; headers are checked here whatever the body did.
      if (req.validationError) {
        const headers = CreateHeaders.safeParse(req.headers);
        if (!headers.success) throw new AppError('BAD_REQUEST', 'The request headers are not valid', { errors: fieldErrors(headers.error.issues).map((e) => ({ ...e, path: `headers.${e.path}` })) });
        if (req.validationError.validationContext !== 'body') throw req.validationError;
      }
      const { record, replayed } = await engine.createTicket(principal, req.body, { idempotencyKey: idempotencyKeyFromHeader(req.headers['idempotency-key']) });
      reply.header('etag', `"${record.version}"`).header('location', `/v1/tickets/${record.id}`);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(replayed ? 200 : 201).send(engine.view(principal, record));
    });

    app.get('/v1/tickets', {
      // The steering committee reaches no ticket: its list is refused (403), not answered empty.
      config: { roles: ['desk', 'provider', 'operator'] },
      schema: {
        tags: ['tickets'],
        operationId: 'listTickets',
        summary: 'List tickets in reach, newest first',
        querystring: ListQuery,
        response: {
          200: z.object({
            items: z.array(TicketViewSchema),
            next: z.string().nullable(),
            searched: z.number().int().optional().describe(`With q: how many tickets of the filtered set this page read for the words (at most ${SEARCH_SCAN_MAX})`),
            sorted: z.object({
              by: z.enum(SORT_KEYS), order: z.enum(['asc', 'desc']),
              over: z.number().int().describe('how many tickets were sorted'),
              complete: z.boolean().describe(`false: the filtered set has more than the ${SORT_READ_MAX} newest that were sorted`),
            }).optional(),
          }),
          ...problemResponses(400, 401, 403),
        },
      },
    }, async (req) => {
      const principal = principalOf(req);
      const page = await engine.listTickets(principal, { ...req.query, active: req.query.active === 'true' });
      return {
        items: page.items.map((r) => engine.view(principal, r)),
        next: page.next,
        ...(page.searched !== undefined ? { searched: page.searched } : {}),
        ...(page.sorted !== undefined ? { sorted: page.sorted } : {}),
      };
    });

    app.get('/v1/tickets/:id', {
      config: { roles: READERS },
      schema: { tags: ['tickets'], operationId: 'getTicket', summary: 'One ticket', params: Params, response: { 200: TicketViewSchema, ...problemResponses(401, 403, 404) } },
    }, async (req, reply) => {
      const principal = principalOf(req);
      const record = await engine.getTicket(principal, req.params.id);
      reply.header('etag', `"${record.version}"`);
      return engine.view(principal, record);
    });

    app.post('/v1/tickets/:id/events', {
      config: { roles: ['desk', 'provider', 'operator'] },
      schema: {
        tags: ['tickets'],
        operationId: 'applyTicketEvent',
        summary: 'Apply one event to a ticket (once per Idempotency-Key, when one is sent)',
        params: Params,
        // A malformed header is a bad request (400), like a bad query parameter.
        headers: z.object({
          'if-match': z.string().max(40).regex(IF_MATCH, 'a ticket version like "3", or *').optional(),
          'idempotency-key': IdempotencyKeyHeader.describe('Optional; scoped to the caller and the ticket. The same key with the same event answers 200 with the ticket as it is now and applies nothing again; with another event 422.'),
        }),
        body: TicketEventInputSchema,
        response: { 200: TicketViewSchema, ...problemResponses(400, 401, 403, 404, 409, 412, 422) },
      },
    }, async (req, reply) => {
      const principal = principalOf(req);
      const { record, replayed } = await engine.applyEventOnce(principal, req.params.id, req.body, {
        ifMatch: parseIfMatch(req.headers['if-match']),
        idempotencyKey: idempotencyKeyFromHeader(req.headers['idempotency-key']),
      });
      reply.header('etag', `"${record.version}"`);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return engine.view(principal, record);
    });

    app.get('/v1/tickets/:id/history', {
      config: { roles: READERS },
      schema: {
        tags: ['tickets'],
        operationId: 'getTicketHistory',
        summary: "A ticket's history",
        params: Params,
        response: { 200: z.object({ items: z.array(HistoryEntrySchema) }), ...problemResponses(401, 403, 404) },
      },
    }, async (req) => ({ items: await engine.history(principalOf(req), req.params.id) }));

    app.get('/v1/tickets/:id/sla', {
      config: { roles: READERS },
      schema: {
        tags: ['tickets'],
        operationId: 'getTicketSla',
        summary: "A ticket's SLA clocks explained: calendars, pauses, closed days, due times, warnings, breaches",
        params: Params,
        response: { 200: SlaTimelineSchema, ...problemResponses(401, 403, 404) },
      },
    }, async (req) => engine.slaTimeline(await engine.getTicket(principalOf(req), req.params.id)));
  };
}
