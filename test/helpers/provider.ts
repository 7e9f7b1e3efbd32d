import { Queue, QueueEvents } from 'bullmq';
import { expect } from 'vitest';
import {
  createProviderWorker,
  type HandlerContext,
  type HandoffRequestedEvent,
  type ProviderWorker,
  type ProviderWorkerOptions,
  type TicketUpdatedEvent,
  type TicketWithdrawnEvent,
} from '../../src/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { createLogger } from '../../src/logger.js';
import { dev, redisUrl, ticketBody } from './harness.js';

/** What the provider tests watch: dataport's handoff queue with its events, and the `events` queue answers go to. */
export interface ProviderQueues {
  handoff: Queue;
  handoffEvents: QueueEvents;
  events: Queue;
  close(): Promise<void>;
}

export async function openProviderQueues(prefix: string): Promise<ProviderQueues> {
  const connection = { url: redisUrl() };
  const handoff = new Queue('handoff-dataport', { connection, prefix });
  const handoffEvents = new QueueEvents('handoff-dataport', { connection, prefix });
  const events = new Queue('events', { connection, prefix });
  await handoffEvents.waitUntilReady();
  return {
    handoff,
    handoffEvents,
    events,
    close: async () => void (await Promise.all([handoff.close(), handoffEvents.close(), events.close()])),
  };
}

export interface SeenByProvider {
  handoffs: HandoffRequestedEvent[];
  updates: TicketUpdatedEvent[];
  withdrawals: TicketWithdrawnEvent[];
}

export type DataportKitOptions = Partial<ProviderWorkerOptions> & { then?: (e: HandoffRequestedEvent, ctx: HandlerContext) => Promise<unknown> };

/** The kit as dataport, recording what reaches it; `then` lets a test answer inside the handler. */
export function startDataportKit(prefix: string, over: DataportKitOptions = {}): { kit: ProviderWorker; seen: SeenByProvider } {
  const seen: SeenByProvider = { handoffs: [], updates: [], withdrawals: [] };
  const kit = createProviderWorker({
    orgId: 'dataport',
    connection: redisUrl(),
    prefix,
    logger: createLogger('silent'),
    async onHandoff(event, ctx) {
      seen.handoffs.push(event);
      await over.then?.(event, ctx);
    },
    onUpdate: (event) => void seen.updates.push(event),
    onWithdrawn: (event) => void seen.withdrawals.push(event),
    ...over,
  });
  return { kit, seen };
}

/** A uvo ticket of desk-BY, accepted and escalated: it waits for dataport's receipt. */
export async function handedToDataport(engine: Engine, body: Record<string, unknown> = {}): Promise<string> {
  const desk = dev('desk-BY');
  const { record } = await engine.createTicket(desk, ticketBody({ service: 'uvo', ...body }));
  await engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  const escalated = await engine.applyEvent(desk, record.id, { type: 'ESCALATE', reason: 'Fehler 500 beim Absenden' });
  expect(escalated.state.value).toEqual({ level2: 'handoffPending' });
  return record.id;
}
