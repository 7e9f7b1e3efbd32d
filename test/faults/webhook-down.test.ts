import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { freePort } from '../../src/embedded-redis.js';
import { dropPrefix, newPrefix, redisUrl } from '../helpers/harness.js';
import { createFleet, type Fleet } from './fleet.js';
import { expectAllZero, faultSeed, faultTickets, Ledger, reconcile, report, waitForQuiet } from './harness.js';
import { runLoad } from './load.js';

let fleet: Fleet | undefined;
let redis: Redis | undefined;
let server: Server | undefined;
let prefix = '';
afterEach(async () => {
  await fleet?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  if (redis) await dropPrefix(redis, prefix);
  redis?.disconnect();
});

const ATTEMPTS = 3;

it("loses nothing and hands nothing off twice while a provider's webhook answers 503 for the whole run", async () => {
  const seed = faultSeed();
  const tickets = Math.max(200, Math.round(faultTickets() / 5));
  // The provider's endpoint, down all the time: 503 to every delivery, counted per webhook-id.
  const requests = new Map<string, number>();
  const port = await freePort();
  server = createServer((req, res) => {
    const id = String(req.headers['webhook-id']);
    requests.set(id, (requests.get(id) ?? 0) + 1);
    req.resume();
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));

  prefix = newPrefix('fwh');
  redis = new Redis(redisUrl());
  fleet = await createFleet({
    redisUrl: redisUrl(), redis, prefix,
    webhooks: { dataport: `http://127.0.0.1:${port}/lotse` },
    env: { LOTSE_WEBHOOK_ATTEMPTS: String(ATTEMPTS), LOTSE_WEBHOOK_BACKOFF_MS: '100', LOTSE_WEBHOOK_BACKOFF_CAP_MS: '400' },
  });
  await Promise.all([fleet.startApi(), fleet.startWorker()]);
  const ledger = new Ledger();
  await runLoad({ url: fleet.url, redis, prefix, ledger, tickets, seed, concurrency: 16 });
  await waitForQuiet({ redis, prefix });

  // Every handoff to dataport has its delivery, and each delivery ends in a dead letter or is still retrying.
  const handoffs = new Queue('handoff-dataport', { connection: { host: redis.options.host, port: redis.options.port }, prefix });
  const webhook = new Queue('webhook', { connection: { host: redis.options.host, port: redis.options.port }, prefix });
  try {
    const eventIds = (await handoffs.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'])).map((j) => j.id!);
    expect(eventIds.length).toBeGreaterThan(0);
    // Read in this order while deliveries still retry: a job writes its dead letter before it completes, so
    // the dead letters read last hold every job seen completed or retrying before them.
    const completed = await webhook.getJobs(['completed']);
    const failed = await webhook.getJobs(['failed']);
    const retrying = new Set((await webhook.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).map((j) => j.id!));
    const dead = new Set(await redis.hkeys(`${prefix}:wh:dead`));
    const undelivered = eventIds.filter((id) => !dead.has(id) && !retrying.has(`wh-${id}`));
    const overAttempted = [...requests.values()].filter((n) => n > ATTEMPTS).length;
    const counts = await reconcile({ scenario: 'e. webhook down', ledger, redis, prefix, url: fleet.url });
    report(counts, { handoffs: eventIds.length, deadLetters: dead.size, retrying: retrying.size, lostDeliveries: undelivered.length, overAttempted });
    expect(undelivered).toEqual([]);
    // Completed jobs are the dead-lettered ones (the worker completes a job once its letter is written); none failed.
    expect(completed.every((j) => dead.has((j.data as { event: { id: string } }).event.id))).toBe(true);
    expect(failed).toEqual([]);
    expect(overAttempted).toBe(0);
    expect(dead.size).toBeGreaterThan(0);
    expectAllZero(counts);
  } finally {
    await Promise.all([handoffs.close(), webhook.close()]);
  }
});
