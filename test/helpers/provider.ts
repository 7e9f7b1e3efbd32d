import type { AddressInfo } from 'node:net';
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
import type { TicketEngine as Engine } from '../../src/engine/ticket/index.js';
import { createLogger } from '../../src/logger.js';
import type { WorkerRole } from '../../src/runtime.js';
import { createHarness, dev, redisUrl, ticketBody, type Harness } from './harness.js';

/** What the provider tests watch: dataport's handoff queue with its events, and the `events` queue answers go to. */
export interface ProviderQueues {
  handoff: Queue;
  handoffEvents: QueueEvents;
  events: Queue;
  close(): Promise<void>;
}

async function openProviderQueues(prefix: string): Promise<ProviderQueues> {
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
function startDataportKit(prefix: string, over: DataportKitOptions = {}): { kit: ProviderWorker; seen: SeenByProvider } {
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

/** One provider test: a harness running `roles`, dataport's queues, and the kit once a test starts it. */
export interface DataportTest {
  h: Harness;
  queues: ProviderQueues;
  /** The harness's API on a loopback port, when opened with `listen`. */
  url: string;
  kit: ProviderWorker | undefined;
  /** Starts dataport's kit (closed with the test); what reaches it. */
  start(over?: DataportKitOptions): SeenByProvider;
  close(): Promise<void>;
}

export async function openDataportTest(roles: WorkerRole[], o: { listen?: boolean } = {}): Promise<DataportTest> {
  const h = await createHarness({ roles });
  let url = '';
  if (o.listen) {
    const app = await h.app();
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }
  const queues = await openProviderQueues(h.prefix);
  const t: DataportTest = {
    h,
    queues,
    url,
    kit: undefined,
    start(over = {}) {
      const started = startDataportKit(h.prefix, over);
      t.kit = started.kit;
      return started.seen;
    },
    async close() {
      await t.kit?.close();
      await queues.close();
      await h.close();
    },
  };
  return t;
}
