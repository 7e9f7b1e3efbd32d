import { Job, Queue } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { TicketEngine as Engine } from '../../src/engine/ticket/index.js';
import { createSlaWorker } from '../../workers/sla.worker.js';
import { createHarness, dev, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { fastSlaTopology } from '../helpers/topologies.js';
import { timerJobWaitsFor } from '../helpers/timers.js';

/**
 * A timer job that comes early decides to wait until its (later) deadline,
 * and before it has put itself back the deadline moves earlier. The relay
 * cannot move a job that runs, so the job itself must catch up once it is
 * delayed again: else it would fire at the old, later time.
 *
 * The interleaving is forced, not hoped for: the `sla` worker here runs on an
 * engine whose `fireTimer` holds its answer until the test has moved the
 * deadline earlier and the relay has tried (and failed) to move the running
 * job. Real Redis, real BullMQ, the real worker and relay.
 */
const topology = fastSlaTopology({ firstResponse: 4, resolution: 40, receipt: 3 });
const desk = dev('desk-BY', topology);
const operator = dev('ops-bremen', topology);
let h: Harness;
let close: () => Promise<unknown>;

beforeEach(async () => {
  h = await createHarness({ topology, roles: ['relay'] });
});
afterEach(async () => {
  await close?.();
  await h.close();
});

const ticket = (id: string) => h.runtime.engine.getTicket(operator, id);
const jobWaitsFor = (ticketId: string, epoch: number, at: number) => timerJobWaitsFor(h.redis, h.prefix, ticketId, epoch, at);

it('fires at the earlier deadline when the deadline moves earlier while an early timer job puts itself back', { timeout: 90_000 }, async () => {
  const engine = h.runtime.engine;
  let meanwhile: ((ticketId: string) => Promise<void>) | undefined;
  const held: Engine = {
    ...engine,
    async fireTimer(ticketId, epoch) {
      const result = await engine.fireTimer(ticketId, epoch);
      // Between the decision to wait and `moveToDelayed`: the moment the race needs.
      if (result.rescheduleAt !== undefined && meanwhile) {
        const run = meanwhile;
        meanwhile = undefined;
        await run(ticketId);
      }
      return result;
    },
  };
  const worker = createSlaWorker({ connection: { url: redisUrl() }, prefix: h.prefix, logger: createLogger('silent'), engine: held }, 4);
  const sla = new Queue('sla', { connection: { url: redisUrl() }, prefix: h.prefix });
  close = () => Promise.all([worker.close(), sla.close()]);

  const { record } = await engine.createTicket(desk, ticketBody());
  const armed = record.state.context.timer!;
  await waitFor(() => jobWaitsFor(record.id, armed.epoch, armed.at), { what: 'the timer job at the first-response warning' });
  // Accepted: the same epoch's next deadline is the resolution warning, 20 s on. The job stays at 2 s and comes early.
  const accepted = await engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  const later = accepted.state.context.timer!;
  expect(later).toMatchObject({ epoch: armed.epoch, clock: 'resolution' });
  expect(later.at - armed.at).toBeGreaterThan(15_000);

  let sooner = later;
  let stateWhileMoved = '';
  let heldFor = '';
  // Recorded here, asserted below: an assertion inside the job's processor would only fail (and retry) the job.
  meanwhile = async (ticketId) => {
    heldFor = ticketId;
    // Escalated now: level 2's first-response warning comes about 2 s from now, long before `later`.
    const escalated = await engine.applyEvent(desk, record.id, { type: 'ESCALATE', reason: 'dataport' });
    sooner = escalated.state.context.timer!;
    // The relay has run the move (the outbox is empty) while the job still runs: it could not move it.
    await waitFor(async () => (await h.redis.xlen(`${h.prefix}:outbox`)) === 0, { what: 'the relay to try the move' });
    stateWhileMoved = await (await Job.fromId(sla, `timer-${record.id}-${armed.epoch}`))!.getState();
  };

  const warned = async () => (await ticket(record.id)).state.context.sla.warnings.some((w) => w.level === 2);
  // The job, put back for `later`, moved itself to the earlier deadline (or has already fired there).
  await waitFor(async () => sooner !== later && ((await jobWaitsFor(record.id, armed.epoch, sooner.at)) || (await warned())), { what: 'the job at the earlier deadline', timeoutMs: 40_000 });
  expect(await jobWaitsFor(record.id, armed.epoch, later.at)).toBe(false);
  await waitFor(warned, { what: 'the level 2 warning', timeoutMs: 40_000 });
  expect(heldFor).toBe(record.id);
  expect(stateWhileMoved).toBe('active');
  expect(sooner.epoch).toBe(armed.epoch);
  expect(sooner.at).toBeLessThan(later.at - 10_000);
  const warning = (await ticket(record.id)).state.context.sla.warnings.find((w) => w.level === 2)!;
  // It came at the earlier deadline, not at the one the job had put itself back for.
  expect(warning.at).toBeGreaterThanOrEqual(sooner.at);
  expect(warning.at).toBeLessThan(later.at);
});
