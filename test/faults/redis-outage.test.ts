import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createFleet, type Fleet } from './fleet.js';
import { expectAllZero, faultSeed, Ledger, reconcile, report, waitForQuiet } from './harness.js';
import { runLoad } from './load.js';
import { startOwnRedis, type OwnRedis } from './redis-faults.js';

const OUTAGE_MS = Number(process.env.LOTSE_FAULTS_OUTAGE_S ?? 30) * 1000;

let fleet: Fleet | undefined;
let redis: Redis | undefined;
let own: OwnRedis | undefined;
afterEach(async () => {
  await fleet?.close();
  redis?.disconnect();
  await own?.stop();
});

it('loses nothing acknowledged when Redis is frozen (SIGSTOP) and then unreachable, each for 30 s, under load', async () => {
  const seed = faultSeed();
  own = await startOwnRedis('always');
  redis = new Redis(own.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const prefix = 'lotse';
  fleet = await createFleet({ redisUrl: own.url, redis, prefix });
  await Promise.all([fleet.startApi(), fleet.startWorker()]);
  const ledger = new Ledger();
  const outages: { kind: string; from: number; to: number; okDuring: number }[] = [];
  const okBefore = () => ledger.tickets.size + ledger.events.length;

  // The fault schedule: 5 s of load, frozen for 30 s, 10 s of load, gone for 30 s, 10 s of load.
  const schedule = (async () => {
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await pause(5000);
    let from = Date.now();
    let before = okBefore();
    own!.freeze();
    await pause(OUTAGE_MS);
    own!.thaw();
    outages.push({ kind: 'frozen', from, to: Date.now(), okDuring: okBefore() - before });
    await pause(10_000);
    from = Date.now();
    before = okBefore();
    await own!.kill();
    await pause(OUTAGE_MS);
    await own!.restart();
    outages.push({ kind: 'unreachable', from, to: Date.now(), okDuring: okBefore() - before });
    await pause(10_000);
  })();
  const until = Date.now() + 5000 + 2 * OUTAGE_MS + 25_000;
  const load = await runLoad({ url: fleet.url, redis, prefix, ledger, tickets: 1_000_000, seed, concurrency: 8, until });
  await schedule;
  await waitForQuiet({ redis, prefix });
  const counts = await reconcile({ scenario: 'd. Redis frozen, then gone', ledger, redis, prefix, url: fleet.url });
  report(counts, { outageS: OUTAGE_MS / 1000, ackedWhileFrozen: outages[0]?.okDuring, ackedWhileGone: outages[1]?.okDuring, noAnswer: load.noAnswer });
  expect(outages.map((o) => o.kind)).toEqual(['frozen', 'unreachable']);
  expect(ledger.tickets.size).toBeGreaterThan(50);
  expectAllZero(counts);
});
