import type { Logger } from 'pino';
import { handsOffTo } from '../src/domain/routing.js';
import type { Topology } from '../src/domain/topology.js';
import type { TicketEngine as Engine } from '../src/engine/ticket/index.js';
import { AppError } from '../src/errors.js';
import type { JobPresence } from '../src/queue/job-presence.js';
import { handoffQueueName, QUEUE } from '../src/queue/names.js';
import type { Queues } from '../src/queue/queues.js';
import type { RetentionScan } from '../src/store/retention-scan.js';
import { replayJobId, webhookJobId } from '../src/webhooks/delivery.js';
import type { ConnectorStore } from '../src/store/connector-store.js';

/**
 * The retention worker's two tasks. The sweep erases closed tickets past
 * `retention.closedTicketDays` through the engine (one audited commit each).
 * The purge then removes what of an erased ticket lies outside the ticket:
 * its jobs on every queue (the intake job, handoff and webhook jobs, mail
 * and connector jobs and their replays), dead letters and replay counts, parked outbox entries, the
 * recurring-problem observation and its events on the stream.
 *
 * A ticket is purged only once the outbox holds no entry of it any more:
 * then every effect committed before the erasure has run (its jobs exist,
 * its stream events are published) and nothing of it can come back later.
 */

const DAY_MS = 86_400_000;
/** Tickets erased per sweep batch, and at most per sweep run (the next run goes on). */
export const SWEEP_BATCH = 100;
export const SWEEP_BUDGET = 2_000;
/** Erased tickets purged per pass. */
const PURGE_BATCH = 200;
/** The outbox is scanned for an erased ticket's entries only up to this length; beyond, the relay is behind and the purge waits. */
const OUTBOX_SCAN_MAX = 10_000;
/**
 * How far the stream's entry times (Redis's clock, at publishing) may lie
 * from the ticket's own times (Lotse's clock, at committing): clock skew plus
 * relay lag. A ticket whose last change lies further before the stream's
 * oldest entry has nothing left there (MAXLEN trimmed it), so old tickets
 * cost no stream scan.
 */
const STREAM_SLACK_MS = DAY_MS;
const HANDOFF_SUFFIXES = ['handoff', 'updated', 'withdrawn'] as const;

/** What the purge reads of an erased ticket: where it came from, who handled it, when it was created. */
export interface ErasedTicket {
  origin?: { j?: string | undefined } | null | undefined;
  state: { context: { handledBy: readonly string[]; createdAt: number } };
}

export interface RetentionDeps {
  /** Redis as the retention worker needs it (src/store/retention-scan.ts). */
  scan: RetentionScan;
  /** Which jobs are still on their queues (src/queue/job-presence.ts). */
  jobsPresent: JobPresence;
  queues: Pick<Queues, 'queue'>;
  /** Erasure goes through the engine's amend path; the last change's time comes from the ticket's history. */
  engine: Pick<Engine, 'eraseTicket' | 'historyEntry'>;
  /** The ticket as it lies now (erased: only what the purge reads is left of interest). */
  loadTicket(id: string): Promise<ErasedTicket | null>;
  topology: Topology;
  now: () => number;
  logger: Logger;
  /** The correlation of organisations with a connector (src/store/connector-store.ts): an erased ticket leaves it. */
  connectors?: Pick<ConnectorStore, 'unlink'>;
}

export interface PurgeResult {
  purged: string[];
  /** Erased tickets still waiting: an outbox entry of theirs not yet relayed, or a job of theirs running. */
  waiting: string[];
  jobs: number;
  streamEvents: number;
  deadLetters: number;
}

type Pending = { id: string; version: number; ticket: ErasedTicket | null };
type Candidate = { queue: string; jobId: string; eventId?: string };

/** The version in an event id `<ticket>-v<n>[-…]`. */
export const versionOf = (eventId: string, ticketId: string) => Number(/^-v(\d+)/.exec(eventId.slice(ticketId.length))?.[1] ?? NaN);

/** Every handoff effect (and event) id the ticket can have had for the organisation before its erasure: `<ticket>-v<n>-<handoff|updated|withdrawn>-<org>`. */
export function handoffEffectIds(p: Pick<Pending, 'id' | 'version'>, org: string): string[] {
  const out: string[] = [];
  for (let v = 1; v < p.version; v++) for (const suffix of HANDOFF_SUFFIXES) out.push(`${p.id}-v${v}-${suffix}-${org}`);
  return out;
}

/** Every job id an erased ticket can have left on a queue, with the event it carries. */
export function purgeCandidates(topology: Topology, p: Pending): Candidate[] {
  const out: Candidate[] = [];
  const origin = p.ticket?.origin;
  if (origin?.j) out.push({ queue: QUEUE.intake, jobId: origin.j });
  const orgs = (p.ticket?.state.context.handledBy ?? []).filter((org) => handsOffTo(topology, org));
  for (const org of orgs) {
    for (const eventId of handoffEffectIds(p, org)) {
      out.push({ queue: handoffQueueName(org), jobId: eventId, eventId }, { queue: QUEUE.webhook, jobId: webhookJobId(eventId), eventId });
      // An organisation with a connector: its job and dead letter `cx-<event id>` (docs/reference/connectors.md).
      if (topology.orgs.get(org)?.connector) out.push({ queue: QUEUE.connector, jobId: `cx-${eventId}`, eventId: `cx-${eventId}` });
      // An organisation that works by e-mail: its mail job and dead letter `mail-<event id>` (docs/reference/mail.md).
      if (topology.orgs.get(org)?.mail) out.push({ queue: QUEUE.mail, jobId: `mail-${eventId}`, eventId: `mail-${eventId}` });
    }
  }
  return out;
}

export function createRetention(d: RetentionDeps) {
  const { scan, queues, topology } = d;

  /** Erases closed tickets past the retention window, oldest first, in batches. */
  async function sweep(): Promise<{ erased: number; more: boolean }> {
    const due = d.now() - topology.config.retention.closedTicketDays * DAY_MS;
    let erased = 0;
    let seen = 0;
    while (seen < SWEEP_BUDGET) {
      const ids = await scan.closedBefore(due, SWEEP_BATCH);
      if (ids.length === 0) return { erased, more: false };
      for (const id of ids) {
        seen += 1;
        try {
          if (await d.engine.eraseTicket('system', id, 'retention')) erased += 1;
        } catch (err) {
          // A ticket gone from the store leaves only its index member behind.
          if (!(err instanceof AppError && err.code === 'TICKET_NOT_FOUND')) throw err;
          await scan.forgetClosed(id);
        }
      }
    }
    return { erased, more: true };
  }

  /** The erased tickets whose outbox entries are all relayed; null when the outbox is too long to tell (the relay is behind). */
  async function settled(pending: Pending[]): Promise<Set<string> | null> {
    if ((await scan.outboxLength()) > OUTBOX_SCAN_MAX) return null;
    const inOutbox = await scan.outboxRecordIds();
    return new Set(pending.map((p) => p.id).filter((id) => !inOutbox.has(id)));
  }

  /** Removes the jobs, replay counts and dead letters of one ticket; false when a job of it is running (try again later). */
  async function purgeOutside(p: Pending, counts: PurgeResult): Promise<boolean> {
    const found = purgeCandidates(topology, p);
    const eventIds = [...new Set(found.flatMap((c) => (c.eventId ? [c.eventId] : [])))];
    if (eventIds.length > 0) {
      const { replays, deadLetters } = await scan.purgeDeliveries(eventIds);
      replays.forEach((n, i) => {
        // A replay's job lies on its channel's queue: `cx-<event id>-r<n>` on the connector queue, `mail-<event id>-r<n>` on the mail queue, `wh-<event id>-r<n>` on the webhook queue.
        const id = eventIds[i]!;
        const queue = id.startsWith('cx-') ? QUEUE.connector : id.startsWith('mail-') ? QUEUE.mail : null;
        for (let r = 1; r <= n; r++) found.push(queue ? { queue, jobId: `${id}-r${r}` } : { queue: QUEUE.webhook, jobId: replayJobId(id, r) });
      });
      counts.deadLetters += deadLetters;
    }
    const there = await d.jobsPresent(found);
    let all = true;
    for (const [i, c] of found.entries()) {
      if (!there[i]) continue;
      if ((await queues.queue(c.queue).remove(c.jobId)) === 1) counts.jobs += 1;
      else all = false;
    }
    await scan.forgetRecurringTicket(p.id);
    // The correlation, and the ticket's changes still queued for the organisation's system (their `cx-` jobs are removed above).
    for (const org of p.ticket?.state.context.handledBy ?? []) if (topology.orgs.get(org)?.connector) await d.connectors?.unlink(org, p.id, handoffEffectIds(p, org));
    return all;
  }

  /**
   * The tickets' events on the stream before their erasure. One scan for all
   * of them, from the earliest creation (less the slack) to the end: bounded
   * by the stream's MAXLEN. Tickets whose last change is older than the
   * stream's oldest entry (by more than the slack) need none.
   */
  async function purgeStream(ready: Pending[]): Promise<number> {
    const oldest = await scan.oldestEventTime();
    if (oldest === null) return 0;
    const lastChange = await Promise.all(ready.map(async (p) => Date.parse((await d.engine.historyEntry(p.id, p.version - 1))?.at ?? '') || Infinity));
    const relevant = ready.filter((p, i) => lastChange[i]! + STREAM_SLACK_MS >= oldest);
    if (relevant.length === 0) return 0;
    const erasedAt = new Map(relevant.map((p) => [p.id, p.version]));
    const from = Math.max(oldest, Math.min(...relevant.map((p) => p.ticket?.state.context.createdAt ?? 0)) - STREAM_SLACK_MS);
    return scan.deleteEvents(from, (subject, eventId) => {
      const version = erasedAt.get(subject);
      return version !== undefined && versionOf(eventId, subject) < version;
    });
  }

  /** One pass over the erased tickets waiting for their purge. */
  async function purge(): Promise<PurgeResult> {
    const counts: PurgeResult = { purged: [], waiting: [], jobs: 0, streamEvents: 0, deadLetters: 0 };
    const waiting = await scan.erasedWaiting(PURGE_BATCH);
    if (waiting.length === 0) return counts;
    const tickets = await Promise.all(waiting.map((w) => d.loadTicket(w.id)));
    const pending: Pending[] = waiting.map((w, i) => ({ ...w, ticket: tickets[i] ?? null }));
    const calm = await settled(pending);
    const ready: Pending[] = [];
    for (const p of pending) {
      if (calm?.has(p.id) && (await purgeOutside(p, counts))) ready.push(p);
      else counts.waiting.push(p.id);
    }
    if (ready.length === 0) return counts;
    await scan.deleteParkedEntries(new Set(ready.map((p) => p.id)));
    counts.streamEvents = await purgeStream(ready);
    for (const p of ready) await scan.finishErasure(p.id, p.version);
    counts.purged = ready.map((p) => p.id);
    d.logger.info({ purged: counts.purged.length, waiting: counts.waiting.length, jobs: counts.jobs, streamEvents: counts.streamEvents, deadLetters: counts.deadLetters }, 'erased tickets purged');
    return counts;
  }

  /** Whether the ticket's erasure at `version` still waits for its purge. */
  async function isPending(ticketId: string, version: number): Promise<boolean> {
    const waiting = await scan.erasureWaiting(ticketId);
    return waiting !== null && waiting <= version;
  }

  return { sweep, purge, isPending };
}

export type Retention = ReturnType<typeof createRetention>;

/**
 * The retention over partitions (LOTSE_PARTITIONS): each partition sweeps and
 * purges its own tickets (its closed and erased sets, its outbox and stream);
 * one sweep or purge job runs them all.
 */
export function partitionedRetention(parts: readonly Retention[], partitionOf: (ticketId: string) => number): Retention {
  if (parts.length === 1) return parts[0]!;
  return {
    async sweep() {
      let erased = 0;
      let more = false;
      for (const r of parts) {
        const s = await r.sweep();
        erased += s.erased;
        more ||= s.more;
      }
      return { erased, more };
    },
    async purge() {
      const all: PurgeResult = { purged: [], waiting: [], jobs: 0, streamEvents: 0, deadLetters: 0 };
      for (const r of parts) {
        const p = await r.purge();
        all.purged.push(...p.purged);
        all.waiting.push(...p.waiting);
        all.jobs += p.jobs;
        all.streamEvents += p.streamEvents;
        all.deadLetters += p.deadLetters;
      }
      return all;
    },
    isPending: (ticketId, version) => parts[partitionOf(ticketId)]!.isPending(ticketId, version),
  };
}
