export { createProviderWorker, type HandlerContext, type Handler, type ProviderJobResult, type ProviderWorker, type ProviderWorkerOptions } from './worker.js';
export { AnswerError, answerJobId, type AnswerResult, type Answers, type HttpAnswerOptions, type SendOptions } from './answers.js';
export {
  HANDOFF_EVENT_TYPES,
  parseProviderEvent,
  type HandoffEventType,
  type HandoffRequestedData,
  type HandoffRequestedEvent,
  type ProviderEvent,
  type TicketUpdatedData,
  type TicketUpdatedEvent,
  type TicketWithdrawnData,
  type TicketWithdrawnEvent,
} from './events.js';
export type { WatchdogSettings, WatchedWorker } from '../queue/watched-worker.js';
export { runProviderSim, type ProviderSimOptions } from './sim.js';
