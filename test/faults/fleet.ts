import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import type { Redis } from 'ioredis';
import { join } from 'node:path';
import { inject } from 'vitest';
import { freePort } from '../../src/embedded-redis.js';
import { waitFor } from '../helpers/harness.js';
import { spawnLotse, type LotseProcess } from '../helpers/process.js';
import { fastSlaTopology } from '../helpers/topologies.js';

/**
 * The Lotse processes of one fault scenario, as real child processes: one
 * `lotse api` on a fixed port (so a restarted API answers at the same URL)
 * and any number of `lotse worker` processes with every role.
 */
export interface Fleet {
  url: string;
  dir: string;
  api: LotseProcess | undefined;
  workers: LotseProcess[];
  startApi(): Promise<void>;
  /** A `lotse worker` with every role, or the roles named (intake among them: its heartbeat says it runs). */
  startWorker(roles?: string[]): Promise<LotseProcess>;
  /** `kill -9` of the API; resolves once it is gone. */
  killApi(): Promise<void>;
  /** Workers that have started and not died. */
  runningWorkers(): number;
  /** `kill -9` of one worker (a random one by `pick`) that runs; resolves once it is gone, with whether there was one. */
  killWorker(pick: number): Promise<boolean>;
  /** Every process killed (SIGKILL): the scenario ends, what they did stays in Redis. */
  close(): Promise<void>;
}

export interface FleetOptions {
  redisUrl: string;
  /** A connection of the test's own to the same Redis. */
  redis: Redis;
  prefix: string;
  /** SLA targets in seconds on a 24x7 calendar, so breaches happen within the run. */
  sla?: { firstResponse: number; resolution: number; receipt: number };
  /** Organisation id → webhook URL: the topology gets a webhook for each. */
  webhooks?: Record<string, string>;
  env?: Record<string, string>;
}

export const WEBHOOK_SECRET = `whsec_${Buffer.from('lotse-faults-webhook-secret-32by').toString('base64')}`;

export async function createFleet(o: FleetOptions): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-faults-'));
  const topology = fastSlaTopology(o.sla ?? { firstResponse: 4, resolution: 10, receipt: 6 }).config;
  // The suite's own clients send far more than one desk's system would: no key may be refused for its rate.
  const unlimited = { max: 1_000_000, windowSeconds: 1 };
  const config = {
    ...topology,
    limits: { rate: { desk: unlimited, provider: unlimited, operator: unlimited, steering: unlimited } },
    organisations: topology.organisations.map((org) =>
      o.webhooks?.[org.id] ? { ...org, webhook: { url: o.webhooks[org.id]!, secret: WEBHOOK_SECRET } } : org,
    ),
  };
  const topologyFile = join(dir, 'topology.json');
  writeFileSync(topologyFile, JSON.stringify(config));
  const port = await freePort();
  const env = {
    REDIS_URL: o.redisUrl,
    LOTSE_PREFIX: o.prefix,
    LOTSE_CONFIG: topologyFile,
    LOTSE_RELAY_CLAIM_IDLE_MS: '1000',
    // Keep every stream event of the run, so each can be counted.
    LOTSE_EVENTS_MAXLEN: '1000000',
    LOG_LEVEL: 'warn',
    // No load shedding: on a loaded 2-core machine the event loop lags, and a 503 for that would only slow the load.
    LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...o.env,
  };
  // Compiled once by the suite's global setup: the scenarios run what the Docker image runs.
  const build = inject('faultsBuild');
  const all: LotseProcess[] = [];
  const ready = new Set<LotseProcess>();
  const running = () => fleet.workers.filter((w) => ready.has(w) && w.child.exitCode === null && w.child.signalCode === null);
  const fleet: Fleet = {
    url: `http://127.0.0.1:${port}`,
    dir,
    api: undefined,
    workers: [],
    async startApi() {
      const p = spawnLotse(['api'], { ...env, PORT: String(port) }, build);
      all.push(p);
      fleet.api = p;
      await waitFor(async () => (await fetch(`${fleet.url}/healthz`)).ok, { timeoutMs: 90_000, what: 'the API to listen', intervalMs: 100 });
    },
    async startWorker(roles) {
      const p = spawnLotse(roles ? ['worker', '--roles', roles.join(',')] : ['worker'], env, build);
      all.push(p);
      fleet.workers.push(p);
      // Its heartbeat says it runs; the process list's pid says it is this one.
      const member = `intake@${hostname()}:${p.child.pid}`;
      await waitFor(async () => (await o.redis.zscore(`${o.prefix}:hb`, member)) !== null, { timeoutMs: 90_000, what: 'a worker to start', intervalMs: 100 });
      ready.add(p);
      return p;
    },
    async killApi() {
      await fleet.api?.kill();
    },
    runningWorkers: () => running().length,
    async killWorker(pick) {
      // Only workers that run: one killed while it still starts did no work to interrupt.
      const live = running();
      const victim = live[Math.floor(pick * live.length)];
      if (!victim) return false;
      fleet.workers = fleet.workers.filter((w) => w !== victim);
      await victim.kill();
      return true;
    },
    async close() {
      await Promise.all(all.map((p) => p.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}
