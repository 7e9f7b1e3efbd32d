import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

/**
 * What this machine and this Redis allow at all, measured in the same run
 * as Lotse's figures: plain commands per second, pipelined through ioredis
 * (the client Lotse uses), and from `redis-benchmark` where the binary is
 * installed. Lotse's figures are fractions of this ceiling.
 */

const COMMANDS = ['SET', 'GET', 'XADD', 'ZADD'] as const;
type Command = (typeof COMMANDS)[number];

function queue(pipeline: ReturnType<Redis['pipeline']>, command: Command, i: number) {
  const key = `bench-ceiling:${i % 1000}`;
  switch (command) {
    case 'SET': return pipeline.set(key, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    case 'GET': return pipeline.get(key);
    case 'XADD': return pipeline.xadd('bench-ceiling:stream', 'MAXLEN', '~', 10_000, '*', 'subject', `T${i}`, 'event', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    case 'ZADD': return pipeline.zadd('bench-ceiling:zset', 0, `T${String(i).padStart(20, '0')}`);
  }
}

/** `n` commands in pipelines of `depth`, from `connections` connections at once: commands per second. */
async function pipelined(url: string, command: Command, n: number, depth: number, connections: number): Promise<number> {
  const clients = Array.from({ length: connections }, () => new Redis(url));
  await Promise.all(clients.map((c) => c.ping()));
  const t0 = performance.now();
  await Promise.all(clients.map(async (c, k) => {
    for (let i = k; i < n; i += depth * connections) {
      const p = c.pipeline();
      for (let j = 0; j < depth && i + j * connections < n; j++) queue(p, command, i + j * connections);
      await p.exec();
    }
  }));
  const perSecond = n / ((performance.now() - t0) / 1000);
  await clients[0]!.del('bench-ceiling:stream', 'bench-ceiling:zset', ...Array.from({ length: 1000 }, (_, i) => `bench-ceiling:${i}`));
  for (const c of clients) c.disconnect();
  return perSecond;
}

/** `redis-benchmark` against the same server, when the binary is there: requests per second by command (XADD as a command of its own: `-t` knows no XADD). */
async function redisBenchmark(url: string, n: number, depth: number): Promise<Map<string, number> | null> {
  const { hostname, port } = new URL(url);
  const common = ['-h', hostname, '-p', port || '6379', '-n', String(n), '-P', String(depth), '-c', '4', '-q', '--csv'];
  const run = async (args: string[]) => (await promisify(execFile)('redis-benchmark', [...common, ...args], { timeout: 120_000 })).stdout;
  try {
    const stdout = (await run(['-t', 'set,get,zadd'])) + (await run(['XADD', 'bench-rb-stream', 'MAXLEN', '~', '10000', '*', 'subject', 'T', 'event', 'x'.repeat(32)]));
    const out = new Map<string, number>();
    // "test","rps",…: the first cell names the test (a command's whole line for XADD), the second its requests per second.
    for (const m of stdout.matchAll(/^"([^"]+)","([\d.]+)"/gm)) out.set(m[1]!.split(' ')[0]!.toUpperCase(), Number(m[2]));
    return out;
  } catch {
    return null;
  } finally {
    // redis-benchmark's own keys.
    const redis = new Redis(url);
    await redis.del('key:__rand_int__', 'myzset', 'bench-rb-stream').catch(() => undefined);
    redis.disconnect();
  }
}

export async function benchCeiling(url: string, o: { n: number }) {
  const rows: { command: Command; depth1: number; depth16: number; tool?: number }[] = [];
  const tool = await redisBenchmark(url, o.n, 16);
  for (const command of COMMANDS) {
    rows.push({
      command,
      depth1: await pipelined(url, command, Math.ceil(o.n / 10), 1, 1),
      depth16: await pipelined(url, command, o.n, 16, 4),
      ...(tool?.has(command) ? { tool: tool.get(command)! } : {}),
    });
  }
  return { rows, tool: tool !== null, n: o.n };
}

export function reportCeiling(c: Awaited<ReturnType<typeof benchCeiling>>): string[] {
  const f = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(0)).padStart(10);
  return [
    `the machine's ceiling, plain Redis commands per second on the bench's Redis:`,
    `  command  ioredis, one at a time  ioredis, pipelines of 16 x 4 connections  redis-benchmark -P 16 -c 4`,
    ...c.rows.map((r) => `  ${r.command.padEnd(7)}  ${f(r.depth1)}              ${f(r.depth16)}                                ${c.tool ? f(r.tool) : '(not installed)'}`),
  ];
}
