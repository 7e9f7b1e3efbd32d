import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { DEFAULT_TOPOLOGY } from '../src/config/default-topology.js';
import { parseTopology } from '../src/config/topology-file.js';
import type { TopologyInput } from '../src/domain/topology.js';
import { countSpecs } from '../src/engine/ticket/index.js';
import { percentile } from './redis.js';
import { listen, startRuntime } from './support.js';
import { createTicketLoader } from './ticket-loader.js';

/** The built-in topology with the operator's rate limit out of the way: the bench asks many times a minute. */
export function benchTopology() {
  const t = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  t.limits = { rate: { desk: { max: 1_000_000, windowSeconds: 60 }, provider: { max: 1_000_000, windowSeconds: 60 }, operator: { max: 1_000_000, windowSeconds: 60 }, steering: { max: 1_000_000, windowSeconds: 60 } } };
  return parseTopology(t, 'bench topology');
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export function latencyOf(ms: number[]): Latency {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

export const fmtLatency = (l: Latency, digits = 2) => `${l.p50.toFixed(digits)} / ${l.p99.toFixed(digits)} / ${l.max.toFixed(digits)}`;

interface Point {
  tickets: number;
  lotse: Latency;
  raw: Latency;
}

/** One Lotse with `tickets` open tickets on its own prefix, its API on a port. */
async function startFilled(url: string, prefix: string, tickets: number) {
  const topology = benchTopology();
  const runtime = await startRuntime(url, prefix, [], { topology });
  const server = await listen(runtime);
  const close = async () => {
    await server.close();
    await runtime.close();
  };
  try {
    const t0 = performance.now();
    const loader = await createTicketLoader(runtime, url, topology);
    await loader.load(tickets - loader.templates);
    return { server, close, tickets, fillS: (performance.now() - t0) / 1000, indexKeys: countSpecs(topology).flatMap((s) => ('index' in s.source ? [runtime.keys.index(s.source.index)] : [])), activeKey: runtime.keys.stats('active') };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * `GET /v1/stats` over a real port, from two Lotse on the same Redis (own
 * prefixes): one with few and one with many open tickets, asked in turns
 * so both see the same machine load; each request beside a raw Redis
 * pipeline of the same ZCARDs and HGETALL (the read model's sets and active
 * counters) on its own connection.
 */
export async function benchStats(url: string, opts: { small: number; large: number; requests: number }) {
  const redis = new Redis(url);
  await redis.flushdb();
  let small: Awaited<ReturnType<typeof startFilled>> | undefined;
  let large: Awaited<ReturnType<typeof startFilled>> | undefined;
  try {
    small = await startFilled(url, 'bench-stats-s', opts.small);
    large = await startFilled(url, 'bench-stats-l', opts.large);
    const targets = [small, large];
    const lotse: number[][] = [[], []];
    const raw: number[][] = [[], []];
    const headers = { authorization: 'Bearer dev-ops-bremen' };
    for (let i = 0; i < opts.requests + 50; i++) {
      for (let k = 0; k < 2; k++) {
        // Alternating which goes first, so neither always follows the other.
        const j = (i + k) % 2;
        const t = targets[j]!;
        const t0 = performance.now();
        const res = await fetch(`${t.server.url}/v1/stats`, { headers });
        const body = (await res.json()) as { tickets?: { total?: { all?: { count: number } } } };
        const t1 = performance.now();
        if (res.status !== 200) throw new Error(`GET /v1/stats answered ${res.status}`);
        if (body.tickets?.total?.all?.count !== t.tickets) throw new Error(`stats count ${body.tickets?.total?.all?.count}, expected ${t.tickets}`);
        const pipeline = redis.pipeline();
        for (const key of t.indexKeys) pipeline.zcard(key);
        pipeline.hgetall(t.activeKey);
        await pipeline.exec();
        const t2 = performance.now();
        // The first 50 warm the connections and the JIT.
        if (i >= 50) {
          lotse[j]!.push(t1 - t0);
          raw[j]!.push(t2 - t1);
        }
      }
    }
    const point = (j: number): Point => ({ tickets: targets[j]!.tickets, lotse: latencyOf(lotse[j]!), raw: latencyOf(raw[j]!) });
    const [s, l] = [point(0), point(1)];
    return {
      small: s, large: l, smallFillS: small.fillS, largeFillS: large.fillS, counts: small.indexKeys.length, requests: opts.requests, load: loadavg()[0]!,
      p50Ratio: l.lotse.p50 / s.lotse.p50, p99Ratio: l.lotse.p99 / s.lotse.p99,
    };
  } finally {
    await small?.close();
    await large?.close();
    await redis.flushdb();
    redis.disconnect();
  }
}

export function reportStats(s: Awaited<ReturnType<typeof benchStats>>): string[] {
  const row = (p: Point) => `  ${String(p.tickets).padStart(7)} tickets  Lotse ${fmtLatency(p.lotse)} ms   raw pipeline of ${s.counts} ZCARDs + HGETALL ${fmtLatency(p.raw)} ms`;
  return [
    `GET /v1/stats over a port, ${s.requests} requests each, in turns, p50 / p99 / max (load ${s.load.toFixed(1)}):`,
    row(s.small),
    row(s.large),
    `  filled in ${s.smallFillS.toFixed(0)} s and ${s.largeFillS.toFixed(0)} s (bench/ticket-loader.ts: the engine's commit requests, cloned)`,
    `  ratio ${s.large.tickets} / ${s.small.tickets}: p50 ${s.p50Ratio.toFixed(2)}, p99 ${s.p99Ratio.toFixed(2)} (target <= 1.5: ${Math.max(s.p50Ratio, s.p99Ratio) <= 1.5 ? 'met' : 'missed'})`,
  ];
}
