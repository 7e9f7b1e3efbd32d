import { z } from 'zod';
import { CloudEventSchema, HANDOFF_EVENT_TYPES, type CloudEvent } from '../domain/cloudevent.js';
import type { TicketView } from '../domain/ticket.js';
import type { HistoryEntry } from '../domain/ticket.js';

export { HANDOFF_EVENT_TYPES, type HandoffEventType } from '../domain/cloudevent.js';

export interface HandoffRequestedData {
  /** The ticket view; `reporter` only where the service shares it with this provider. */
  ticket: TicketView;
  history: HistoryEntry[];
  /** 1, or 2 when Lotse sends it again because no receipt came in time. */
  attempt: number;
  reason: string;
  /** Whether Lotse waits for an ACCEPT (the receipt); false when the ticket comes back to a provider that had taken it. */
  receiptRequired: boolean;
}
export interface TicketUpdatedData {
  ticket: TicketView;
  history: HistoryEntry[];
  /** The event someone else applied: `INFO_RECEIVED`, `CHANGE_PRIORITY`, … */
  change: string;
}
export interface TicketWithdrawnData {
  ticketId: string;
  version: number;
  reason: string;
  /** Where the ticket is now, as a dotted state path. */
  state: string;
}

export type HandoffRequestedEvent = CloudEvent<HandoffRequestedData> & { type: typeof HANDOFF_EVENT_TYPES.requested };
export type TicketUpdatedEvent = CloudEvent<TicketUpdatedData> & { type: typeof HANDOFF_EVENT_TYPES.updated };
export type TicketWithdrawnEvent = CloudEvent<TicketWithdrawnData> & { type: typeof HANDOFF_EVENT_TYPES.withdrawn };
export type ProviderEvent = HandoffRequestedEvent | TicketUpdatedEvent | TicketWithdrawnEvent;

// Loose objects: a newer Lotse may add fields (CloudEvents extensions, view fields) without breaking providers.
const ticket = z.looseObject({ id: z.string().min(1), version: z.number().int().positive() });
const history = z.array(z.looseObject({ version: z.number().int().positive(), type: z.string() }));

/** The data of each known type; an unknown type is only checked as a CloudEvent. */
export const HANDOFF_DATA_SCHEMAS = {
  [HANDOFF_EVENT_TYPES.requested]: z.looseObject({
    ticket,
    history,
    attempt: z.number().int().positive(),
    reason: z.string(),
    receiptRequired: z.boolean(),
  }),
  [HANDOFF_EVENT_TYPES.updated]: z.looseObject({ ticket, history, change: z.string().min(1) }),
  [HANDOFF_EVENT_TYPES.withdrawn]: z.looseObject({ ticketId: z.string().min(1), version: z.number().int().positive(), reason: z.string(), state: z.string() }),
} as const;

export type ParsedEvent =
  | { ok: true; known: true; event: ProviderEvent }
  | { ok: true; known: false; event: CloudEvent }
  | { ok: false; problems: string[] };

/** Validates a job's data as one of Lotse's handoff CloudEvents. */
export function parseProviderEvent(input: unknown): ParsedEvent {
  const envelope = CloudEventSchema.safeParse(input);
  if (!envelope.success) return { ok: false, problems: envelope.error.issues.map(describeIssue) };
  const event = envelope.data as CloudEvent;
  const schema = (HANDOFF_DATA_SCHEMAS as Record<string, z.ZodType | undefined>)[event.type];
  if (!schema) return { ok: true, known: false, event };
  const data = schema.safeParse(event.data);
  if (!data.success) return { ok: false, problems: data.error.issues.map((i) => describeIssue({ ...i, path: ['data', ...i.path] })) };
  return { ok: true, known: true, event: event as ProviderEvent };
}

const describeIssue = (i: { path: PropertyKey[]; message: string }) => `${i.path.map(String).join('.') || '(event)'}: ${i.message}`;
