import type { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Topology } from '../domain/topology.js';
import type { AppliedEvent } from '../engine/ticket/index.js';
import type { MetricFiguresReader } from '../store/metric-figures.js';
import type { ConnectorHealth } from '../store/connector-store.js';
import { mergeExpositions } from './exposition.js';
import { counts, labelSetsOf, lotseQueueNames, parseCreatedField, parseEventField, parseSlaField } from './labels.js';
import { receiptLatency } from './receipt.js';

export interface MetricsDeps {
  topology: Topology;
  /** The scrape's figures from Redis (src/store/metric-figures.ts). */
  readFigures: MetricFiguresReader;
  /** A Lotse queue by name, for BullMQ's own metrics. */
  queue(name: string): Pick<Queue, 'exportPrometheusMetrics'>;
  /** More figures read at scrape time, as exposition text (the mail room's health: workers/mail-room.ts). */
  extra?: () => Promise<string>;
  /** Each organisation's connector health (src/store/connector-store.ts), read at scrape time. */
  connectorHealth?: () => Promise<ConnectorHealth[]>;
}

/** Seconds from a handoff to its receipt: receipt deadlines run from minutes to a business day or two. */
const RECEIPT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 172_800, 259_200];

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
  const { topology } = deps;
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
  const replaced = new Counter({
    name: 'lotse_worker_replacements_total',
    help: 'BullMQ workers of this process that stopped taking jobs and were replaced by their watchdog (workers/worker-kit.ts), by queue',
    labelNames: ['queue'],
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
  const deadLetters = new Gauge({ name: 'lotse_webhook_dead_letters', help: 'Webhook deliveries that failed for good and await a replay, by organisation (mail and connector dead letters are counted in their own families)', labelNames: ['org'], registers: on });
  const mailDeadLetters = new Gauge({ name: 'lotse_mail_dead_letters', help: 'Mails that failed for good and await a replay, by organisation', labelNames: ['org'], registers: on });
  const cxDeadLetters = new Gauge({ name: 'lotse_connector_dead_letters', help: 'Changes for the organisation\'s ticket system that failed for good and await a replay, by organisation', labelNames: ['org'], registers: on });
  const outboxDead = new Gauge({ name: 'lotse_outbox_dead_entries', help: 'Outbox entries parked after too many failed deliveries, for a person to look at', registers: on });
  const outboxEntries = new Gauge({ name: 'lotse_outbox_entries', help: 'Committed outbox entries whose effects are not carried out yet', registers: on });
  const outboxPending = new Gauge({ name: 'lotse_outbox_pending_entries', help: 'Outbox entries delivered to a relay and not finished (the relay group\'s pending list)', registers: on });
  const outboxUndelivered = new Gauge({ name: 'lotse_outbox_undelivered_entries', help: 'Outbox entries no relay has read yet', registers: on });
  const outboxAge = new Gauge({ name: 'lotse_outbox_oldest_age_seconds', help: 'Age of the oldest outbox entry not yet finished (0 when none waits)', registers: on });

  const cxLastSuccess = new Gauge({ name: 'lotse_connector_last_success_timestamp_seconds', help: 'When a call to the organisation\'s ticket system last succeeded (0: never)', labelNames: ['org'], registers: on });
  const cxQueued = new Gauge({ name: 'lotse_connector_queued', help: 'Changes committed for the organisation\'s ticket system and not yet carried there', labelNames: ['org'], registers: on });
  const cxFailing = new Gauge({ name: 'lotse_connector_failing', help: 'Calls to the organisation\'s ticket system failed in a row since its last success (0: healthy)', labelNames: ['org'], registers: on });
  const cxChanges = new Counter({ name: 'lotse_connector_changes_total', help: 'Remote changes read on the organisation\'s tickets, by outcome (applied, echo: Lotse\'s own, unmapped: a status without mapping, kept as a note; ignored)', labelNames: ['org', 'outcome'], registers: on });
  const cxUnmappedOut = new Counter({ name: 'lotse_connector_unmapped_out_total', help: 'Lotse statuses sent without a mapping to the organisation\'s ticket system (shown in its comment, its status left)', labelNames: ['org'], registers: on });

  const levels = [...sets.levels];
  const statuses = [...sets.statuses];
  const orgs = [...sets.handoffOrgs];
  const mailOrgs = [...topology.orgs.values()].filter((o) => o.mail).map((o) => o.id);
  const connectorOrgs = [...topology.orgs.values()].filter((o) => o.connector).map((o) => o.id);

  /** Every figure of the scrape, read from Redis in one round trip. */
  async function readRedis(now: number) {
    // The commit's read-model counters (hash increments in the same Lua step as each change), so every process reads the same figures.
    const f = await deps.readFigures({ levels, statuses, orgs, mailOrgs, connectorOrgs });
    setCounter(created, counts(f.created).flatMap(([field, n]) => withLabels(parseCreatedField(field, sets), n)));
    setCounter(events, counts(f.events).flatMap(([field, n]) => withLabels(parseEventField(field, sets), n)));
    const sla = counts(f.sla).flatMap(([field, n]) => withLabels(parseSlaField(field, sets), n));
    setCounter(warnings, sla.filter(([l]) => l.kind === 'warning').map(([{ clock, priority }, n]) => [{ clock, priority }, n]));
    setCounter(breaches, sla.filter(([l]) => l.kind === 'breach').map(([{ clock, priority }, n]) => [{ clock, priority }, n]));
    levels.forEach((level, i) => openByLevel.set({ level }, f.levels[i]!));
    statuses.forEach((status, i) => byStatus.set({ status }, f.statuses[i]!));
    // Each dead letter counted once, in its channel's family: the organisation's index holds all, the channel indexes mail's and the connectors'.
    const other = new Map<string, number>();
    mailOrgs.forEach((org, i) => {
      mailDeadLetters.set({ org }, f.mailDeadLetters[i]!);
      other.set(org, (other.get(org) ?? 0) + f.mailDeadLetters[i]!);
    });
    connectorOrgs.forEach((org, i) => {
      cxDeadLetters.set({ org }, f.connectorDeadLetters[i]!);
      other.set(org, (other.get(org) ?? 0) + f.connectorDeadLetters[i]!);
    });
    orgs.forEach((org, i) => deadLetters.set({ org }, Math.max(0, f.deadLetters[i]! - (other.get(org) ?? 0))));
    outboxDead.set(f.outboxDead);
    const entries = f.outboxEntries;
    const pending = f.relay?.pending ?? 0;
    // `lag` is reported from Redis 7 on; before, what is in the stream and not pending has not been read.
    const lag = f.relay?.lag ?? Math.max(0, entries - pending);
    outboxEntries.set(entries);
    outboxPending.set(pending);
    outboxUndelivered.set(f.relay ? lag : entries);
    // Finished entries are deleted, so the stream's first entry is the oldest unfinished one; its id is its time.
    if (deps.connectorHealth) {
      const health = await deps.connectorHealth();
      cxChanges.reset();
      cxUnmappedOut.reset();
      for (const h of health) {
        cxLastSuccess.set({ org: h.orgId }, h.lastSuccessAt ? Date.parse(h.lastSuccessAt) / 1000 : 0);
        cxQueued.set({ org: h.orgId }, h.queued);
        cxFailing.set({ org: h.orgId }, h.failing);
        for (const [outcome, n] of [['applied', h.applied], ['echo', h.echoes], ['unmapped', h.unmappedIn], ['ignored', h.ignored]] as const) cxChanges.inc({ org: h.orgId, outcome }, n);
        cxUnmappedOut.inc({ org: h.orgId }, h.unmappedOut);
      }
    }
    const first = f.oldestOutboxId;
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
    /** A worker's watchdog replaced a wedged worker of this queue. */
    workerReplaced(queue: string): void {
      replaced.inc({ queue });
    },
    contentType: own.contentType,
    /** The exposition text; `shared` adds the figures read from Redis and BullMQ. */
    async render(opts: { shared: boolean }): Promise<string> {
      if (opts.shared) await readRedis(Date.now());
      const texts = await Promise.all([processMetrics().metrics(), own.metrics(), ...(opts.shared ? [shared.metrics(), queueMetrics(), ...(deps.extra ? [deps.extra()] : [])] : [])]);
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
