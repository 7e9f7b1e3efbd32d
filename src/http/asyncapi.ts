import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BACKLOG_EVENT_NAMES, backlogEventType, CloudEventSchema, EVENT_TYPE_NAMES, HANDOFF_EVENT_TYPES, ticketEventType } from '../domain/cloudevent.js';
import { CLOCK_NAMES } from '../domain/sla.js';
import { HistoryEntrySchema, TicketViewSchema } from '../domain/ticket.js';
import { HANDOFF_DATA_SCHEMAS } from '../provider/events.js';
import { EventsJobSchema, IntakeJobSchema } from '../queue/jobs.js';

/**
 * The AsyncAPI 3.0 document of Lotse's asynchronous interfaces: the shared
 * `intake` and `events` queues desks and providers add jobs to, an
 * organisation's own `intake-<org>` and `events-<org>`, the `handoff-<org>`
 * queues of CloudEvents for providers, the signed webhook, the `<prefix>:events`
 * Redis stream and the server-sent events of `/v1/stream`. Every payload
 * schema is generated with `z.toJSONSchema` from the zod schemas Lotse and
 * its provider kit validate with, so the document cannot drift from them.
 */

type JsonSchema = Record<string, unknown>;

/** AsyncAPI's default schema format is a superset of JSON Schema draft-07. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: 'draft-07', io, unrepresentable: 'any' }) as JsonSchema;
  return json;
}

const withType = (type: string) => ({ type: z.literal(type) });

/**
 * A job on an organisation's own queue (`intake-<org>`, `events-<org>`): the
 * shared queue's job, whose `orgId` may be left out, since the queue says who
 * sent it (workers/worker-kit.ts `asQueueOwner`); one that has it must name
 * the queue's organisation.
 */
function ownQueueJob(json: JsonSchema): JsonSchema {
  const properties = json.properties as Record<string, JsonSchema>;
  return {
    ...json,
    properties: {
      ...properties,
      orgId: { ...properties.orgId, description: 'May be left out; if given, must be the organisation whose queue this is, or the job fails at once' },
    },
    required: (json.required as string[]).filter((k) => k !== 'orgId'),
  };
}

/** The three CloudEvents on a provider's queue and webhook: the envelope with its type and its data made precise by the ticket view. */
const HandoffRequestedSchema = CloudEventSchema.extend({
  ...withType(HANDOFF_EVENT_TYPES.requested),
  data: HANDOFF_DATA_SCHEMAS[HANDOFF_EVENT_TYPES.requested].extend({ ticket: TicketViewSchema, history: z.array(HistoryEntrySchema) }),
}).describe('A ticket handed to the provider; answer with ACCEPT (the receipt) when `receiptRequired`');
const TicketUpdatedSchema = CloudEventSchema.extend({
  ...withType(HANDOFF_EVENT_TYPES.updated),
  data: HANDOFF_DATA_SCHEMAS[HANDOFF_EVENT_TYPES.updated].extend({ ticket: TicketViewSchema, history: z.array(HistoryEntrySchema) }),
}).describe('Someone else changed a ticket the provider holds (`change` names the event)');
const TicketWithdrawnSchema = CloudEventSchema.extend({
  ...withType(HANDOFF_EVENT_TYPES.withdrawn),
  data: HANDOFF_DATA_SCHEMAS[HANDOFF_EVENT_TYPES.withdrawn],
}).describe('The ticket was taken back from the provider; stop working on it');

/** What the relay appends to `<prefix>:events` and `/v1/stream` sends: every applied event, and notifications. */
const TicketEventSchema = CloudEventSchema.extend({
  type: z.enum(Object.keys(EVENT_TYPE_NAMES).map(ticketEventType) as [string, ...string[]]),
  data: HistoryEntrySchema.extend({ ticketId: z.string() }),
}).describe('A ticket event: its history entry, with the ticket id; `id` is `<ticket>-v<version>`');
/** A backlog item's change on the stream: operators and the steering committee see them. */
const BacklogEventSchema = CloudEventSchema.extend({
  type: z.enum(Object.keys(BACKLOG_EVENT_NAMES).map(backlogEventType) as [string, ...string[]]),
  data: z.looseObject({
    itemId: z.string(), service: z.string(), title: z.string(), status: z.string(), score: z.number(), ticketCount: z.number().int(),
    version: z.number().int(), at: z.string(), type: z.string(), from: z.string().nullable(), to: z.string(),
  }),
}).describe("A backlog item's change: its history entry with the item's status, score and ticket count; `id` is `<item>-v<version>`");
const NotificationSchema = CloudEventSchema.extend({
  ...withType('lotse.notification'),
  data: z.object({
    ticketId: z.string(),
    reason: z.enum(['sla-warning', 'sla-breach', 'receipt-overdue', 'handoff-returned']),
    clock: z.enum(CLOCK_NAMES as [string, ...string[]]).optional(),
    holder: z.string(),
    audience: z.array(z.string()).describe('Organisations to tell'),
  }),
}).describe('Somebody must act: an SLA warning or breach, a receipt overdue, a handoff returned');

const WebhookHeadersSchema = z
  .object({
    'webhook-id': z.string().describe('The CloudEvent id; the same on every retry: deduplicate by it'),
    'webhook-timestamp': z.string().regex(/^\d+$/).describe('Unix seconds of this attempt'),
    'webhook-signature': z.string().describe('`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space-separated when keys rotate'),
    'content-type': z.literal('application/json'),
  })
  .describe('Standard Webhooks headers (standardwebhooks.com)');

const StreamHeadersSchema = z.object({
  'Last-Event-ID': z.string().optional().describe('The stream entry id of the last event seen: the stream resumes after it'),
});

const ref = (path: string) => ({ $ref: path });
const message = (name: string, title: string, payload: string, extra: Record<string, unknown> = {}) => ({
  name,
  title,
  contentType: 'application/json',
  payload: ref(`#/components/schemas/${payload}`),
  ...extra,
});

export function buildAsyncApiDocument(version: string) {
  return {
    asyncapi: '3.0.0' as const,
    info: {
      title: 'Lotse: queues, provider events, webhook and stream',
      version,
      description:
        'Desks and providers may add jobs to the BullMQ queues `intake` and `events` instead of calling HTTP. ' +
        'An organisation with `queues:` in the topology also has its own `intake-<org>` and `events-<org>`, applied as that organisation; with a Redis user of its own (`lotse redis-acl`) it reaches only its own queues. ' +
        'Each IT provider or vendor desk consumes CloudEvents from its own queue `handoff-<org>` (or receives them by signed webhook). ' +
        'Every ticket event is appended to the Redis stream `<prefix>:events` and sent to operators over `/v1/stream`. ' +
        'Queue names live under the key prefix LOTSE_PREFIX (BullMQ `prefix` option).',
    },
    defaultContentType: 'application/json',
    servers: {
      redis: { host: '127.0.0.1:6379', protocol: 'redis', description: 'The Redis of REDIS_URL: BullMQ queues and the event stream, under LOTSE_PREFIX' },
      api: { host: '127.0.0.1:3000', protocol: 'http', description: 'Lotse\'s HTTP API (HOST, PORT)' },
    },
    channels: {
      intake: {
        address: 'intake',
        title: 'Ticket intake queue',
        description: 'A job creates a ticket. The job id is the idempotency key; the return value is `{ ticketId }`. Invalid data fails the job at once, every wrong field named.',
        servers: [ref('#/servers/redis')],
        messages: { intakeJob: ref('#/components/messages/intakeJob') },
      },
      events: {
        address: 'events',
        title: 'Ticket events queue',
        description: 'Answers from desks and providers: one event applied to a ticket, as over `POST /v1/tickets/{id}/events`.',
        servers: [ref('#/servers/redis')],
        messages: { eventsJob: ref('#/components/messages/eventsJob') },
      },
      ownIntake: {
        address: 'intake-{orgId}',
        title: 'An organisation\'s own intake queue',
        description: 'As `intake`, for one organisation that may hold the desk or operator role and has `queues:` in the topology; the job is applied as that organisation, so it needs no `orgId` (one naming another organisation fails the job at once).',
        servers: [ref('#/servers/redis')],
        parameters: { orgId: { description: 'The organisation id of a desk or operator organisation with `queues:` in the topology (e.g. `desk-BY`)' } },
        messages: { intakeJob: ref('#/components/messages/ownIntakeJob') },
      },
      ownEvents: {
        address: 'events-{orgId}',
        title: 'An organisation\'s own events queue',
        description: 'As `events`, for one organisation with `queues:` in the topology; the event is applied as that organisation, so the job needs no `orgId` (one naming another organisation fails the job at once).',
        servers: [ref('#/servers/redis')],
        parameters: { orgId: { description: 'The organisation id of any organisation with `queues:` in the topology (e.g. `desk-BY`, `dataport`)' } },
        messages: { eventsJob: ref('#/components/messages/ownEventsJob') },
      },
      handoff: {
        address: 'handoff-{orgId}',
        title: 'A provider\'s handoff queue',
        description: 'One queue per IT provider or vendor desk; the job id is the CloudEvent id (stable across retries).',
        servers: [ref('#/servers/redis')],
        parameters: { orgId: { description: 'The organisation id of an IT provider or vendor desk (e.g. `dataport`)' } },
        messages: {
          handoffRequested: ref('#/components/messages/handoffRequested'),
          ticketUpdated: ref('#/components/messages/ticketUpdated'),
          ticketWithdrawn: ref('#/components/messages/ticketWithdrawn'),
        },
      },
      webhook: {
        address: '{webhookUrl}',
        title: 'A provider\'s webhook',
        description: 'The same CloudEvents as the handoff queue, POSTed to the organisation\'s configured webhook, signed per Standard Webhooks and retried with backoff; what still fails lands in the dead letters (`/v1/dead-letters`).',
        parameters: { webhookUrl: { description: 'The `webhook.url` of the organisation in the topology' } },
        messages: {
          handoffRequested: ref('#/components/messages/webhookHandoffRequested'),
          ticketUpdated: ref('#/components/messages/webhookTicketUpdated'),
          ticketWithdrawn: ref('#/components/messages/webhookTicketWithdrawn'),
        },
      },
      eventStream: {
        address: '{prefix}:events',
        title: 'The event stream (Redis stream)',
        description: 'Every ticket event as a CloudEvent, trimmed to about LOTSE_EVENTS_MAXLEN entries; for any other consumer (XREAD).',
        servers: [ref('#/servers/redis')],
        parameters: { prefix: { description: 'LOTSE_PREFIX', default: 'lotse' } },
        messages: { ticketEvent: ref('#/components/messages/ticketEvent'), notification: ref('#/components/messages/notification'), backlogEvent: ref('#/components/messages/backlogEvent') },
      },
      stream: {
        address: '/v1/stream',
        title: 'Server-sent events',
        description: 'GET with a key: operators see every event, others the events of tickets in their reach. Filters `land`, `service`, `type`; heartbeats as comments; the SSE `id` is the stream entry id, and `Last-Event-ID` resumes after it.',
        servers: [ref('#/servers/api')],
        messages: { ticketEvent: ref('#/components/messages/streamTicketEvent'), notification: ref('#/components/messages/streamNotification'), backlogEvent: ref('#/components/messages/streamBacklogEvent') },
      },
    },
    operations: {
      receiveIntake: {
        action: 'receive',
        channel: ref('#/channels/intake'),
        summary: 'Lotse creates a ticket from each intake job',
        messages: [ref('#/channels/intake/messages/intakeJob')],
      },
      receiveEvents: {
        action: 'receive',
        channel: ref('#/channels/events'),
        summary: 'Lotse applies each event job to its ticket',
        messages: [ref('#/channels/events/messages/eventsJob')],
      },
      receiveOwnIntake: {
        action: 'receive',
        channel: ref('#/channels/ownIntake'),
        summary: 'Lotse creates a ticket from each job on an organisation\'s own intake queue, as that organisation',
        messages: [ref('#/channels/ownIntake/messages/intakeJob')],
      },
      receiveOwnEvents: {
        action: 'receive',
        channel: ref('#/channels/ownEvents'),
        summary: 'Lotse applies each job on an organisation\'s own events queue to its ticket, as that organisation',
        messages: [ref('#/channels/ownEvents/messages/eventsJob')],
      },
      sendHandoff: {
        action: 'send',
        channel: ref('#/channels/handoff'),
        summary: 'Lotse hands tickets to a provider, tells it of changes and withdraws them',
        messages: [ref('#/channels/handoff/messages/handoffRequested'), ref('#/channels/handoff/messages/ticketUpdated'), ref('#/channels/handoff/messages/ticketWithdrawn')],
      },
      sendWebhook: {
        action: 'send',
        channel: ref('#/channels/webhook'),
        summary: 'Lotse POSTs the handoff CloudEvents to a provider\'s webhook',
        messages: [ref('#/channels/webhook/messages/handoffRequested'), ref('#/channels/webhook/messages/ticketUpdated'), ref('#/channels/webhook/messages/ticketWithdrawn')],
      },
      sendEventStream: {
        action: 'send',
        channel: ref('#/channels/eventStream'),
        summary: 'The relay appends every committed event, exactly once',
        messages: [ref('#/channels/eventStream/messages/ticketEvent'), ref('#/channels/eventStream/messages/notification'), ref('#/channels/eventStream/messages/backlogEvent')],
      },
      sendStream: {
        action: 'send',
        channel: ref('#/channels/stream'),
        summary: 'Lotse streams events to a connected client',
        messages: [ref('#/channels/stream/messages/ticketEvent'), ref('#/channels/stream/messages/notification'), ref('#/channels/stream/messages/backlogEvent')],
      },
    },
    components: {
      schemas: {
        IntakeJob: schemaOf(IntakeJobSchema, 'input'),
        EventsJob: schemaOf(EventsJobSchema, 'input'),
        OwnIntakeJob: ownQueueJob(schemaOf(IntakeJobSchema, 'input')),
        OwnEventsJob: ownQueueJob(schemaOf(EventsJobSchema, 'input')),
        HandoffRequested: schemaOf(HandoffRequestedSchema, 'output'),
        TicketUpdated: schemaOf(TicketUpdatedSchema, 'output'),
        TicketWithdrawn: schemaOf(TicketWithdrawnSchema, 'output'),
        TicketEvent: schemaOf(TicketEventSchema, 'output'),
        Notification: schemaOf(NotificationSchema, 'output'),
        BacklogEvent: schemaOf(BacklogEventSchema, 'output'),
        WebhookHeaders: schemaOf(WebhookHeadersSchema, 'output'),
        StreamHeaders: schemaOf(StreamHeadersSchema, 'input'),
      },
      messages: {
        intakeJob: message('intakeJob', 'Create a ticket', 'IntakeJob', { summary: 'The create body plus the sending desk\'s `orgId`' }),
        eventsJob: message('eventsJob', 'Apply an event', 'EventsJob'),
        ownIntakeJob: message('intakeJob', 'Create a ticket as the queue\'s organisation', 'OwnIntakeJob', { summary: 'The create body; `orgId` may be left out' }),
        ownEventsJob: message('eventsJob', 'Apply an event as the queue\'s organisation', 'OwnEventsJob', { summary: 'As on `events`; `orgId` may be left out' }),
        handoffRequested: message(HANDOFF_EVENT_TYPES.requested, 'Handoff requested', 'HandoffRequested'),
        ticketUpdated: message(HANDOFF_EVENT_TYPES.updated, 'Ticket updated', 'TicketUpdated'),
        ticketWithdrawn: message(HANDOFF_EVENT_TYPES.withdrawn, 'Ticket withdrawn', 'TicketWithdrawn'),
        webhookHandoffRequested: message(HANDOFF_EVENT_TYPES.requested, 'Handoff requested (webhook)', 'HandoffRequested', { headers: ref('#/components/schemas/WebhookHeaders') }),
        webhookTicketUpdated: message(HANDOFF_EVENT_TYPES.updated, 'Ticket updated (webhook)', 'TicketUpdated', { headers: ref('#/components/schemas/WebhookHeaders') }),
        webhookTicketWithdrawn: message(HANDOFF_EVENT_TYPES.withdrawn, 'Ticket withdrawn (webhook)', 'TicketWithdrawn', { headers: ref('#/components/schemas/WebhookHeaders') }),
        ticketEvent: message('ticketEvent', 'Ticket event', 'TicketEvent'),
        notification: message('notification', 'Notification', 'Notification'),
        streamTicketEvent: message('ticketEvent', 'Ticket event (SSE `data`)', 'TicketEvent', { headers: ref('#/components/schemas/StreamHeaders') }),
        streamNotification: message('notification', 'Notification (SSE `data`)', 'Notification', { headers: ref('#/components/schemas/StreamHeaders') }),
        backlogEvent: message('backlogEvent', 'Backlog item event', 'BacklogEvent'),
        streamBacklogEvent: message('backlogEvent', 'Backlog item event (SSE `data`)', 'BacklogEvent', { headers: ref('#/components/schemas/StreamHeaders') }),
      },
    },
  };
}

export type AsyncApiDocument = ReturnType<typeof buildAsyncApiDocument>;

/** `GET /docs/asyncapi`: public like /docs; built once, on the first request. */
export function asyncApiRoute(version: string): FastifyPluginAsyncZod {
  let doc: AsyncApiDocument | undefined;
  return async (app) => {
    app.get('/docs/asyncapi', {
      schema: {
        tags: ['docs'],
        operationId: 'getAsyncApiDocument',
        summary: 'AsyncAPI 3.0 document of the queues, the provider CloudEvents, the webhook and the stream',
        response: { 200: z.looseObject({ asyncapi: z.literal('3.0.0') }).describe('AsyncAPI 3.0 document') },
      },
    }, async () => (doc ??= buildAsyncApiDocument(version)));
  };
}
