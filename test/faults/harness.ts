import { appendFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { expect, inject } from 'vitest';
import { waitFor } from '../helpers/harness.js';
import { BREACH_GRACE_MS, checkBreaches, type BreachTimeline } from './breach-check.js';

/**
 * The fault suite's own record, kept in the test process and never in
 * Redis: every ticket and event Lotse acknowledged (a 2xx answer, or a job
 * seen completed). After the faults, `reconcile` holds Redis and the API
 * against it and counts what went wrong; every count must be zero.
 */
export interface AckedTicket {
  ref: string;
  orgId: string;
  id: string;
  via: 'http' | 'queue';
  /** The answer was a replay (200): the ticket existed already, a retry found it. */
  replayed: boolean;
}

export interface AckedEvent {
  ticketId: string;
  orgId: string;
  type: string;
  /** The version the event made; unknown when the answer was an idempotent replay. */
  version: number | undefined;
  /** When the acknowledgement arrived (ms since epoch). */
  at?: number;
}

export class Ledger {
  readonly tickets = new Map<string, AckedTicket & { at: number }>();
  readonly events: (AckedEvent & { at: number })[] = [];
  /** Events sent (acknowledged or not) per ticket, type and sender: a ticket may show at most this many. */
  readonly sentCounts = new Map<string, number>();

  ackTicket(t: AckedTicket): void {
    const known = this.tickets.get(t.ref);
    if (known && known.id !== t.id) throw new Error(`two tickets acknowledged for ${t.ref}: ${known.id} and ${t.id}`);
    this.tickets.set(t.ref, { ...t, at: Date.now() });
  }
  ackEvent(e: AckedEvent): void {
    this.events.push({ ...e, at: Date.now() });
  }
  sent(e: { ticketId: string; orgId: string; type: string }): void {
    const k = `${e.ticketId} ${e.orgId} ${e.type}`;
    this.sentCounts.set(k, (this.sentCounts.get(k) ?? 0) + 1);
  }
}

export interface Counts {
  scenario: string;
  tickets: number;
  events: number;
  lostTickets: number;
  lostEvents: number;
  duplicateTickets: number;
  /** Events applied more often than they were sent (per ticket, type and sender). */
  repeatedEvents: number;
  duplicateHandoffs: number;
  lostHandoffs: number;
  duplicateStreamEvents: number;
  lostStreamEvents: number;
  duplicateNotifications: number;
  duplicateSuggestions: number;
  unexplainedStates: number;
  missedBreaches: number;
  repeatedBreaches: number;
  breaches: number;
}

interface HistoryEntry { version: number; type: string; actor: { orgId?: string; system?: true }; from: string | null; to: string; level: number | null; assignee: string | null }
interface TicketView { id: string; externalRef: string; version: number; state: string; level: number | null; assignee: string | null; createdBy: string }

const OPERATOR = { authorization: 'Bearer dev-ops-bremen' };

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, { headers: OPERATOR, signal: AbortSignal.timeout(10_000) });
      if (res.status >= 500 && attempt < 5) throw new Error(`status ${res.status}`);
      return { status: res.status, body: (await res.json()) as T };
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Runs `fn` over `items`, `n` at a time. */
async function eachLimited<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/**
 * Waits until Lotse has caught up after the faults: the outbox drained, no
 * job waiting or running on intake and events, no timer due and not yet
 * fired, no running SLA clock overdue. Bounded; resolves with whether it did.
 */
export async function waitForQuiet(o: { redis: Redis; prefix: string; timeoutMs?: number }): Promise<void> {
  const p = o.prefix;
  await waitFor(async () => {
    const [outbox, intakeWait, intakeActive, eventsWait, eventsActive, slaWait, slaActive, slaDue] = await Promise.all([
      o.redis.xlen(`${p}:outbox`),
      o.redis.llen(`${p}:intake:wait`), o.redis.llen(`${p}:intake:active`),
      o.redis.llen(`${p}:events:wait`), o.redis.llen(`${p}:events:active`),
      o.redis.llen(`${p}:sla:wait`), o.redis.llen(`${p}:sla:active`),
      // BullMQ scores delayed jobs by timestamp * 4096 (+ a counter).
      o.redis.zcount(`${p}:sla:delayed`, 0, (Date.now() - 3000) * 4096),
    ]);
    return outbox + intakeWait + intakeActive + eventsWait + eventsActive + slaWait + slaActive + slaDue === 0;
  }, { timeoutMs: o.timeoutMs ?? 180_000, intervalMs: 500, what: 'Lotse to catch up (outbox, intake, events, due timers)' });
}

/** Counts every kind of loss, repetition and inconsistency against the ledger. */
export async function reconcile(o: {
  scenario: string;
  ledger: Ledger;
  redis: Redis;
  prefix: string;
  url: string;
  /** A breach is missed when its clock ran on (or stopped) this long past due without one (default BREACH_GRACE_MS). */
  breachGraceMs?: number;
  /** Only acknowledgements before this time must have survived (a Redis that keeps the last second only). */
  ackedBefore?: number;
}): Promise<Counts & { lostRefs: string[]; lostEventAt: number[] }> {
  const { ledger, redis, prefix: p, url } = o;
  const grace = o.breachGraceMs ?? BREACH_GRACE_MS;
  const counts: Counts = {
    scenario: o.scenario, tickets: 0, events: 0, lostTickets: 0, lostEvents: 0, duplicateTickets: 0, repeatedEvents: 0,
    duplicateHandoffs: 0, lostHandoffs: 0, duplicateStreamEvents: 0, lostStreamEvents: 0, duplicateNotifications: 0,
    duplicateSuggestions: 0, unexplainedStates: 0, missedBreaches: 0, repeatedBreaches: 0, breaches: 0,
  };
  const lostRefs: string[] = [];
  const lostEventAt: number[] = [];
  const missed: Record<string, unknown>[] = [];
  const ids = await redis.zrange(`${p}:ix:all`, 0, -1);
  counts.tickets = ids.length;

  // Every ticket through the API, its history from Redis, its SLA timeline through the API.
  const views = new Map<string, TicketView>();
  const histories = new Map<string, HistoryEntry[]>();
  const byRef = new Map<string, string[]>();
  const now = Date.now();
  await eachLimited(ids, 12, async (id) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { status, body: view } = await getJson<TicketView>(`${url}/v1/tickets/${id}`);
      if (status !== 200) throw new Error(`GET ${id}: ${status}`);
      const history = (await redis.lrange(`${p}:t:${id}:h`, 0, -1)).map((e) => JSON.parse(e) as HistoryEntry);
      // A timer may fire between the two reads: read again until they agree on the version.
      if (history.length !== view.version && attempt < 2) continue;
      views.set(id, view);
      histories.set(id, history);
      const key = `${view.createdBy} ${view.externalRef}`;
      byRef.set(key, [...(byRef.get(key) ?? []), id]);
      if (!explains(history, view)) counts.unexplainedStates++;
      const sla = (await getJson<BreachTimeline>(`${url}/v1/tickets/${id}/sla`)).body;
      const found = checkBreaches(history.map((h) => h.type), sla, now, grace);
      counts.breaches += found.breaches;
      counts.repeatedBreaches += found.repeated;
      counts.missedBreaches += found.missed.length;
      missed.push(...found.missed.map((m) => ({ ticketId: id, ...m })));
      return;
    }
  });
  counts.duplicateTickets = [...byRef.values()].filter((list) => list.length > 1).length;

  // Acknowledged tickets and events.
  const cutoff = o.ackedBefore ?? Infinity;
  for (const t of ledger.tickets.values()) {
    if (t.at > cutoff) continue;
    if (!views.has(t.id)) {
      counts.lostTickets++;
      lostRefs.push(t.ref);
    }
  }
  for (const e of ledger.events) {
    if (e.at > cutoff) continue;
    counts.events++;
    const history = histories.get(e.ticketId) ?? [];
    const found = e.version === undefined
      ? history.some((h) => h.type === e.type && h.actor.orgId === e.orgId)
      : history.some((h) => h.version === e.version && h.type === e.type);
    if (!found) {
      counts.lostEvents++;
      lostEventAt.push(e.at);
    }
  }
  const applied = new Map<string, number>();
  for (const [id, history] of histories) {
    for (const h of history) {
      if (!h.actor.orgId || h.type === 'CREATED') continue;
      const k = `${id} ${h.actor.orgId} ${h.type}`;
      applied.set(k, (applied.get(k) ?? 0) + 1);
    }
  }
  for (const [k, n] of applied) if (n > (ledger.sentCounts.get(k) ?? 0)) counts.repeatedEvents++;

  // Stream events: one per ticket version, each once; notifications once each.
  const stream = await redis.xrange(`${p}:events`, '-', '+');
  const perId = new Map<string, number>();
  for (const [, fields] of stream) perId.set(fields[1]!, (perId.get(fields[1]!) ?? 0) + 1);
  for (const [id, n] of perId) {
    if (n <= 1) continue;
    if (id.endsWith('-notify')) counts.duplicateNotifications++;
    else counts.duplicateStreamEvents++;
  }
  for (const [id, history] of histories) for (const h of history) if (!perId.has(`${id}-v${h.version}`)) counts.lostStreamEvents++;

  // Handoff jobs: once per event id, and one for every handoff the history shows.
  const handoffs = new Map<string, number>();
  const queues = [...new Set((await redis.keys(`${p}:handoff-*`)).map((k) => k.slice(p.length + 1).split(':')[0]!))];
  const connection = { host: redis.options.host, port: redis.options.port };
  for (const name of queues) {
    const q = new Queue(name, { connection, prefix: p });
    try {
      for (const job of await q.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'])) {
        const eventId = (job.data as { id: string }).id;
        handoffs.set(eventId, (handoffs.get(eventId) ?? 0) + 1);
      }
    } finally {
      await q.close();
    }
  }
  counts.duplicateHandoffs = [...handoffs.values()].filter((n) => n > 1).length;
  for (const [id, history] of histories) {
    for (const h of history) {
      // An entry that moved the ticket into handoffPending at a provider asked for a handoff.
      const entered = h.to.endsWith('.handoffPending') && h.from !== h.to;
      if (entered && h.assignee && !handoffs.has(`${id}-v${h.version}-handoff-${h.assignee}`)) counts.lostHandoffs++;
    }
  }

  // Backlog suggestions: one job per SUGGEST_IMPROVEMENT.
  const backlog = new Queue('backlog', { connection, prefix: p });
  try {
    const perSuggestion = new Map<string, number>();
    for (const job of await backlog.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'])) {
      perSuggestion.set(job.id!, (perSuggestion.get(job.id!) ?? 0) + 1);
    }
    const suggested = [...histories].flatMap(([id, h]) => h.filter((e) => e.type === 'SUGGEST_IMPROVEMENT').map((e) => `${id}-v${e.version}-suggest`));
    counts.duplicateSuggestions = [...perSuggestion.values()].filter((n) => n > 1).length + suggested.filter((s) => !perSuggestion.has(s)).length;
  } finally {
    await backlog.close();
  }
  if (missed.length > 0) {
    console.log(`missed breaches: ${JSON.stringify(missed.slice(0, 20))}`);
    // What the first few tickets went through, and where their timer jobs are: enough to tell a late timer from a lost one.
    for (const m of missed.slice(0, 5)) {
      const id = String(m.ticketId);
      const steps = (histories.get(id) ?? []).map((h) => `${new Date((h as unknown as { at: number }).at).toISOString().slice(11, 23)} ${h.type} ${h.to}`);
      const jobs = (await redis.keys(`${p}:sla:timer-${id}-*`)).filter((k) => k.split(':').length === 3);
      const states = await Promise.all(jobs.map(async (k) => `${k.split(':')[2]} ${JSON.stringify(await redis.hmget(k, 'processedOn', 'finishedOn', 'failedReason', 'stc', 'atm', 'delay', 'timestamp'))}`));
      console.log(`missed ${id}:\n  ${steps.join('\n  ')}\n  timer jobs: ${states.join('; ') || 'none kept'}`);
    }
  }
  return { ...counts, lostRefs, lostEventAt };
}

/** Whether the history's chain of states leads, version by version, to the ticket as it is. */
export function explains(history: HistoryEntry[], view: TicketView): boolean {
  if (history.length !== view.version || history.length === 0) return false;
  if (history[0]!.from !== null || history[0]!.type !== 'CREATED') return false;
  for (let i = 0; i < history.length; i++) {
    if (history[i]!.version !== i + 1) return false;
    if (i > 0 && history[i]!.from !== history[i - 1]!.to) return false;
  }
  const last = history.at(-1)!;
  return last.to === view.state && last.level === view.level && (view.level === null || last.assignee === view.assignee);
}

export const ZERO_KEYS = [
  'lostTickets', 'lostEvents', 'duplicateTickets', 'repeatedEvents', 'duplicateHandoffs', 'lostHandoffs', 'duplicateStreamEvents',
  'lostStreamEvents', 'duplicateNotifications', 'duplicateSuggestions', 'unexplainedStates', 'missedBreaches', 'repeatedBreaches',
] as const satisfies readonly (keyof Counts)[];

/** Writes a scenario's counts for the table printed at the end of the suite (and to the test's own output). */
export function report(counts: Counts, extra: Record<string, unknown> = {}): void {
  const row = { ...Object.fromEntries(Object.entries(counts).filter(([k]) => k in emptyRow())), ...extra };
  console.log(`fault counts ${JSON.stringify(row)}`);
  const file = inject('faultsReport');
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

const emptyRow = (): Record<keyof Counts, 0> => Object.fromEntries(['scenario', 'tickets', 'events', 'breaches', ...ZERO_KEYS].map((k) => [k, 0])) as Record<keyof Counts, 0>;

/** Every count that must be zero, asserted one by one so a failure names it. */
export function expectAllZero(counts: Counts, except: readonly (keyof Counts)[] = []): void {
  for (const key of ZERO_KEYS) if (!except.includes(key)) expect(counts[key], `${counts.scenario}: ${key}`).toBe(0);
}

/** The fault scenarios' load: LOTSE_FAULTS_TICKETS (CI 1000; the documented full run 5000). */
export const faultTickets = (fallback = 1000) => Number(process.env.LOTSE_FAULTS_TICKETS ?? fallback);
export const faultSeed = () => Number(process.env.LOTSE_FAULTS_SEED ?? Date.now() % 100_000);
