import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdSchema } from '../../domain/ids.js';
import type { TicketEngine } from '../../engine/ticket/index.js';
import { principalOf } from '../auth.js';
import { problemResponses } from '../problem.js';

const Params = z.object({ id: IdSchema.describe('Ticket id') });

export const ErasureResultSchema = z
  .object({
    id: z.string(),
    erased: z.boolean().describe('false: nothing personal was left (an earlier erasure took it); nothing was written'),
    version: z.number().int().describe('The ticket version after the erasure (its audit entry is this version of the history)'),
    what: z.array(z.string()).describe('What was erased: reporter, description, attachments, history (free texts of events), jobs, stream'),
    at: z.string().nullable(),
  })
  .describe("The result of erasing a ticket's personal data");

/**
 * `POST /v1/tickets/{id}/erasure`: an operator erases one ticket's personal
 * data on request, whatever its state (docs/reference/personal-data.md).
 * The ticket, its history and its idempotency record change in one
 * audited commit at once; its jobs and stream events follow within seconds.
 */
export function erasureRoutes(engine: TicketEngine): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/v1/tickets/:id/erasure', {
      config: { roles: ['operator'] },
      schema: {
        tags: ['tickets'],
        operationId: 'eraseTicketPersonalData',
        summary: "Erase a ticket's personal data now (operators; GDPR Art. 17)",
        description: 'The reporter, the description, the attachments and every free text of its events are erased; an audit entry (ERASED) records what and when, never what it was. A repeat finds nothing left and writes nothing.',
        params: Params,
        response: { 200: ErasureResultSchema, ...problemResponses(401, 403, 404, 409) },
      },
    }, async (req) => {
      const principal = principalOf(req);
      const erased = await engine.eraseTicket(principal, req.params.id, 'request');
      if (erased) {
        const entry = await engine.historyEntry(erased.id, erased.version);
        return { id: erased.id, erased: true, version: erased.version, what: (entry?.details?.erased as string[] | undefined) ?? [], at: entry?.at ?? null };
      }
      const record = await engine.getTicket(principal, req.params.id);
      return { id: record.id, erased: false, version: record.version, what: [], at: null };
    });
  };
}
