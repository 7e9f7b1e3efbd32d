import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createPureStepper } from '../machines/pure.js';
import { createTicketMachine, TICKET_MACHINE_VERSION } from '../machines/ticket.machine.js';
import type { Topology } from '../src/domain/topology.js';
import { createTicketPolicy } from '../src/domain/ticket-policy.js';
import { newTicketId } from '../src/engine/ticket/index.js';
import { encodeTicketDoc } from '../src/store/ticket-codec.js';
import type { IntakeJob } from '../src/queue/jobs.js';

/**
 * The least a ticket created through the intake queue can cost in this
 * design, built up in stages, each a processor of its own worker:
 * - `machine`: the BullMQ job and the ticket machine's `initialTransition`;
 * - `commit`: plus one Lua script writing the version and the document;
 * - `timer`: plus the ticket's SLA timer as a delayed BullMQ job, added in
 *   bulk with the other tickets of the moment, as the relay does.
 * Nothing else Lotse does for a ticket is here: no validation, idempotency
 * record, history, index, outbox or published event. The gap between these
 * and Lotse's own figure is what those cost.
 */
export const FLOOR_STAGES = ['machine', 'commit', 'timer'] as const;
export type FloorStage = (typeof FLOOR_STAGES)[number];

const WRITE = `if redis.call('HSETNX', KEYS[1], 'v', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2])
return 1`;

export function floorWorker(topology: Topology, stage: FloorStage, o: { url: string; prefix: string; queue: string; concurrency: number }) {
  const stepper = createPureStepper(createTicketMachine(createTicketPolicy(topology)));
  const store = new Redis(o.url);
  store.defineCommand('floorWrite', { numberOfKeys: 1, lua: WRITE });
  const write = (store as unknown as { floorWrite(key: string, version: number, doc: Buffer): Promise<number> }).floorWrite.bind(store);
  const sla = new Queue('sla', { connection: { url: o.url }, prefix: o.prefix });
  let batch: { timer: Parameters<Queue['addBulk']>[0][number]; done: () => void; failed: (e: unknown) => void }[] = [];
  const flush = () => {
    const taken = batch;
    batch = [];
    sla.addBulk(taken.map((t) => t.timer)).then(() => taken.forEach((t) => t.done()), (err: unknown) => taken.forEach((t) => t.failed(err)));
  };
  const armTimer = (ticketId: string, at: number) =>
    new Promise<void>((done, failed) => {
      const timer = { name: 'timer', data: { ticketId, epoch: 1 }, opts: { jobId: `timer-${ticketId}-1`, delay: Math.max(0, at - Date.now()), attempts: 8, backoff: 1000, removeOnComplete: true, removeOnFail: 1000 } };
      if (batch.push({ timer, done, failed }) === 1) setImmediate(flush);
    });

  const worker = new Worker<IntakeJob>(
    o.queue,
    async (job) => {
      const now = Date.now();
      const id = newTicketId(now);
      const d = job.data;
      const [snapshot] = stepper.initialTransition({
        id, facts: { service: d.service, land: d.land!, category: d.category }, createdBy: d.orgId, impact: d.impact, urgency: d.urgency, receivedAt: now, at: now,
      });
      if (stage !== 'machine') {
        const doc = encodeTicketDoc({ mv: TICKET_MACHINE_VERSION, upd: now, data: d, snap: { value: snapshot.value, context: snapshot.context } });
        if ((await write(`${o.prefix}:floor:${id}`, 1, doc)) !== 1) throw new Error(`ticket id ${id} taken`);
      }
      if (stage === 'timer') await armTimer(id, snapshot.context.timer?.at ?? now + 3_600_000);
      return { ticketId: id };
    },
    { connection: { url: o.url }, prefix: o.prefix, concurrency: o.concurrency },
  );
  return {
    worker,
    async close() {
      await worker.close();
      await sla.obliterate({ force: true });
      await sla.close();
      store.disconnect();
    },
  };
}
