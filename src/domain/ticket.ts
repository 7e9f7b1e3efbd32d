import { z } from 'zod';
import { IdSchema, LandCodeSchema } from './ids.js';
import { GradeSchema, PrioritySchema } from './topology.js';

export const CHANNELS = ['phone-115', 'service-desk', 'email', 'web', 'chat'] as const;
export const CATEGORIES = ['question', 'subject-matter', 'technical', 'improvement'] as const;
export const CategorySchema = z.enum(CATEGORIES);
export type Category = z.infer<typeof CategorySchema>;

// C0 controls but tab and newline (CR too: send lines with LF), DEL and the C1 controls.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
// A UTF-16 half without its other half: the string cannot be encoded as UTF-8.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Every stored text: at most `max` characters, no control characters but tab
 * and newline, no lone surrogates. Such text ends up in logs, CSV exports,
 * terminals and other systems' parsers, where NUL and escape sequences do harm.
 */
export function SafeTextSchema(max = 20_000, min = 0) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters (tab and newline are allowed)')
    .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode (no lone surrogates)');
}

/** Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they make a line read as something else. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

/** A line the board shows as a heading (a subject, a title): safe text without bidirectional controls. */
export function DisplayLineSchema(max: number) {
  return SafeTextSchema(max, 1).refine((s) => !BIDI_CONTROL.test(s), 'must not contain bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069)');
}

export const STATUSES = ['new', 'open', 'waiting', 'handoff-pending', 'resolved', 'closed'] as const;
export const StatusSchema = z.enum(STATUSES);
export type Status = z.infer<typeof StatusSchema>;

/** No control characters: these strings end up in keys, ids and headers. */
const Token = (max: number) =>
  SafeTextSchema(max, 1).regex(/^[^\t\n]*$/, 'must not contain tab or newline');

export const ReporterSchema = z.strictObject({
  name: SafeTextSchema(200, 1).optional(),
  email: z.email().max(254).optional(),
  phone: z.string().regex(/^\+?[0-9 ()/.-]{3,40}$/, 'digits, spaces and + ( ) / . - only').optional(),
});
export type Reporter = z.infer<typeof ReporterSchema>;

export const AttachmentSchema = z.strictObject({
  name: Token(255),
  url: z.url({ protocol: /^https?$/ }).max(2048),
  size: z.number().int().nonnegative().max(10 * 1024 ** 3),
});

const CreateTicketFields = z.strictObject({
    externalRef: Token(200).describe("The desk's own id of the request; the default idempotency key"),
    channel: z.enum(CHANNELS),
    land: LandCodeSchema.optional().describe('The Land the request comes from; or give `ars`'),
    ars: z
      .string()
      .regex(/^\d{2,12}$/, 'an Amtlicher Regionalschlüssel of 2 to 12 digits')
      .optional()
      .describe('Amtlicher Regionalschlüssel; its first two digits name the Land'),
    service: IdSchema,
    category: CategorySchema,
    impact: GradeSchema,
    urgency: GradeSchema,
    subject: DisplayLineSchema(200),
    description: SafeTextSchema(20_000).default(''),
    reporter: ReporterSchema.optional(),
    attachments: z.array(AttachmentSchema).max(20).default([]),
    receivedAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When the desk took the request; not in the future, at most 7 days ago; default now. SLA clocks start here.'),
});

const needsPlace = (b: { land?: string; ars?: string }) => b.land !== undefined || b.ars !== undefined;
// `when`: also named while other fields are wrong, so one answer lists every problem.
const placeIssue = {
  path: ['land'],
  message: 'give land or ars',
  when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
};

export const CreateTicketSchema = CreateTicketFields.refine(needsPlace, placeIssue);
export type CreateTicket = z.infer<typeof CreateTicketSchema>;

/** Intake queue jobs: the create body plus the sending desk's organisation. */
export const IntakeJobSchema = CreateTicketFields.extend({ orgId: IdSchema }).refine(needsPlace, placeIssue);
export type IntakeJob = z.infer<typeof IntakeJobSchema>;

const reason = SafeTextSchema(5_000, 1);
const text = SafeTextSchema(20_000);

/** Events a caller may send over HTTP or the events queue, each strictly shaped. */
export const TicketEventInputSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ACCEPT'), note: text.optional() }),
  z.strictObject({ type: z.literal('REQUEST_INFO'), question: text.optional() }),
  z.strictObject({ type: z.literal('INFO_RECEIVED'), info: text.optional() }),
  z.strictObject({ type: z.literal('ESCALATE'), reason }),
  z.strictObject({ type: z.literal('RETURN'), answer: SafeTextSchema(20_000, 1) }),
  z.strictObject({ type: z.literal('REJECT_HANDOFF'), reason }),
  z.strictObject({ type: z.literal('RESOLVE'), resolution: SafeTextSchema(20_000, 1) }),
  z.strictObject({ type: z.literal('REOPEN'), reason }),
  z.strictObject({ type: z.literal('NOTE'), text: SafeTextSchema(20_000, 1) }),
  z.strictObject({ type: z.literal('CLOSE') }),
  z.strictObject({ type: z.literal('SUGGEST_IMPROVEMENT'), title: DisplayLineSchema(200), description: text.default('') }),
  z.strictObject({ type: z.literal('ASSIGN'), assignee: IdSchema, reason }),
  z.strictObject({ type: z.literal('CHANGE_PRIORITY'), impact: GradeSchema, urgency: GradeSchema, reason }),
]);
export type TicketEventInput = z.infer<typeof TicketEventInputSchema>;
/** The type of an event a caller may send (the machine's TicketEventType also names Lotse's own events). */
export type TicketEventInputType = TicketEventInput['type'];
export const USER_EVENT_TYPES = TicketEventInputSchema.options.map((o) => o.shape.type.value);

/** A page of tickets as the engine lists it: HTTP's query string, parsed, comes to this. */
export const TicketListQuerySchema = z.object({
  level: z.number().int().optional(),
  status: z.string().optional(),
  assignee: z.string().optional(),
  land: z.string().optional(),
  service: z.string().optional(),
  sla: z.enum(['at-risk', 'breached']).optional(),
  priority: z.string().optional(),
  /** The desk's own reference, exactly as it was sent. */
  externalRef: z.string().optional(),
  /** Words of the subject, each to be found in it (a bounded search: see the engine's SEARCH_SCAN_MAX). */
  q: z.string().optional(),
  /** Sorted by this over the filtered set (bounded: see the engine's SORT_READ_MAX), `order` asc or desc. */
  sort: z.enum(['subject', 'land', 'service', 'priority', 'status', 'level', 'assignee', 'createdAt']).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  /** Only tickets at a level (neither resolved nor closed). */
  active: z.boolean().optional(),
  limit: z.number().int(),
  cursor: z.string().optional(),
});
export type TicketListQuery = z.infer<typeof TicketListQuerySchema>;

/** A warning or breach as callers see it. */
export const SlaMarkSchema = z.object({
  clock: z.enum(['firstResponse', 'resolution']),
  level: z.number().int(),
  holder: z.string(),
  at: z.string(),
  dueAt: z.string(),
});

export const SlaViewSchema = z.object({
  firstResponseDueAt: z.string().nullable(),
  resolutionDueAt: z.string().nullable(),
  paused: z.boolean(),
  warnings: z.array(SlaMarkSchema),
  breaches: z.array(SlaMarkSchema),
});

export const TicketViewSchema = z
  .object({
    id: z.string(),
    externalRef: z.string(),
    version: z.number().int(),
    land: LandCodeSchema,
    ars: z.string().optional(),
    service: z.string(),
    themeField: z.string(),
    channel: z.enum(CHANNELS),
    category: CategorySchema,
    impact: GradeSchema,
    urgency: GradeSchema,
    priority: PrioritySchema,
    subject: z.string(),
    description: z.string(),
    attachments: z.array(AttachmentSchema),
    level: z.union([z.literal(1), z.literal(2), z.literal(3)]).nullable(),
    status: StatusSchema,
    state: z.string(),
    assignee: z.string().nullable(),
    createdBy: z.string(),
    handledBy: z.array(z.string()),
    sla: SlaViewSchema,
    receivedAt: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    resolvedAt: z.string().nullable(),
    closedAt: z.string().nullable(),
    reporter: ReporterSchema.optional(),
  })
  .describe('A ticket as its readers see it; `reporter` only for callers allowed to see personal data');
export type TicketView = z.infer<typeof TicketViewSchema>;

/** Who made a change, as a history entry names them: an organisation in a role, or Lotse itself. */
export const ActorViewSchema = z.union([z.object({ orgId: z.string(), role: z.string() }), z.object({ system: z.literal(true) })]);
export type ActorView = z.infer<typeof ActorViewSchema>;

export const HistoryEntrySchema = z
  .object({
    version: z.number().int(),
    at: z.string(),
    type: z.string(),
    actor: ActorViewSchema,
    from: z.string().nullable(),
    to: z.string(),
    level: z.number().int().nullable(),
    assignee: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .describe('One applied event: who, what, when, from which state to which');
/** One entry of a ticket's history, as stored and as callers read it. */
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;
