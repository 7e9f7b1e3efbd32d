import type { Queue } from 'bullmq';
import type { RedisClient } from '../store/redis-client.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Topology } from '../domain/topology.js';
import type { AppliedEvent } from '../engine/ticket/index.js';
import type { Keys } from '../store/keys.js';
import { mergeExpositions } from './exposition.js';
import { counts, labelSetsOf, lotseQueueNames, parseCreatedField, parseEventField, parseSlaField } from './labels.js';
import { receiptLatency } from './receipt.js';

export interface MetricsDeps {
  topology: Topology;
  redis: RedisClient;
  keys: Keys;
  /** A Lotse queue by name, for BullMQ's own metrics. */
  queue(name: string): Queue;
}

/** Seconds from a handoff to its receipt: receipt deadlines run from minutes to a business day or two. */
const RECEIPT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 172_800, 259_200];
const RELAY_GROUP = 'relay';

let processRegistry: Registry | undefined;
/**
 * prom-client's process metrics, once per process however many runtimes it
 * holds (each collector starts a GC observer and an event-loop monitor of
 * its own); begun on the first scrape.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Lotse's Prometheus metrics. Two kinds:
 * - this process's own: process metrics and the handoff receipt latency
 *   (observed where the receipt is committed, so summed over processes);
 * - figures every process would read alike (tickets, events, SLA, dead
 *   letters, outbox lag, queues): read from Redis at scrape time, never kept
 *   per process, and exported only by processes that serve the API, so a
 *   fleet of workers does not export them many times over.
 */
export function createMetrics(deps: MetricsDeps) {
  const { topology, redis, keys } = deps;
  const sets = labelSetsOf(topology);
  const queueNames = lotseQueueNames(topology);

  const own = new Registry();
  const receipt = new Histogram({
    name: 'lotse_handoff_receipt_seconds',
    help: 'Time from a handoff to the provider\'s receipt (ACCEPT), by receiving organisation; observed by the process that applied the receipt',
    labelNames: ['org'],
    buckets: RECEIPT_BUCKETS,
    registers: [own],
  });

  const shared = new Registry();
  const on = [shared];
  const created = new Counter({ name: 'lotse_tickets_created_total', help: 'Tickets created, by Land, service and priority', labelNames: ['land', 'service', 'priority'], registers: on });
  const events = new Counter({ name: 'lotse_events_total', help: 'Ticket events committed, by type', labelNames: ['type'], registers: on });
  const warnings = new Counter({ name: 'lotse_sla_warnings_total', help: 'SLA warnings, by clock and priority', labelNames: ['clock', 'priority'], registers: on });
  const breaches = new Counter({ name: 'lotse_sla_breaches_total', help: 'SLA breaches, by clock and priority', labelNames: ['clock', 'priority'], registers: on });
  const openByLevel = new Gauge({ name: 'lotse_tickets_open', help: 'Open tickets (at a level: neither resolved nor closed), by level', labelNames: ['level'], registers: on });
  const byStatus = new Gauge({ name: 'lotse_tickets_by_status', help: 'Tickets by status (new, open, waiting and handoff-pending are the open ones)', labelNames: ['status'], registers: on });
  const deadLetters = new Gauge({ name: 'lotse_webhook_dead_letters', help: 'Webhook deliveries that failed for good and await a replay, by organisation', labelNames: ['org'], registers: on });
  const outboxDead = new Gauge({ name: 'lotse_outbox_dead_entries', help: 'Outbox entries parked after too many failed deliveries, for a person to look at', registers: on });
  const outboxEntries = new Gauge({ name: 'lotse_outbox_entries', help: 'Committed outbox entries whose effects are not carried out yet', registers: on });
  const outboxPending = new Gauge({ name: 'lotse_outbox_pending_entries', help: 'Outbox entries delivered to a relay and not finished (the relay group\'s pending list)', registers: on });
  const outboxUndelivered = new Gauge({ name: 'lotse_outbox_undelivered_entries', help: 'Outbox entries no relay has read yet', registers: on });
  const outboxAge = new Gauge({ name: 'lotse_outbox_oldest_age_seconds', help: 'Age of the oldest outbox entry not yet finished (0 when none waits)', registers: on });

  const levels = [...sets.levels];
  const statuses = [...sets.statuses];
  const orgs = [...sets.handoffOrgs];

  /** One round trip: every figure of the scrape from one pipeline. */
  async function readRedis(now: number) {
    const p = redis.pipeline();
    // The commit's read-model counters (hash increments in the same Lua step as each change), so every process reads the same figures.
    p.hgetall(keys.stats('created')).hgetall(keys.stats('events')).hgetall(keys.stats('sla'));
    for (const l of levels) p.zcard(keys.index(`level:${l}`));
    for (const s of statuses) p.zcard(keys.index(`status:${s}`));
    for (const o of orgs) p.zcard(keys.deadLetterIndex(o));
    p.xlen(keys.outboxDead).xlen(keys.outbox).xrange(keys.outbox, '-', '+', 'COUNT', 1).xinfo('GROUPS', keys.outbox);
    const results = (await p.exec()) ?? [];
    let i = 0;
    // XINFO on a stream not yet created fails with "no such key": nothing waits then. Any other error fails the scrape.
    const next = <T>(fallback?: T): T => {
      const [err, value] = results[i++] ?? [new Error('missing pipeline result'), null];
      if (err) {
        if (fallback !== undefined && /no such key/i.test(err.message)) return fallback;
        throw err;
      }
      return value as T;
    };

    setCounter(created, counts(next<Record<string, string>>()).flatMap(([f, n]) => withLabels(parseCreatedField(f, sets), n)));
    setCounter(events, counts(next<Record<string, string>>()).flatMap(([f, n]) => withLabels(parseEventField(f, sets), n)));
    const sla = counts(next<Record<string, string>>()).flatMap(([f, n]) => withLabels(parseSlaField(f, sets), n));
    setCounter(warnings, sla.filter(([l]) => l.kind === 'warning').map(([{ clock, priority }, n]) => [{ clock, priority }, n]));
    setCounter(breaches, sla.filter(([l]) => l.kind === 'breach').map(([{ clock, priority }, n]) => [{ clock, priority }, n]));
    for (const level of levels) openByLevel.set({ level }, next<number>());
    for (const status of statuses) byStatus.set({ status }, next<number>());
    for (const org of orgs) deadLetters.set({ org }, next<number>());
    outboxDead.set(next<number>());
    const entries = next<number>();
    const oldest = next<[string, string[]][]>();
    const groups = next<unknown[][]>([]);
    const relay = groups.map(pairsOf).find((g) => g.name === RELAY_GROUP);
    const pending = Number(relay?.pending ?? 0);
    // `lag` is reported from Redis 7 on; before, what is in the stream and not pending has not been read.
    const lag = relay?.lag === undefined || relay.lag === null ? Math.max(0, entries - pending) : Number(relay.lag);
    outboxEntries.set(entries);
    outboxPending.set(pending);
    outboxUndelivered.set(relay ? lag : entries);
    // Finished entries are deleted, so the stream's first entry is the oldest unfinished one; its id is its time.
    const first = oldest[0]?.[0];
    outboxAge.set(first ? Math.max(0, now - Number(first.split('-')[0])) / 1000 : 0);
  }

  /** BullMQ's own metrics of every Lotse queue, with each family's HELP and TYPE once. */
  async function queueMetrics(): Promise<string> {
    return mergeExpositions(await Promise.all(queueNames.map((name) => deps.queue(name).exportPrometheusMetrics())));
  }

  return {
    /** The engine's hook: a receipt's latency into the histogram. Never throws into the engine. */
    observeEvent(change: AppliedEvent): void {
      try {
        const r = receiptLatency(change);
        if (r && sets.handoffOrgs.has(r.org)) receipt.observe({ org: r.org }, r.seconds);
      } catch {
        // A metric must never fail a committed change.
      }
    },
    contentType: own.contentType,
    /** The exposition text; `shared` adds the figures read from Redis and BullMQ. */
    async render(opts: { shared: boolean }): Promise<string> {
      if (opts.shared) await readRedis(Date.now());
      const texts = await Promise.all([processMetrics().metrics(), own.metrics(), ...(opts.shared ? [shared.metrics(), queueMetrics()] : [])]);
      return texts.map((t) => t.trimEnd()).filter((t) => t !== '').join('\n') + '\n';
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

function withLabels<L extends object>(labels: L | null, n: number): [L, number][] {
  return labels ? [[labels, n]] : [];
}

/** A counter read from Redis: its value replaced by the stored count. */
function setCounter<T extends string>(counter: Counter<T>, values: [Partial<Record<T, string>>, number][]) {
  counter.reset();
  for (const [labels, n] of values) counter.inc(labels, n);
}

/** XINFO GROUPS answers each group as a flat list of name, value, name, value, … */
function pairsOf(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}
