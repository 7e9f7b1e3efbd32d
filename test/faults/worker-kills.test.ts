import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { seededRandom } from '../../src/seeded-random.js';
import { dropPrefix, newPrefix, redisUrl } from '../helpers/harness.js';
import { createFleet, type Fleet } from './fleet.js';
import { expectAllZero, faultSeed, faultTickets, Ledger, reconcile, report, waitForQuiet } from './harness.js';
import { runLoad } from './load.js';

/**
 * Worker processes kept (LOTSE_FAULTS_WORKERS, 6 by default), running or
 * starting: each killed one is replaced at once. A successor takes a few
 * seconds to start on loaded cores, so with a kill every one or two seconds
 * three or four of them start while the others run.
 */
const WORKERS = Number(process.env.LOTSE_FAULTS_WORKERS ?? 6);

let fleet: Fleet | undefined;
let redis: Redis | undefined;
let prefix = '';
afterEach(async () => {
  await fleet?.close();
  if (redis && !process.env.LOTSE_FAULTS_KEEP) await dropPrefix(redis, prefix);
  redis?.disconnect();
});

it('loses and repeats nothing while worker processes are killed with -9 every one or two seconds', async () => {
  const seed = faultSeed();
  const tickets = faultTickets();
  prefix = newPrefix('fkill');
  redis = new Redis(redisUrl());
  fleet = await createFleet({ redisUrl: redisUrl(), redis, prefix });
  await fleet.startApi();
  await Promise.all(Array.from({ length: WORKERS }, () => fleet!.startWorker()));

  const ledger = new Ledger();
  const random = seededRandom(seed + 1);
  let loadDone = false;
  let kills = 0;
  const killedAt: number[] = [];
  // The fault injector: pacing, not synchronisation. Every 1-2 s one running worker is killed and its
  // successor started, but never the last one that runs: on a slow machine a successor takes longer to
  // start than the pause, and a Lotse with no worker at all would only measure the machine.
  let waitedForSuccessor = 0;
  const injector = (async () => {
    while (!loadDone) {
      await new Promise((r) => setTimeout(r, 1000 + random() * 1000));
      if (loadDone) break;
      if (fleet!.runningWorkers() < 2) waitedForSuccessor++;
      else if (await fleet!.killWorker(random())) {
        kills++;
        killedAt.push(Date.now());
      }
      // Start the successor without waiting for it: the next kill may hit it once it runs.
      if (fleet!.workers.length < WORKERS) void fleet!.startWorker().catch(() => undefined);
    }
  })();
  // How late the timers run, sampled each second: due and not yet taken (delayed past its time, or waiting).
  // Beyond the breach grace it is the machine's saturation, not a fault's recovery, that misses breaches.
  let maxTimerLagMs = 0;
  const sampler = (async () => {
    while (!loadDone) {
      await new Promise((r) => setTimeout(r, 1000));
      maxTimerLagMs = Math.max(maxTimerLagMs, await timerLag(redis!, prefix).catch(() => 0));
    }
  })();
  const started = Date.now();
  // Bounded by count and by time: LOTSE_FAULTS_KILL_S of killing at most (default 120 s), whatever the machine's speed.
  const until = started + Number(process.env.LOTSE_FAULTS_KILL_S ?? 120) * 1000;
  const concurrency = Number(process.env.LOTSE_FAULTS_CONCURRENCY ?? 16);
  const load = await runLoad({ url: fleet.url, redis, prefix, ledger, tickets, seed, concurrency, until });
  loadDone = true;
  await Promise.all([injector, sampler]);
  while (fleet.workers.filter((w) => w.child.exitCode === null).length < 2) await fleet.startWorker();
  const failedTimers = await redis.zrange(`${prefix}:sla:failed`, 0, -1);
  if (failedTimers.length > 0) console.log(`failed timer jobs: ${failedTimers.length}`, await Promise.all(failedTimers.slice(0, 3).map((id) => redis!.hget(`${prefix}:sla:${id}`, 'failedReason'))));
  await waitForQuiet({ redis, prefix });
  const counts = await reconcile({ scenario: 'a. workers kill -9', ledger, redis, prefix, url: fleet.url });
  // The cadence the kills really had: seconds between one kill and the next, median and longest.
  const gaps = killedAt.slice(1).map((t, i) => t - killedAt[i]!).sort((a, b) => a - b);
  const gapS = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms / 100) / 10);
  report(counts, { started: load.started, kills, killGapMedianS: gapS(gaps[Math.floor(gaps.length / 2)]), killGapMaxS: gapS(gaps.at(-1)), waitedForSuccessor, maxTimerLagS: Math.round(maxTimerLagMs / 1000), concurrency, seconds: Math.round((Date.now() - started) / 1000), seed, noAnswer: load.noAnswer });
  expect(kills).toBeGreaterThan(0);
  expect(ledger.tickets.size).toBeGreaterThan(Math.min(100, load.started * 0.9));
  expect(counts.breaches).toBeGreaterThan(0);
  expectAllZero(counts);
});

/** How long the most overdue timer job has been due (0 when none is): the oldest delayed one past its time, or the oldest waiting one. */
async function timerLag(redis: Redis, prefix: string): Promise<number> {
  const now = Date.now();
  const [[, earliest], oldestWaiting] = await Promise.all([
    redis.zrange(`${prefix}:sla:delayed`, 0, 0, 'WITHSCORES'),
    redis.lindex(`${prefix}:sla:wait`, -1),
  ]);
  // BullMQ scores delayed jobs by due time * 4096 (+ a counter).
  const delayedLag = earliest === undefined ? 0 : now - Math.floor(Number(earliest) / 4096);
  let waitingLag = 0;
  if (oldestWaiting) {
    const [timestamp, delay] = await redis.hmget(`${prefix}:sla:${oldestWaiting}`, 'timestamp', 'delay');
    if (timestamp) waitingLag = now - (Number(timestamp) + Number(delay ?? 0));
  }
  return Math.max(0, delayedLag, waitingLag);
}
