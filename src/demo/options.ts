/**
 * `lotse demo`'s arguments and keys, read once and checked, each wrong one
 * named. Pure: arguments and environment come in.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { HOUR_MS, OFFICE_HOURS } from './clock.js';

export const DEMO_USAGE = `lotse demo [--against URL] [--port N] [--speed N] [--seed N] [--volume N]
           [--max-open N] [--max-tickets N] [--duration 10m]
lotse demo --clean [--force]   remove the demo's keys (LOTSE_PREFIX, default lotse-demo) from Redis`;

export class DemoError extends Error {
  /** 1: cannot run (Redis, a Lotse that does not answer); 2: bad usage or configuration. */
  constructor(readonly code: 1 | 2, message: string) {
    super(message);
  }
}

export interface DemoOptions {
  /** Drive a running Lotse at this URL over HTTP instead of starting one. */
  against: URL | undefined;
  port: number | undefined;
  /** Simulated office time per real time: 60 = a 10-hour workday in 10 minutes. */
  speed: number;
  seed: number;
  /** Tickets a simulated workday across all Länder. */
  volume: number;
  maxOpen: number;
  maxTickets: number;
  durationMs: number | undefined;
  /** Remove the demo's keys from Redis instead of running. */
  clean: boolean;
  /** With --clean: also a prefix that does not look like a demo's. */
  force: boolean;
}

export const DEFAULTS = { speed: 60, volume: 1200, maxOpen: 2000, maxTickets: 20_000 } as const;

function parseNumber(name: string, value: string | undefined, ok: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new DemoError(2, `--${name}: ${what}, not ${value}`);
  return n;
}

/** `90`, `90s`, `10m`, `2h` → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) throw new DemoError(2, `--duration: a positive number of seconds, or with s, m or h (90s, 10m, 2h), not ${value}`);
  return Math.round(Number(m[1]) * { s: 1000, m: 60_000, h: HOUR_MS }[(m[2] ?? 's') as 's' | 'm' | 'h']);
}

export function parseDemoArgs(args: string[], seedDefault: () => number = Date.now): DemoOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        against: { type: 'string' }, port: { type: 'string' }, speed: { type: 'string' }, seed: { type: 'string' }, volume: { type: 'string' },
        'max-open': { type: 'string' }, 'max-tickets': { type: 'string' }, duration: { type: 'string' },
        clean: { type: 'boolean' }, force: { type: 'boolean' },
      },
      // --clean and --force are booleans, read apart below; every other option is a string.
    }) as unknown as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new DemoError(2, `${(err as Error).message}\n\nusage: ${DEMO_USAGE}`);
  }
  const clean = (values.clean as unknown) === true;
  const force = (values.force as unknown) === true;
  if (force && !clean) throw new DemoError(2, '--force: only with --clean');
  if (clean) {
    const others = Object.keys(values).filter((k) => k !== 'clean' && k !== 'force' && values[k] !== undefined);
    if (others.length > 0) throw new DemoError(2, `--clean: takes only --force, not ${others.map((k) => `--${k}`).join(', ')}`);
  }
  let against: URL | undefined;
  if (values.against !== undefined) {
    try {
      against = new URL(values.against);
    } catch {
      throw new DemoError(2, `--against: not a URL: ${values.against}`);
    }
    if (against.protocol !== 'http:' && against.protocol !== 'https:') throw new DemoError(2, `--against: not an http(s) URL: ${values.against}`);
  }
  const port = parseNumber('port', values.port, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port 0..65535');
  if (against && port !== undefined) throw new DemoError(2, '--port: only without --against (the running Lotse has its own port)');
  const positiveInt = (n: number) => Number.isInteger(n) && n >= 1;
  return {
    against,
    port,
    speed: parseNumber('speed', values.speed, (n) => n > 0 && n <= 100_000, 'a number above 0 and at most 100000') ?? DEFAULTS.speed,
    seed: parseNumber('seed', values.seed, Number.isInteger, 'an integer') ?? seedDefault(),
    volume: parseNumber('volume', values.volume, positiveInt, 'a whole number of tickets a workday, at least 1') ?? DEFAULTS.volume,
    maxOpen: parseNumber('max-open', values['max-open'], positiveInt, 'a whole number, at least 1') ?? DEFAULTS.maxOpen,
    maxTickets: parseNumber('max-tickets', values['max-tickets'], positiveInt, 'a whole number, at least 1') ?? DEFAULTS.maxTickets,
    durationMs: values.duration === undefined ? undefined : parseDuration(values.duration),
    clean,
    force,
  };
}

const DemoKeysSchema = z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/i, 'an organisation id'), z.string().min(1).max(500));

/** LOTSE_DEMO_KEYS: `{"desk-HB": "<key>", "ops-bremen": "<key>", …}`: the key each simulated organisation calls with. */
export function parseDemoKeys(raw: string | undefined): Map<string, string> {
  if (raw === undefined || raw.trim() === '') return new Map();
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new DemoError(2, 'LOTSE_DEMO_KEYS: not JSON; give an object of organisation id → API key');
  }
  const parsed = DemoKeysSchema.safeParse(json);
  if (!parsed.success) {
    throw new DemoError(2, `LOTSE_DEMO_KEYS: ${parsed.error.issues.map((i) => `${['LOTSE_DEMO_KEYS', ...i.path].join('.')}: ${i.message}`).join('; ')}`);
  }
  return new Map(Object.entries(parsed.data));
}

/** `10 min` for a 10-hour workday at speed 60. */
export function formatWorkday(speed: number): string {
  const ms = (OFFICE_HOURS * HOUR_MS) / speed;
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < HOUR_MS) return `${Math.round(ms / 60_000)} min`;
  const h = Math.floor(ms / HOUR_MS);
  const min = Math.round((ms - h * HOUR_MS) / 60_000);
  return min === 0 ? `${h} h` : `${h} h ${min} min`;
}
