import { z } from 'zod';
import { IdSchema } from './ids.js';
import { ActorViewSchema } from './ticket.js';

const reason = z.string().min(1).max(5_000);
const note = z.string().max(20_000);
/** Why the decision was taken, in the decider's words: kept in the item's history, changes nothing else. */
const comment = z.string().min(1).max(5_000);

/**
 * Events a caller may send to a backlog item (`POST /v1/backlog/{id}/events`),
 * each strictly shaped. UNMERGE names each ticket once and at most as many
 * as an item can hold; the machine checks they are linked.
 */
export const BacklogEventInputSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('PRIORITIZE'), rank: z.number().int().min(1).max(1_000_000), comment: comment.optional() }),
  z.strictObject({ type: z.literal('ACCEPT'), note: note.optional(), comment: comment.optional() }),
  z.strictObject({ type: z.literal('REJECT'), reason, comment: comment.optional() }),
  z.strictObject({ type: z.literal('SCHEDULE'), release: z.string().min(1).max(100), comment: comment.optional() }),
  z.strictObject({ type: z.literal('COMPLETE'), note: note.optional(), comment: comment.optional() }),
  z.strictObject({ type: z.literal('MERGE'), into: IdSchema, comment: comment.optional() }),
  z.strictObject({
    type: z.literal('UNMERGE'),
    tickets: z
      .array(IdSchema)
      .min(1)
      .max(10_000)
      .refine((ids) => new Set(ids).size === ids.length, 'names a ticket twice'),
  }),
]);
export type BacklogEventInput = z.infer<typeof BacklogEventInputSchema>;

/** One entry of a backlog item's history, as stored and as callers read it. */
export const BacklogHistoryEntrySchema = z.object({
  version: z.number().int(), at: z.string(), type: z.string(),
  actor: ActorViewSchema,
  from: z.string().nullable(), to: z.string(), details: z.record(z.string(), z.unknown()).optional(),
});
export type BacklogHistoryEntry = z.infer<typeof BacklogHistoryEntrySchema>;
