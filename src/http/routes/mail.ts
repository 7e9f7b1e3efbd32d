import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../domain/access.js';
import { IdSchema } from '../../domain/ids.js';
import { AppError } from '../../errors.js';
import type { MailLogEntry } from '../../store/mail-log.js';
import type { Undeliverable } from '../../store/mail-limits.js';
import { principalOf } from '../auth.js';
import { problemResponses } from '../problem.js';

/** What the mail room shows (workers/mail-room.ts implements it). */
export interface MailRoutesView {
  undeliverable(): Promise<Undeliverable[]>;
  clearUndeliverable(address: string): Promise<boolean>;
  health(): Promise<{ orgId: string; address: string; queued: number; failing: number; sent: number; received: number; deadLettered: number; lastSentAt: number | null; lastReceivedAt: number | null; lastFailureAt: number | null; lastFailure: string | null }[]>;
  ticketLog(principal: Principal, ticketId: string): Promise<MailLogEntry[]>;
  attachment(principal: Principal, id: string): Promise<{ name: string; type: string; content: Buffer } | null>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const UndeliverableSchema = z.object({
  address: z.string(),
  at: z.string(),
  status: z.string().describe('The DSN status, e.g. 5.1.1'),
  diagnostic: z.string(),
  ticketId: z.string().nullable().describe('The ticket whose mail bounced'),
});

const HealthSchema = z.object({
  orgId: z.string(),
  address: z.string(),
  queued: z.number().int().describe('Mails waiting to be sent or retried'),
  failing: z.number().int().describe('Sends that failed since the last success'),
  sent: z.number().int(),
  received: z.number().int(),
  deadLettered: z.number().int(),
  lastSentAt: z.string().nullable().describe('Last success: a mail accepted by the SMTP server'),
  lastReceivedAt: z.string().nullable(),
  lastFailureAt: z.string().nullable(),
  lastFailure: z.string().nullable(),
});

const LogEntrySchema = z.object({
  at: z.string(),
  direction: z.enum(['in', 'out']),
  messageId: z.string().nullable(),
  party: z.string().nullable().describe('The organisation; `reporter` for intake mail; never an address'),
  kind: z.string().describe('out: handoff, update, request-info; in: person, auto-reply, bounce, list, own'),
  rule: z.string().optional().describe('in: the classification rule that decided'),
  match: z.string().optional().describe('in: message-id, bounce-original, subject-tag, ticket-number or none'),
  steps: z.array(z.string()).optional().describe('in: every match step tried, in order'),
  outcome: z.string().describe('sent, refused (…), in-doubt, or what the mail did: ACCEPT, NOTE, RESOLVE, REJECT_HANDOFF, CREATED, ignored (…)'),
  detail: z.string().optional(),
});

const AddressParams = z.object({ address: z.email().max(254).describe('The address') });
const TicketParams = z.object({ id: IdSchema.describe('Ticket id') });

/**
 * The mail exchange as operators see it: per organisation its mail health,
 * the addresses that bounced for good (and clearing one), and on a ticket
 * every mail in and out with how it was classified and matched.
 */
export function mailRoutes(view: MailRoutesView): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/mail/undeliverable', {
      config: { roles: ['operator'] },
      schema: { tags: ['mail'], operationId: 'listUndeliverableAddresses', summary: 'Addresses that bounced for good (operators)', response: { 200: z.object({ items: z.array(UndeliverableSchema) }), ...problemResponses(401, 403) } },
    }, async () => ({ items: (await view.undeliverable()).slice(0, 1000).map((u) => ({ ...u, at: new Date(u.at).toISOString() })) }));

    app.delete('/v1/mail/undeliverable/:address', {
      config: { roles: ['operator'] },
      schema: { tags: ['mail'], operationId: 'clearUndeliverableAddress', summary: 'Mail may go to this address again (operators)', params: AddressParams, response: { 204: z.null().describe('Cleared'), ...problemResponses(400, 401, 403, 404) } },
    }, async (req, reply) => {
      if (!(await view.clearUndeliverable(req.params.address))) throw new AppError('NOT_FOUND', `${req.params.address} is not marked undeliverable`);
      return reply.code(204).send(null);
    });

    app.get('/v1/mail/health', {
      config: { roles: ['operator'] },
      schema: { tags: ['mail'], operationId: 'getMailHealth', summary: 'Mail health per organisation that works by e-mail (operators)', response: { 200: z.object({ items: z.array(HealthSchema) }), ...problemResponses(401, 403) } },
    }, async () => ({
      items: (await view.health()).map((h) => ({ ...h, lastSentAt: iso(h.lastSentAt), lastReceivedAt: iso(h.lastReceivedAt), lastFailureAt: iso(h.lastFailureAt) })),
    }));

    app.get('/v1/mail/attachments/:id', {
      config: { roles: ['desk', 'provider', 'operator', 'steering'] },
      schema: {
        tags: ['mail'], operationId: 'getMailAttachment', summary: "An intake mail's attachment, for whoever may read its ticket (always a download)",
        params: z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, 'an attachment id').describe('Attachment id (from the ticket\'s attachment url)') }),
        response: { 200: z.string().describe('The bytes, as application/octet-stream with Content-Disposition: attachment'), ...problemResponses(400, 401, 404) },
      },
    }, async (req, reply) => {
      const a = await view.attachment(principalOf(req), req.params.id);
      if (!a) throw new AppError('NOT_FOUND', `No attachment ${req.params.id}`);
      // Never shown inline, never sniffed: what a mail brought is a download only.
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(a.name)}`)
        .header('x-content-type-options', 'nosniff')
        // A Buffer is sent as it is (Fastify serializes objects only).
        .send(a.content as unknown as string);
    });

    app.get('/v1/tickets/:id/mail', {
      config: { roles: ['desk', 'provider', 'operator', 'steering'] },
      schema: { tags: ['tickets'], operationId: 'getTicketMailLog', summary: "A ticket's mail log: every mail in and out, how it was classified and matched", params: TicketParams, response: { 200: z.object({ items: z.array(LogEntrySchema) }), ...problemResponses(401, 404) } },
    }, async (req) => ({ items: await view.ticketLog(principalOf(req), req.params.id) }));
  };
}
