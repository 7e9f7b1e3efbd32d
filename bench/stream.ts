import { fork, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { LAND_CODES } from '../src/domain/ids.js';
import type { Principal } from '../src/domain/access.js';
import { benchBody } from './body.js';
import { benchTopology, fmtLatency, latencyOf, type Latency } from './stats.js';
import type { ReaderJob, ReaderMessage } from './stream-readers.js';
import { freePort } from '../src/embedded-redis.js';
import { startRuntime, until } from './support.js';

const wallNow = () => performance.timeOrigin + performance.now();

interface Readers {
  child: ChildProcess;
  /** Sends the stamps; answers every reader's delay per entry. */
  delays(entries: [string, number][], waitMs: number): Promise<{ delays: number[]; missing: number; streamDelays: number[] }>;
}

/** Starts the reader process and waits until every reader is connected. */
async function startReaders(job: ReaderJob): Promise<Readers> {
  const child = fork(fileURLToPath(new URL('./stream-readers.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<ReaderMessage>((resolve, reject) => {
    child.once('message', (m: ReaderMessage) => resolve(m));
    child.once('exit', (code) => reject(new Error(`stream readers exited with ${code}`)));
  });
  const ready = next();
  child.send(job);
  await ready;
  return {
    child,
    async delays(entries, waitMs) {
      const answer = next();
      child.send({ entries, waitMs });
      const m = await answer;
      if (!('delays' in m)) throw new Error('stream readers answered no delays');
      return m;
    },
  };
}

/**
 * Open loop at `rate` per second for `seconds`: the i-th call starts at its
 * time whether or not earlier ones are done (at most `maxInFlight` at once),
 * and each notes its stamp when it has returned.
 */
async function paced(rate: number, seconds: number, fn: (i: number) => Promise<string>): Promise<{ entries: [string, number][]; achieved: number }> {
  const n = Math.round(rate * seconds);
  const entries: [string, number][] = [];
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= 200) await Promise.race(inFlight);
    const p = fn(i).then((id) => void entries.push([id, wallNow()]));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  return { entries, achieved: n / ((performance.now() - t0) / 1000) };
}

interface Run {
  latency: Latency;
  /** Commit → the entry on Lotse's events stream (the relay's part); raw: none. */
  stream?: Latency;
  deliveries: number;
  missing: number;
  achieved: number;
  load: number;
}

/** A `lotse` command in a process of its own (as deployed: the API apart from the workers). */
function startCli(args: string[], env: Record<string, string>) {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `lotse api` on `port`, once it answers. All `clients` read with one key, so
 * the per-key limit on open streams (LOTSE_STREAM_MAX_PER_KEY) is raised to them.
 */
async function startApi(url: string, prefix: string, port: number, clients: number) {
  const api = startCli(['api'], { REDIS_URL: url, LOTSE_PREFIX: prefix, PORT: String(port), HOST: '127.0.0.1', LOTSE_STREAM_MAX_PER_KEY: String(clients) });
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(async () => {
      if (api.child.exitCode !== null) throw new Error(`lotse api exited with ${api.child.exitCode}`);
      return (await fetch(`${base}/healthz`).catch(() => null))?.status === 200;
    }, 'lotse api to answer', 100);
  } catch (err) {
    await api.stop();
    throw err;
  }
  return { url: base, stop: api.stop };
}

/** `lotse worker --roles relay`, once its heartbeat is in Redis. */
async function startRelay(url: string, prefix: string, redis: Redis) {
  const relay = startCli(['worker', '--roles', 'relay'], { REDIS_URL: url, LOTSE_PREFIX: prefix });
  try {
    await until(async () => {
      if (relay.child.exitCode !== null) throw new Error(`lotse worker exited with ${relay.child.exitCode}`);
      return (await redis.zrange(`${prefix}:hb`, 0, -1)).some((m) => m.startsWith('relay@'));
    }, 'lotse worker --roles relay to beat', 100);
  } catch (err) {
    await relay.stop();
    throw err;
  }
  return relay;
}

/**
 * Lotse as deployed on one machine: tickets created through the engine at
 * `rate` in this process (a desk's worker), `lotse worker --roles relay`
 * publishing them, `lotse api` serving `clients` SSE clients, which read in
 * a fourth process.
 */
async function lotseRun(url: string, o: { clients: number; rate: number; seconds: number }): Promise<Run> {
  const prefix = 'bench-stream';
  const redis = new Redis(url);
  const runtime = await startRuntime(url, prefix, [], { topology: benchTopology() });
  const api = await startApi(url, prefix, await freePort(), o.clients);
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  let readers: Readers | undefined;
  try {
    relay = await startRelay(url, prefix, redis);
    readers = await startReaders({ mode: 'sse', url: api.url, key: 'dev-ops-bremen', clients: o.clients, redisUrl: url, stream: runtime.keys.events });
    const create = async (i: number) => {
      const land = LAND_CODES[i % LAND_CODES.length]!;
      const desk: Principal = { orgId: `desk-${land}`, role: 'desk', land };
      return (await runtime.engine.createParsedTicket(desk, benchBody(`stream-${i}`, { land }), { reserve: false })).record.id;
    };
    // A warm-up second, not counted.
    await paced(o.rate, 1, (i) => create(1_000_000 + i));
    const { entries, achieved } = await paced(o.rate, o.seconds, create);
    const { delays, missing, streamDelays } = await readers.delays(entries, 60_000);
    return { latency: latencyOf(delays), stream: latencyOf(streamDelays), deliveries: delays.length, missing, achieved, load: loadavg()[0]! };
  } finally {
    readers?.child.kill();
    await relay?.stop();
    await api.stop();
    await runtime.close();
    redis.disconnect();
  }
}

/** Raw Redis: XADD of an event-sized entry at `rate`, `clients` readers each with its own blocking XREAD. */
async function rawRun(url: string, o: { clients: number; rate: number; seconds: number; entryBytes: number }): Promise<Run> {
  const stream = 'bench-raw-stream';
  const redis = new Redis(url);
  const readers = await startReaders({ mode: 'xread', url, stream, clients: o.clients });
  try {
    const payload = 'x'.repeat(o.entryBytes);
    const add = async () => (await redis.xadd(stream, 'MAXLEN', '~', 10_000, '*', 'subject', 'T', 'event', payload))!;
    await paced(o.rate, 1, add);
    const { entries, achieved } = await paced(o.rate, o.seconds, add);
    const { delays, missing } = await readers.delays(entries, 60_000);
    return { latency: latencyOf(delays), deliveries: delays.length, missing, achieved, load: loadavg()[0]! };
  } finally {
    readers.child.kill();
    await redis.del(stream);
    redis.disconnect();
  }
}

export async function benchStream(url: string, o: { clients: number; rate: number; seconds: number }) {
  const redis = new Redis(url);
  await redis.flushdb();
  // A created ticket's CloudEvent is about this long; the raw entries carry as much.
  const raw = await rawRun(url, { ...o, entryBytes: 1200 });
  const lotse = await lotseRun(url, o);
  await redis.flushdb();
  redis.disconnect();
  return { ...o, raw, lotse };
}

export function reportStream(s: Awaited<ReturnType<typeof benchStream>>): string[] {
  const row = (name: string, r: Run) =>
    `  ${name} ${fmtLatency(r.latency, 1)} ms  (${r.deliveries} deliveries, ${r.missing} missing, ${r.achieved.toFixed(0)} events/s offered, load ${r.load.toFixed(1)})`;
  return [
    `commit → event at each of ${s.clients} readers while ${s.rate} events/s flow for ${s.seconds} s, p50 / p99 / max:`,
    row('Lotse, `lotse api` /v1/stream (SSE)     ', s.lotse),
    `    of which commit → entry on Lotse's events stream (the relay) ${fmtLatency(s.lotse.stream!, 1)} ms`,
    row('raw Redis, XADD → XREAD BLOCK per reader', s.raw),
    `  p99 ratio ${(s.lotse.latency.p99 / s.raw.latency.p99).toFixed(1)}, p50 difference ${(s.lotse.latency.p50 - s.raw.latency.p50).toFixed(1)} ms`,
  ];
}
