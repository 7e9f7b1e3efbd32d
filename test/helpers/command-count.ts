import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import * as lotseScripts from '../../src/store/scripts.js';

/**
 * Counts the Redis commands one piece of work costs, exactly, with MONITOR on
 * a Redis of the test's own. Redis runs one command at a time and MONITOR
 * shows every command in that order, a script's inner calls (`[0 lua]`) right
 * after the EVALSHA that ran them, a blocking command once, when it is sent.
 * Two ECHO markers from the counter's own connection cut the window.
 *
 * Every command inside the window is sorted into one of four heaps:
 * - `work`: what the work cost; the budgets assert this map exactly;
 * - `waits`: blocking waits and fetches that found nothing. How many fall in a
 *   window depends on when a wait times out, not on the work: bounded apart;
 * - `background`: what runs on a clock whatever the work (stalled-job checks,
 *   lock renewals, heartbeats, the relay's claim pass, the workers' watchdog
 *   looks, the once-a-minute metrics point). Listed, not budgeted;
 * - `others`: connections that are not the system's (the test's own checks).
 * A script counts as itself plus its inner calls, as INFO commandstats does.
 */

export type Heap = 'work' | 'waits' | 'background' | 'others';
export type Counts = Record<string, number>;

/** One command a client sent, with the calls a script made inside it. */
export interface Invocation {
  source: string;
  /** The connection's name (CLIENT SETNAME), '' when it had none. */
  name: string;
  args: string[];
  /** For EVALSHA/EVAL: the script's name, when known. */
  script?: string;
  inner: string[][];
}

export interface Counted {
  work: Counts;
  waits: Counts;
  background: Counts;
  others: Counts;
  /** The work's invocations, to read when a budget fails. */
  invocations: Invocation[];
}

/** Tells what an invocation of the system's own connections is; the default knows BullMQ and Lotse. */
export type Classify = (inv: Invocation) => Exclude<Heap, 'others'>;

export interface CommandCounter {
  /** Runs `work` and counts the commands sent while it ran. */
  count(work: () => Promise<void>): Promise<Counted>;
  close(): Promise<void>;
}

/** Scripts by SHA1: BullMQ's (its shipped scripts) and Lotse's (src/store/scripts.ts). */
export async function knownScripts(): Promise<Map<string, string>> {
  const sha = (lua: string) => createHash('sha1').update(lua).digest('hex');
  const names = new Map<string, string>();
  for (const [name, lua] of Object.entries(lotseScripts)) if (typeof lua === 'string') names.set(sha(lua), name);
  const esm = join(dirname(createRequire(import.meta.url).resolve('bullmq')), '..', 'esm', 'scripts');
  for (const file of readdirSync(esm).filter((f) => /^[a-zA-Z]+-\d+\.js$/.test(f))) {
    const mod = (await import(pathToFileURL(join(esm, file)).href)) as Record<string, { name: string; content: string }>;
    for (const s of Object.values(mod)) names.set(sha(s.content), s.name);
  }
  return names;
}

const lower = (s: string | undefined) => (s ?? '').toLowerCase();

/**
 * The default sorting. Waits: BZPOPMIN and XREADGROUP … BLOCK, and a
 * moveToActive that took no job (it locks the job it takes: no SET of a
 * `:lock` key means it found nothing). Background: stalled checks, lock
 * renewals, whatever touches the heartbeat set, the relay's claim pass
 * (XAUTOCLAIM, XPENDING, XINFO), a worker's watchdog look; a minute's metrics point inside
 * moveToFinished is taken out of that call by `splitMetricsPoint`.
 */
export function classifyDefault(heartbeatKey: string): Classify {
  return (inv) => {
    const cmd = lower(inv.args[0]);
    if (cmd === 'bzpopmin' || (cmd === 'xreadgroup' && inv.args.some((a) => lower(a) === 'block'))) return 'waits';
    if (inv.script === 'moveToActive' && !inv.inner.some((c) => lower(c[0]) === 'set' && (c[1] ?? '').endsWith(':lock'))) return 'waits';
    if (inv.script === 'moveStalledJobsToWait' || inv.script === 'extendLocks' || inv.script === 'extendLock') return 'background';
    if (cmd === 'xautoclaim' || cmd === 'xpending' || cmd === 'xinfo') return 'background';
    if (isWatchdogLook(inv.args)) return 'background';
    // Heartbeats, however they are sent (MULTI today, a script or a store module's call tomorrow): any touch of the heartbeat key.
    if (inv.args.includes(heartbeatKey) || inv.inner.some((c) => c.includes(heartbeatKey))) return 'background';
    return 'work';
  };
}

/**
 * A worker's watchdog reading its queue's front (src/queue/queue-front.ts,
 * src/queue/watched-worker.ts; Lotse's workers and the provider kit's): five
 * reads on a clock, sent only while the worker is idle, whatever the work. Matched by their exact shape.
 */
function isWatchdogLook(args: string[]): boolean {
  const [cmd, key = '', ...rest] = args;
  const shape = [lower(cmd), key.slice(key.lastIndexOf(':') + 1), ...rest.map(lower)].join(' ');
  return ['lindex wait -1', 'zrange prioritized 0 0', 'zrange delayed 0 0 withscores', 'hmget meta paused concurrency', 'llen active'].includes(shape);
}

/**
 * BullMQ's per-minute job metrics (`metrics` on a Worker): the first job
 * finished in a new minute also pushes the last minute's point (HGET
 * prevCount, LPUSH, LTRIM, HSET prevCount prevTS on the `:metrics:` keys),
 * and the first job a queue ever finishes starts the series (HSET prevTS).
 * That happens once a minute per queue, whatever the number of jobs: it is
 * background.
 */
export function splitMetricsPoint(inner: string[][]): { kept: string[][]; point: string[][] } {
  const kept: string[][] = [];
  const point: string[][] = [];
  for (const c of inner) {
    const key = c[1] ?? '';
    const cmd = lower(c[0]);
    const isPoint = /:metrics:(completed|failed)/.test(key) && (cmd === 'lpush' || cmd === 'ltrim' || (cmd === 'hget' && c[2] === 'prevCount') || (cmd === 'hset' && (c[2] === 'prevTS' || c[2] === 'prevCount')));
    (isPoint ? point : kept).push(c);
  }
  return { kept, point };
}

function add(counts: Counts, cmd: string | undefined, n = 1) {
  const c = lower(cmd);
  counts[c] = (counts[c] ?? 0) + n;
}

/** Connection names by address, from CLIENT LIST. */
async function clientNames(redis: Redis): Promise<Map<string, string>> {
  const list = (await redis.client('LIST')) as string;
  const names = new Map<string, string>();
  for (const line of list.split('\n')) {
    const addr = /\baddr=(\S+)/.exec(line)?.[1];
    if (addr) names.set(addr, /\bname=(\S*)/.exec(line)?.[1] ?? '');
  }
  return names;
}

type MonitorLine = { source: string; args: string[] };

/**
 * The window's lines as the commands clients sent: a script's inner calls
 * (source `lua`) joined to it, a MULTI's queued commands to it until EXEC.
 */
function invocationsOf(window: MonitorLine[], names: Map<string, string>, scripts: Map<string, string>): Invocation[] {
  const top: Invocation[] = [];
  const openMulti = new Map<string, Invocation>();
  for (const line of window) {
    if (line.source === 'lua') {
      top.at(-1)?.inner.push(line.args);
      continue;
    }
    const name = names.get(line.source);
    if (name === undefined) throw new Error(`a command from ${line.source}, a connection not in CLIENT LIST: ${line.args.join(' ')}`);
    const cmd = lower(line.args[0]);
    const multi = openMulti.get(line.source);
    if (multi) {
      multi.inner.push(line.args);
      if (cmd === 'exec' || cmd === 'discard') openMulti.delete(line.source);
      continue;
    }
    const sha = cmd === 'evalsha' ? line.args[1] : cmd === 'eval' ? createHash('sha1').update(line.args[1] ?? '').digest('hex') : undefined;
    const inv: Invocation = { source: line.source, name, args: line.args, inner: [], ...(sha ? { script: scripts.get(sha) ?? `script ${sha.slice(0, 8)}` } : {}) };
    top.push(inv);
    if (cmd === 'multi') openMulti.set(line.source, inv);
  }
  return top;
}

/** Each command into its heap; a minute's metrics point out of the call it rode in. */
function sortIntoHeaps(top: Invocation[], o: { ours: (name: string) => boolean; classify: Classify; rewrite?: (inv: Invocation) => Invocation }): Counted {
  const result: Counted = { work: {}, waits: {}, background: {}, others: {}, invocations: [] };
  for (const seen of top) {
    const inv = o.rewrite ? o.rewrite(seen) : seen;
    if (!o.ours(inv.name)) {
      for (const c of [inv.args, ...inv.inner]) add(result.others, c[0]);
      continue;
    }
    const heap = o.classify(inv);
    const { kept, point } = splitMetricsPoint(inv.inner);
    for (const c of point) add(result.background, c[0]);
    for (const c of [inv.args, ...kept]) add(result[heap], c[0]);
    if (heap === 'work') result.invocations.push({ ...inv, inner: kept });
  }
  return result;
}

/**
 * A counter on `url`. `ours(name)` says which connections belong to the
 * system measured (by their CLIENT SETNAME name); a connection that closed
 * before its name was read is an error, not a guess. `rewrite` may replace
 * a command that depends on the clock by the one it stands for (say so where
 * it is used).
 */
export async function startCommandCounter(
  url: string,
  o: { ours: (name: string) => boolean; classify: Classify; rewrite?: (inv: Invocation) => Invocation },
): Promise<CommandCounter> {
  const scripts = await knownScripts();
  const admin = new Redis(url, { connectionName: `budget-admin-${randomBytes(3).toString('hex')}` });
  const monitor = await new Redis(url).monitor();
  const lines: MonitorLine[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => void lines.push({ source, args }));
  let seen = new Map<string, string>();
  const refreshNames = async () => {
    for (const [addr, name] of await clientNames(admin)) seen.set(addr, name);
  };

  async function waitForLine(marker: string): Promise<number> {
    for (;;) {
      const at = lines.findIndex((l) => lower(l.args[0]) === 'echo' && l.args[1] === marker);
      if (at >= 0) return at;
      await new Promise((r) => setImmediate(r));
    }
  }

  return {
    async count(work) {
      seen = new Map();
      await refreshNames();
      const id = randomBytes(4).toString('hex');
      await admin.echo(`budget-start-${id}`);
      // Connections opened during the work are named before they are used (ioredis sends SETNAME first): read names as they come.
      const watcher = setInterval(() => void refreshNames().catch(() => undefined), 20);
      try {
        await work();
      } finally {
        clearInterval(watcher);
      }
      await refreshNames();
      await admin.echo(`budget-end-${id}`);
      const from = await waitForLine(`budget-start-${id}`);
      const to = await waitForLine(`budget-end-${id}`);
      const window = lines.splice(0, to + 1).slice(from + 1);

      return sortIntoHeaps(invocationsOf(window, seen, scripts), o);
    },
    async close() {
      monitor.disconnect();
      admin.disconnect();
    },
  };
}

/**
 * Each command's count, and which steps sent it: `label(inv)` names the step
 * (`moveToActive intake`, `hmget t:<id>`…). A budget's table is written from
 * this, and a failing budget shows it.
 */
export function breakdown(invocations: Invocation[], label: (inv: Invocation) => string): Map<string, { count: number; by: Map<string, number> }> {
  const table = new Map<string, { count: number; by: Map<string, number> }>();
  for (const inv of invocations) {
    const step = label(inv);
    for (const c of [inv.args, ...inv.inner]) {
      const cmd = lower(c[0]);
      const row = table.get(cmd) ?? { count: 0, by: new Map<string, number>() };
      row.count++;
      row.by.set(step, (row.by.get(step) ?? 0) + 1);
      table.set(cmd, row);
    }
  }
  return new Map([...table].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0])));
}

/** The total of a count map. */
export const totalOf = (counts: Counts) => Object.values(counts).reduce((a, b) => a + b, 0);
