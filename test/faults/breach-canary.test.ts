import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { dropPrefix, newPrefix, redisUrl, waitFor } from '../helpers/harness.js';
import { createFleet, type Fleet } from './fleet.js';
import { Ledger, reconcile, report, waitForQuiet } from './harness.js';
import { runLoad } from './load.js';

let fleet: Fleet | undefined;
let redis: Redis | undefined;
let prefix = '';
afterEach(async () => {
  await fleet?.close();
  if (redis) await dropPrefix(redis, prefix);
  redis?.disconnect();
});

/**
 * The suite's breach check on a real Lotse that cannot keep its clocks: with
 * no `sla` worker running, no timer fires, and the check must count the
 * missed breaches. Once a worker with every role comes, the late timers fire
 * and nothing is missed any more (counted with the usual grace).
 */
it('counts missed breaches while no sla worker runs, and none once the timers have fired', async () => {
  prefix = newPrefix('fcanary');
  redis = new Redis(redisUrl());
  fleet = await createFleet({ redisUrl: redisUrl(), redis, prefix, sla: { firstResponse: 2, resolution: 4, receipt: 3 } });
  await Promise.all([fleet.startApi(), fleet.startWorker(['intake', 'events', 'relay', 'webhook'])]);
  const ledger = new Ledger();
  // Tickets only, no events: every first-response clock runs until it is due.
  await runLoad({ url: fleet.url, redis, prefix, ledger, tickets: 10, seed: 1, concurrency: 4, queueShare: 0, maxEvents: 0 });
  expect(ledger.tickets.size).toBe(10);
  const lastCreated = Math.max(...[...ledger.tickets.values()].map((t) => t.at));
  const graceMs = 1000;
  // Bounded waits for conditions: the outbox carried out, every first response overdue by more than the grace.
  await waitFor(async () => (await redis!.xlen(`${prefix}:outbox`)) === 0, { timeoutMs: 60_000, intervalMs: 200, what: 'the outbox to drain' });
  await waitFor(() => Date.now() > lastCreated + 2000 + graceMs + 500, { timeoutMs: 30_000, intervalMs: 200, what: 'the clocks to run past due' });
  const without = await reconcile({ scenario: 'canary: no sla worker', ledger, redis, prefix, url: fleet.url, breachGraceMs: graceMs });
  expect(without.breaches).toBe(0);
  expect(without.missedBreaches).toBeGreaterThanOrEqual(10);

  await fleet.startWorker();
  await waitForQuiet({ redis, prefix });
  const withWorker = await reconcile({ scenario: 'canary: sla worker back', ledger, redis, prefix, url: fleet.url });
  // The canary's own count (not a missed* count, which must be 0): what the check found with no sla worker.
  report(withWorker, { canaryMissedWithoutSlaWorker: without.missedBreaches });
  expect(withWorker.breaches).toBeGreaterThanOrEqual(10);
  expect(withWorker.missedBreaches).toBe(0);
  expect(withWorker.repeatedBreaches).toBe(0);
});
