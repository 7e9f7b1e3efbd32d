/**
 * The `lotse` package's public entry, for IT providers and vendors that take
 * handoffs from their `handoff-<orgId>` queue and answer on `events`.
 */
export {
  AnswerError,
  createProviderWorker,
  HANDOFF_EVENT_TYPES,
  parseProviderEvent,
  type AnswerResult,
  type Answers,
  type Handler,
  type HandlerContext,
  type HandoffEventType,
  type HandoffRequestedData,
  type HandoffRequestedEvent,
  type ProviderEvent,
  type ProviderJobResult,
  type ProviderWorker,
  type ProviderWorkerOptions,
  type SendOptions,
  type TicketUpdatedData,
  type TicketUpdatedEvent,
  type TicketWithdrawnData,
  type TicketWithdrawnEvent,
  type WatchdogSettings,
  type WatchedWorker,
} from './provider/index.js';
export type { CloudEvent } from './domain/cloudevent.js';
export type { TicketView } from './domain/ticket.js';
export type { HistoryEntry } from './domain/ticket.js';
export type { EventsJob } from './queue/jobs.js';
export { handoffQueueName, QUEUE } from './queue/names.js';
