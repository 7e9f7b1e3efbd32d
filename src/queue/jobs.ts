import { z } from 'zod';
import { LINK_SOURCES } from '../domain/backlog-policy.js';
import { IdSchema, LandCodeSchema } from '../domain/ids.js';
import { PrioritySchema } from '../domain/topology.js';

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

const LinkSchema = z.strictObject({
  ticketId: IdSchema,
  land: LandCodeSchema,
  priority: PrioritySchema,
  score: z.number().min(0).max(1),
  shared: z.array(z.string().max(100)).max(64),
  at: z.number(),
  source: z.enum(LINK_SOURCES),
});

/**
 * `backlog` queue: the feed into the backlog and the backlog's own effects.
 * Ids, not texts, wherever the text can be read from where it lies (a
 * suggestion's from the ticket's history, a ticket's from the ticket), so
 * job data carries no personal data a desk may have typed.
 */
export const BacklogJobSchema = z.discriminatedUnion('type', [
  /** A ticket asks for an improvement: a SUGGEST_IMPROVEMENT at `version`, or its creation with category improvement. */
  z.strictObject({ type: z.literal('suggest'), ticketId: IdSchema, version: z.number().int().positive(), source: z.enum(['suggestion', 'improvement']) }),
  /** A technical ticket was created: it may be one more report of a recurring problem. */
  z.strictObject({ type: z.literal('observe'), ticketId: IdSchema }),
  /** A MERGE: the target item takes the source's links. */
  z.strictObject({ type: z.literal('absorb'), into: IdSchema, from: IdSchema, links: z.array(LinkSchema).max(100_000) }),
  /** An UNMERGE: a new item holds the tickets split off. */
  z.strictObject({ type: z.literal('split'), from: IdSchema, version: z.number().int().positive(), links: z.array(LinkSchema).max(100_000) }),
  /** A decided item tells one linked ticket, once. */
  z.strictObject({
    type: z.literal('notify'), item: IdSchema, version: z.number().int().positive(), ticketId: IdSchema,
    outcome: z.enum(['done', 'rejected']), release: z.string().max(100).optional(), reason: z.string().max(5_000).optional(),
  }),
]);
export type BacklogJob = z.infer<typeof BacklogJobSchema>;

/** `retention` queue: the scheduler's sweep, and a purge after one ticket's erasure. */
export const RetentionJobSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sweep') }),
  z.strictObject({ type: z.literal('purge'), ticketId: IdSchema, version: z.number().int().positive() }),
]);
export type RetentionJob = z.infer<typeof RetentionJobSchema>;
