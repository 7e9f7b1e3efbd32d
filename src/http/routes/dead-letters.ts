import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdSchema } from '../../domain/ids.js';
import { AppError } from '../../errors.js';
import { DeadLetterIdSchema, type DeadLetter, type DeadLetters } from '../../webhooks/dead-letters.js';
import { problemResponses } from '../problem.js';

const Params = z.object({ id: DeadLetterIdSchema.describe('Dead letter id: the CloudEvent id') });

const DeadLetterSchema = z
  .object({
    id: z.string().describe('The CloudEvent id; also the webhook-id header of every attempt and replay'),
    orgId: z.string(),
    event: z
      .object({ specversion: z.string(), id: z.string(), source: z.string(), type: z.string(), subject: z.string(), time: z.string() })
      .loose()
      .describe('The CloudEvent as it was to be delivered, without the reporter’s personal data'),
    reason: z.string(),
    attempts: z.number().int().describe('Requests made (0 when the endpoint was already disabled)'),
    lastStatus: z.number().int().nullable().describe('Last HTTP status; null when no answer came'),
    failedAt: z.string(),
    jobId: z.string(),
    replayedAt: z.string().optional().describe('When an operator last replayed this event: it failed again since'),
    inDoubt: z.boolean().optional().describe('A mail that may have been delivered already (the worker died after the SMTP server took it and before it was recorded sent): look its Message-ID (in `reason`) up in the MTA\'s log; a replay needs `?force=true` and may deliver it twice'),
    channel: z.enum(['webhook', 'mail', 'connector']).optional().describe('webhook (when absent), mail (a mail Lotse could not send, id `mail-<event id>`) or connector (a change Lotse could not carry to another ticket system, id `cx-<event id>`); a replay carries it again'),
  })
  .describe('A webhook delivery, a mail or a change for another ticket system that failed for good');

const ListQuery = z.strictObject({
  orgId: IdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).regex(/^[A-Za-z0-9_-]*$/, 'a cursor from an earlier page').optional(),
});

/** Operators never see reporters: the dead letter keeps the event as sent, the view drops every `reporter`. */
function withoutReporter(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutReporter);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'reporter').map(([k, v]) => [k, withoutReporter(v)]));
  }
  return value;
}
const view = (d: DeadLetter) => ({ ...d, event: withoutReporter(d.event) as Record<string, unknown> & DeadLetter['event'] });

const ReplayQuery = z.strictObject({
  force: z.enum(['true', 'false']).default('false').describe('`true`: replay a mail in doubt (`inDoubt`) all the same, accepting that it may arrive twice'),
});

const notFound = (id: string) => new AppError('NOT_FOUND', `No dead letter ${id}`, { deadLetterId: id });

/** Webhook deliveries that failed for good, per provider; operators look at them and replay them. */
export function deadLetterRoutes(deadLetters: DeadLetters): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/dead-letters', {
      config: { roles: ['operator'] },
      schema: {
        tags: ['dead-letters'],
        operationId: 'listDeadLetters',
        summary: 'Webhook deliveries that failed for good, newest first',
        querystring: ListQuery,
        response: { 200: z.object({ items: z.array(DeadLetterSchema), next: z.string().nullable() }), ...problemResponses(400, 401, 403) },
      },
    }, async (req) => {
      const page = await deadLetters.list(req.query);
      return { items: page.items.map(view), next: page.next };
    });

    app.get('/v1/dead-letters/:id', {
      config: { roles: ['operator'] },
      schema: { tags: ['dead-letters'], operationId: 'getDeadLetter', summary: 'One dead letter', params: Params, response: { 200: DeadLetterSchema, ...problemResponses(400, 401, 403, 404) } },
    }, async (req) => {
      const entry = await deadLetters.get(req.params.id);
      if (!entry) throw notFound(req.params.id);
      return view(entry);
    });

    app.post('/v1/dead-letters/:id/replay', {
      config: { roles: ['operator'] },
      schema: {
        tags: ['dead-letters'],
        operationId: 'replayDeadLetter',
        summary: 'Send the same event (same webhook-id) again; re-enables a disabled endpoint and removes the entry',
        description: 'A mail in doubt (`inDoubt: true`) may have been delivered already: it is replayed only with `?force=true` (409 otherwise, naming the reason).',
        params: Params,
        querystring: ReplayQuery,
        response: {
          202: z.object({ id: z.string(), orgId: z.string(), jobId: z.string().describe('The new delivery job'), replayedAt: z.string().describe('When it was replayed') }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    }, async (req, reply) => {
      const replayed = await deadLetters.replay(req.params.id, { force: req.query.force === 'true' });
      if (!replayed) throw notFound(req.params.id);
      return reply.code(202).send(replayed);
    });
  };
}
