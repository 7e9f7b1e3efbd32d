import { z } from 'zod';
import { IdSchema } from '../domain/ids.js';

export { IntakeJobSchema, type IntakeJob } from '../domain/ticket.js';

/** `events` queue: answers from desks and providers. The event is validated by the engine. */
export const EventsJobSchema = z.strictObject({
  ticketId: IdSchema,
  orgId: IdSchema,
  event: z.looseObject({ type: z.string() }),
  ifMatch: z.number().int().positive().optional(),
});
export type EventsJob = z.infer<typeof EventsJobSchema>;

/** `sla` queue: a ticket's timer; ids only, never the ticket. */
export const TimerJobSchema = z.strictObject({
  ticketId: IdSchema,
  epoch: z.number().int().positive(),
});
export type TimerJob = z.infer<typeof TimerJobSchema>;

/** `backlog` queue: an improvement a holder suggested. */
export const BacklogSuggestionJobSchema = z.strictObject({
  ticketId: IdSchema,
  service: IdSchema,
  land: z.string(),
  title: z.string(),
  description: z.string(),
  at: z.number(),
});
export type BacklogSuggestionJob = z.infer<typeof BacklogSuggestionJobSchema>;
