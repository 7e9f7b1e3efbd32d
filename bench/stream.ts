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
  delays(entries: [string, number][], waitMs: number): Promise<{ delays: number[]; missing: number }>;
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
  deliveries: number;
  missing: number;
  achieved: number;
  load: number;
}

/** `lotse api` in a process of its own (as deployed: the API apart from the workers), answering on `port`. */
async function startApi(url: string, prefix: string, port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'api'], {
    env: { ...process.env, REDIS_URL: url, LOTSE_PREFIX: prefix, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`lotse api exited with ${child.exitCode}`);
    return (await fetch(`${base}/healthz`).catch(() => null))?.status === 200;
  }, 'lotse api to answer', 100);
  return {
    url: base,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Lotse: tickets created through the engine at `rate` in this process, its
 * relay publishing them; `lotse api` in another serving `clients` SSE
 * clients, which read in a third.
 */
async function lotseRun(url: string, o: { clients: number; rate: number; seconds: number }): Promise<Run> {
  const prefix = 'bench-stream';
  const runtime = await startRuntime(url, prefix, ['relay'], { topology: benchTopology() });
  const api = await startApi(url, prefix, await freePort());
  let readers: Readers | undefined;
  try {
    readers = await startReaders({ mode: 'sse', url: api.url, key: 'dev-ops-bremen', clients: o.clients });
    const create = async (i: number) => {
      const land = LAND_CODES[i % LAND_CODES.length]!;
      const desk: Principal = { orgId: `desk-${land}`, role: 'desk', land };
      return (await runtime.engine.createParsedTicket(desk, benchBody(`stream-${i}`, { land }), { reserve: false })).record.id;
    };
    // A warm-up second, not counted.
    await paced(o.rate, 1, (i) => create(1_000_000 + i));
    const { entries, achieved } = await paced(o.rate, o.seconds, create);
    const { delays, missing } = await readers.delays(entries, 60_000);
    return { latency: latencyOf(delays), deliveries: delays.length, missing, achieved, load: loadavg()[0]! };
  } finally {
    readers?.child.kill();
    await api.stop();
    await runtime.close();
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
    row('raw Redis, XADD → XREAD BLOCK per reader', s.raw),
    `  p99 ratio ${(s.lotse.latency.p99 / s.raw.latency.p99).toFixed(1)}, p50 difference ${(s.lotse.latency.p50 - s.raw.latency.p50).toFixed(1)} ms`,
  ];
}
