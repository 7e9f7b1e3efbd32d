import { Job, Queue } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createHarness, dev, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { spawnLotse, type LotseProcess } from '../helpers/process.js';

/**
 * A real `lotse worker` that dies with SIGKILL right after committing an
 * events job's event, before completing the job: BullMQ finds the job
 * stalled and a second worker runs it again. The event must be in the
 * history once.
 */
let h: Harness;
let events: Queue;
const running: LotseProcess[] = [];

beforeEach(async () => {
  h = await createHarness();
  events = new Queue('events', { connection: { url: redisUrl() }, prefix: h.prefix });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
  await events.close();
  await h.close();
});

function startWorker(env: Record<string, string> = {}): LotseProcess {
  const p = spawnLotse(['worker', '--roles', 'events'], { REDIS_URL: redisUrl(), LOTSE_PREFIX: h.prefix, ...env });
  running.push(p);
  return p;
}

it('applies a committed events job once when its worker died before completing it', async () => {
  const { record } = await h.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ land: 'BY', service: 'uvo' }));
  await h.runtime.engine.applyEvent(dev('desk-BY'), record.id, { type: 'ACCEPT' });
  const first = startWorker({ LOTSE_FAILPOINT: 'engine-after-commit' });
  // SUGGEST_IMPROVEMENT leaves an open ticket open, so only the job's key keeps a re-run from applying it again.
  await events.add('event', { ticketId: record.id, orgId: 'desk-BY', event: { type: 'SUGGEST_IMPROVEMENT', title: 'Knopf fehlt', description: '' } }, { jobId: 'desk-BY-suggest-1', attempts: 3 });
  expect((await first.exited).signal).toBe('SIGKILL');
  const types = async () => (await h.runtime.engine.history(dev('ops-bremen'), record.id)).map((e) => e.type);
  expect((await types()).filter((t) => t === 'SUGGEST_IMPROVEMENT')).toHaveLength(1);
  expect(await (await Job.fromId(events, 'desk-BY-suggest-1'))!.getState()).toBe('active');

  // The successor takes the stalled job up once its lock has lapsed, and runs it again.
  startWorker();
  const done = await waitFor(async () => {
    const job = await Job.fromId(events, 'desk-BY-suggest-1');
    return job?.finishedOn ? job : null;
  }, { timeoutMs: 90_000, intervalMs: 200, what: 'the stalled job to run again and complete' });
  expect(done.failedReason).toBeUndefined();
  expect(done.returnvalue).toMatchObject({ ticketId: record.id, replayed: true });
  expect((await types()).filter((t) => t === 'SUGGEST_IMPROVEMENT')).toHaveLength(1);
}, 120_000);
