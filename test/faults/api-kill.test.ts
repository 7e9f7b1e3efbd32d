import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { seededRandom } from '../../src/seeded-random.js';
import { dropPrefix, newPrefix, redisUrl } from '../helpers/harness.js';
import { createFleet, type Fleet } from './fleet.js';
import { expectAllZero, faultSeed, faultTickets, Ledger, reconcile, report, waitForQuiet } from './harness.js';
import { runLoad } from './load.js';

let fleet: Fleet | undefined;
let redis: Redis | undefined;
let prefix = '';
afterEach(async () => {
  await fleet?.close();
  if (redis) await dropPrefix(redis, prefix);
  redis?.disconnect();
});

it('keeps every 2xx ticket when the API is killed with -9 mid-request, and a client that got nothing retries into exactly one ticket', async () => {
  const seed = faultSeed();
  const tickets = Math.max(200, Math.round(faultTickets() / 4));
  prefix = newPrefix('fapi');
  redis = new Redis(redisUrl());
  fleet = await createFleet({ redisUrl: redisUrl(), redis, prefix });
  await Promise.all([fleet.startApi(), fleet.startWorker()]);

  const ledger = new Ledger();
  const random = seededRandom(seed + 2);
  let loadDone = false;
  let kills = 0;
  // The fault injector: pacing, not synchronisation. The next kill comes after 1-2 s or after another
  // eighth of the tickets (a seeded point within it) is done, whichever comes first: a fast API finishes
  // its tickets within a second, and a kill paced by the clock alone would land after the load.
  let done = 0;
  let nextAt = 0;
  let reached: (() => void) | undefined;
  const onProgress = (n: number) => {
    done = n;
    // The last ticket done ends the load: no kill then, it would hit no request.
    if (done >= nextAt && done < tickets) reached?.();
  };
  const injector = (async () => {
    while (!loadDone) {
      nextAt = done + Math.max(1, Math.round(((0.5 + random()) * tickets) / 8));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => (timer = setTimeout(r, 1000 + random() * 1000))),
        new Promise<void>((r) => (reached = r)),
      ]);
      clearTimeout(timer);
      reached = undefined;
      if (loadDone) break;
      // Sixteen clients have requests in flight: the kill lands in the middle of some.
      await fleet!.killApi();
      kills++;
      await fleet!.startApi();
    }
  })();
  // Creates only over HTTP: the API is what dies here. Bounded by count and by time (LOTSE_FAULTS_KILL_S, 120 s by default).
  const until = Date.now() + Number(process.env.LOTSE_FAULTS_KILL_S ?? 120) * 1000;
  let load: Awaited<ReturnType<typeof runLoad>>;
  try {
    load = await runLoad({ url: fleet.url, redis, prefix, ledger, tickets, seed, concurrency: 16, queueShare: 0, until, onProgress });
  } finally {
    // Also when the load fails: the injector stops before the fleet is closed.
    loadDone = true;
    reached?.();
    await injector;
  }
  await waitForQuiet({ redis, prefix });
  const counts = await reconcile({ scenario: 'b. API kill -9', ledger, redis, prefix, url: fleet.url });
  const replayed = [...ledger.tickets.values()].filter((t) => t.replayed).length;
  report(counts, { started: load.started, kills, retriedCreates: load.retriedCreates, foundOnRetry: replayed, noAnswer: load.noAnswer, seed });
  expect(kills).toBeGreaterThan(0);
  // Some clients got no answer and retried; every one of them ended with its one ticket.
  expect(load.retriedCreates).toBeGreaterThan(0);
  expect(load.noAnswer).toBe(0);
  expect(ledger.tickets.size).toBe(load.started);
  expect(counts.tickets).toBe(load.started);
  expectAllZero(counts);
});
