import { z } from 'zod';

/** A CloudEvents 1.0 event in structured JSON form. */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
  /** Extension: the ticket version the event describes, for ordering. */
  ticketversion?: number;
}

/** CloudEvents 1.0 attributes as Lotse fills them; loose, so extensions a newer Lotse adds pass. */
export const CloudEventSchema = z.looseObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  subject: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  data: z.unknown(),
  ticketversion: z.number().int().optional(),
});

export function cloudEvent<T>(fields: { id: string; source: string; type: string; subject: string; at: number; data: T; version?: number }): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: fields.id,
    source: fields.source,
    type: fields.type,
    subject: fields.subject,
    time: new Date(fields.at).toISOString(),
    datacontenttype: 'application/json',
    data: fields.data,
    ...(fields.version !== undefined ? { ticketversion: fields.version } : {}),
  };
}

/** The CloudEvent types Lotse puts on a provider's `handoff-<orgId>` queue. */
export const HANDOFF_EVENT_TYPES = {
  requested: 'lotse.ticket.handoff.requested',
  updated: 'lotse.ticket.updated',
  withdrawn: 'lotse.ticket.withdrawn',
} as const;
export type HandoffEventType = (typeof HANDOFF_EVENT_TYPES)[keyof typeof HANDOFF_EVENT_TYPES];

/** Past-tense names of ticket events on the stream: `lotse.ticket.escalated`. */
export const EVENT_TYPE_NAMES: Record<string, string> = {
  CREATED: 'created',
  ACCEPT: 'accepted',
  REQUEST_INFO: 'info-requested',
  INFO_RECEIVED: 'info-received',
  ESCALATE: 'escalated',
  RETURN: 'returned',
  REJECT_HANDOFF: 'handoff-rejected',
  RESOLVE: 'resolved',
  REOPEN: 'reopened',
  NOTE: 'noted',
  CLOSE: 'closed',
  SUGGEST_IMPROVEMENT: 'improvement-suggested',
  ASSIGN: 'assigned',
  CHANGE_PRIORITY: 'priority-changed',
  SLA_WARNING: 'sla-warning',
  SLA_BREACHED: 'sla-breached',
  RECEIPT_OVERDUE: 'receipt-overdue',
  BACKLOG_DECIDED: 'backlog-decided',
};

export const ticketEventType = (eventType: string) => `lotse.ticket.${EVENT_TYPE_NAMES[eventType] ?? eventType.toLowerCase()}`;

/** Past-tense names of backlog item events on the stream: `lotse.backlog.prioritized`. */
export const BACKLOG_EVENT_NAMES: Record<string, string> = {
  CREATED: 'created', PRIORITIZE: 'prioritized', ACCEPT: 'accepted', REJECT: 'rejected', SCHEDULE: 'scheduled',
  COMPLETE: 'completed', MERGE: 'merged', UNMERGE: 'unmerged', LINK: 'linked', ABSORB: 'absorbed',
};
export const backlogEventType = (eventType: string) => `lotse.backlog.${BACKLOG_EVENT_NAMES[eventType] ?? eventType.toLowerCase()}`;
