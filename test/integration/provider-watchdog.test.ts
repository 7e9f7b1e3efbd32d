import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { createProviderWorker, HANDOFF_EVENT_TYPES, type ProviderWorker } from '../../src/index.js';
import { redisUrl, waitFor } from '../helpers/harness.js';
import { startWedgeProxy, watchdogSuite } from '../helpers/wedge-proxy.js';

/**
 * The provider kit's handoff worker is a watched worker
 * (src/queue/watched-worker.ts), as the workers of Lotse's own processes
 * are: wedged for real (test/helpers/wedge-proxy.ts swallows its blocking
 * client, as a Redis Cluster failover left one) it is replaced and the
 * handoff waiting is handled once; paused on purpose (the demo's slow
 * provider) it is never replaced, however long its handoffs wait.
 */
const { timing: TIMING, prefix, logged, logger } = watchdogSuite('pwd');

/** A handoff as Lotse sends it to dataport, without a receipt to send: the handler is all the kit runs. */
const handoff = (id: string) => ({
  specversion: '1.0',
  id,
  source: 'urn:lotse:test',
  type: HANDOFF_EVENT_TYPES.requested,
  subject: `T-${id}`,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  data: { ticket: { id: `T-${id}`, version: 3 }, history: [], attempt: 1, reason: 'Fehler 500 beim Absenden', receiptRequired: false },
});

/** Dataport's kit on `connection`, recording the id of every event its handler ran for. */
function startKit(connection: string | Record<string, unknown>, handled: string[]): ProviderWorker {
  return createProviderWorker({ orgId: 'dataport', connection, prefix, logger, watchdog: TIMING, onHandoff: (event) => void handled.push(event.id) });
}

const isReplacement = (l: Record<string, unknown>) => l.msg === 'worker wedged: replacing it';
const finished = (queue: Queue, id: string) => waitFor(async () => (await queue.getJob(id))?.finishedOn, { timeoutMs: 20_000, what: `job ${id} to finish` });

describe("the provider kit's watchdog", () => {
  it('replaces the kit\'s worker whose blocking connection never comes back; the handoff waiting is handled once, by the new worker', { timeout: 60_000 }, async () => {
    const target = new URL(redisUrl());
    const proxy = await startWedgeProxy(target);
    const handled: string[] = [];
    const kit = startKit(proxy.connection, handled);
    const queue = new Queue('handoff-dataport', { connection: { url: redisUrl() }, prefix });
    try {
      await kit.worker.waitUntilReady();
      const first = kit.worker.current;
      await queue.add('handoff', handoff('e-before'), { jobId: 'h-before' });
      await finished(queue, 'h-before');

      await proxy.wedge();
      await queue.add('handoff', handoff('e-waiting'), { jobId: 'h-waiting' });

      await finished(queue, 'h-waiting');
      expect((await queue.getJob('h-waiting'))!.returnvalue).toEqual({ handled: true, type: HANDOFF_EVENT_TYPES.requested });
      expect(kit.worker.replacements).toBe(1);
      expect(kit.worker.current).not.toBe(first);
      expect(handled).toEqual(['e-before', 'e-waiting']);
      const warning = logged.find(isReplacement);
      expect(warning).toMatchObject({ level: 40, provider: 'dataport', queue: 'handoff-dataport', prefix, reason: 'a job waited', replacements: 1 });
      expect(warning!.waitedMs as number).toBeGreaterThanOrEqual(TIMING.stuckAfterMs);

      // The same event again (Lotse's retry of a job): the kit's dedup skips it; the new worker goes on taking jobs.
      await queue.add('handoff', handoff('e-waiting'), { jobId: 'h-waiting-again' });
      await finished(queue, 'h-waiting-again');
      expect((await queue.getJob('h-waiting-again'))!.returnvalue).toEqual({ skipped: 'duplicate' });
      expect(handled).toEqual(['e-before', 'e-waiting']);
      expect(kit.worker.replacements).toBe(1);
    } finally {
      await kit.close();
      await queue.close();
      await proxy.close();
    }
  });

  it('never replaces the kit\'s worker paused on purpose, whatever waits; after resume it takes the handoffs', { timeout: 60_000 }, async () => {
    const replacedBefore = logged.filter(isReplacement).length;
    const handled: string[] = [];
    const kit = startKit(redisUrl(), handled);
    const queue = new Queue('handoff-dataport', { connection: { url: redisUrl() }, prefix });
    try {
      await kit.worker.waitUntilReady();
      await queue.add('handoff', handoff('e-live'), { jobId: 'h-live' });
      await finished(queue, 'h-live');

      await kit.worker.pause(true);
      expect(kit.worker.isPaused()).toBe(true);
      // Its last blocking fetch given up: from now on nothing takes a job but a worker that replaced it.
      await waitFor(() => !kit.worker.isRunning(), { timeoutMs: 20_000, what: 'the paused worker to stop fetching' });
      for (let i = 0; i < 3; i++) await queue.add('handoff', handoff(`e-held-${i}`), { jobId: `h-held-${i}` });
      // As many of the watchdog's turns as a stuck job needs to be seen, and four more: long enough for any false replacement.
      const from = kit.worker.looks;
      await waitFor(() => kit.worker.looks >= from + Math.ceil(TIMING.stuckAfterMs / TIMING.everyMs) + 4, { timeoutMs: 30_000, what: "the watchdog's turns" });
      expect(kit.worker.replacements).toBe(0);
      expect(await queue.getJobCounts('wait', 'active')).toEqual({ wait: 3, active: 0 });
      expect(handled).toEqual(['e-live']);

      await kit.worker.resume();
      expect(kit.worker.isPaused()).toBe(false);
      for (let i = 0; i < 3; i++) await finished(queue, `h-held-${i}`);
      expect(handled.sort()).toEqual(['e-held-0', 'e-held-1', 'e-held-2', 'e-live']);
      expect(kit.worker.replacements).toBe(0);
      expect(logged.filter(isReplacement)).toHaveLength(replacedBefore);
    } finally {
      await kit.close();
      await queue.close();
    }
  });
});
