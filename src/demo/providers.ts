/**
 * The provider simulator (src/provider/sim.ts, built on the provider kit)
 * for every organisation of the topology that receives handoffs: Dataport,
 * the Länder's own IT providers, the vendors' support desks. They read their
 * `handoff-<org>` queues in Lotse's Redis and answer on the `events` queue,
 * or over the HTTP API when given one.
 */
import type { Logger } from 'pino';
import { receivesHandoffs } from '../domain/routing.js';
import type { Topology } from '../domain/topology.js';
import { runProviderSim } from '../provider/sim.js';
import { realMsFor } from './clock.js';
import { ticketSeed } from './generator.js';

/**
 * The slow provider takes its handoffs in bursts: it leaves them waiting
 * this long (real time), then takes what is waiting for `SLOW_OPEN_MS`.
 */
export const SLOW_HOLD_MS = 150_000;
export const SLOW_OPEN_MS = 20_000;

/** A provider's simulated working time on a ticket before it answers. */
const PROVIDER_WORK_MS = 20 * 60_000;

export function listProviderOrgs(topology: Topology): string[] {
  return [...topology.orgs.values()].filter((org) => receivesHandoffs(org.kind)).map((org) => org.id);
}

/** How long a simulated provider waits before it answers, in real ms, at `speed`: never below 100 ms, never above a minute. */
export function providerDelayMs(speed: number): number {
  return Math.min(60_000, Math.max(100, Math.round(realMsFor(PROVIDER_WORK_MS, speed))));
}

export interface ProviderSims {
  orgs: string[];
  close(): Promise<void>;
}

export async function startProviderSims(o: {
  topology: Topology;
  redisUrl: string;
  prefix: string;
  logger: Logger;
  seed: number;
  speed: number;
  /** The provider that confirms its handoffs late: it starts paused and takes them in bursts. */
  slow?: string;
  /** Answer over HTTP: Lotse's URL and each provider's key; orgs without a key are left out. */
  api?: { url: string; keyFor: (orgId: string) => string | undefined };
}): Promise<ProviderSims> {
  const orgs = listProviderOrgs(o.topology).filter((org) => !o.api || o.api.keyFor(org) !== undefined);
  const sims = orgs.map((orgId, i) => {
    const key = o.api?.keyFor(orgId);
    return runProviderSim({
      orgId,
      redisUrl: o.redisUrl,
      prefix: o.prefix,
      logger: o.logger,
      seed: ticketSeed(o.seed, 1_000_000 + i),
      delayMs: providerDelayMs(o.speed),
      infoChance: 0.2,
      ...(o.api && key ? { api: { url: o.api.url, key } } : {}),
    });
  });
  await Promise.all(sims.map((s) => s.kit.worker.waitUntilReady()));
  const slowSim = o.slow === undefined ? undefined : sims[orgs.indexOf(o.slow)];
  let slowTimer: NodeJS.Timeout | undefined;
  if (slowSim) {
    // Paused at once: its first handoffs wait without a receipt, so the board's panel of them fills.
    await slowSim.kit.worker.pause(true);
    const cycle = (open: boolean) => {
      slowTimer = setTimeout(() => {
        // Paused through the kit's handle: its watchdog leaves a worker paused on purpose alone.
        if (open) void slowSim.kit.worker.resume().catch(() => undefined);
        else void slowSim.kit.worker.pause(true).catch(() => undefined);
        cycle(!open);
      }, open ? SLOW_HOLD_MS : SLOW_OPEN_MS);
    };
    cycle(true);
  }
  return {
    orgs,
    async close() {
      clearTimeout(slowTimer);
      await Promise.allSettled(sims.map((s) => s.close()));
    },
  };
}
