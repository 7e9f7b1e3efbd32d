import type { Logger } from 'pino';
import { failpoint } from '../src/failpoints.js';
import { fieldsOf, type OutboxEntry, type RelayOutbox } from '../src/store/outbox.js';
import { createStreamConsumerLoop } from './worker-kit.js';

/** What the relay reads of a committed effect: its kind, and for a publish the CloudEvent it carries. */
interface OutboxEffect {
  kind: string;
  event?: { id: string; subject: string };
}

/**
 * One runner per effect kind but `publish` (the engine's executors): each
 * runs a batch of effects of its kind in commit order, idempotently by each
 * effect's id.
 */
export type EffectRunners = Readonly<Record<string, (effects: never[]) => Promise<void>>>;

export interface RelayOptions {
  /** The outbox as this relay sees it (src/store/outbox.ts, createRelayOutbox). */
  outbox: RelayOutbox;
  executors: EffectRunners;
  logger: Logger;
  /** An entry pending this long with a silent consumer is taken over. */
  claimIdleMs?: number;
  /** A consumer of the group idle this long with nothing pending belongs to a relay that is gone: it is deleted. */
  goneIdleMs?: number;
  /** After this many deliveries an entry is parked in the dead outbox. */
  maxDeliveries?: number;
  blockMs?: number;
  batch?: number;
}

/** Kinds run one after the other: a timer is armed before it is moved, and cancelled last, so one armed, moved and cancelled within a batch ends cancelled. */
const rank = (kind: string) => (kind === 'timer.arm' ? 0 : kind === 'timer.move' ? 1 : kind === 'timer.cancel' ? 3 : 2);

/**
 * `relay`: reads committed effects from the outbox stream through a consumer
 * group, runs each through its executor, then publishes the stream events
 * and removes the entry in one atomic step. A relay that dies leaves its
 * entries pending; another (or itself, restarted) claims them after
 * `claimIdleMs` and runs them again, which repeats nothing because every
 * effect is idempotent by its id.
 */
export function createOutboxRelay(o: RelayOptions) {
  const claimIdleMs = o.claimIdleMs ?? 15_000;
  const maxDeliveries = o.maxDeliveries ?? 10;
  const blockMs = o.blockMs ?? 1000;
  const batch = o.batch ?? 100;
  const goneIdleMs = o.goneIdleMs ?? Math.max(10 * 60_000, 4 * claimIdleMs);
  const { outbox, logger } = o;

  /** Parks an entry that failed too often, so it stops blocking nothing and is kept for a person to look at. */
  async function park(entryId: string, fields: string[], deliveries: number) {
    logger.error({ entryId, ticketId: fieldsOf(fields).t, deliveries }, 'outbox entry failed too often; parked in the dead outbox');
    await outbox.park(entryId, fields);
  }

  /**
   * One batch: every effect kind runs once over the batch's effects of that
   * kind (in commit order), then one atomic step publishes and removes them
   * all. A failure leaves the whole batch pending; running it again repeats
   * nothing, since every effect is idempotent by its id.
   */
  async function runBatch(entries: OutboxEntry[], deliveries: Map<string, number>) {
    const live: { id: string; effects: OutboxEffect[] }[] = [];
    for (const [entryId, fields] of entries) {
      if (!fields) continue; // deleted meanwhile
      const count = deliveries.get(entryId) ?? 1;
      if (count > maxDeliveries) await park(entryId, fields, count);
      else live.push({ id: entryId, effects: JSON.parse(fieldsOf(fields).fx ?? '[]') as OutboxEffect[] });
    }
    if (live.length === 0) return;
    const byKind = new Map<string, OutboxEffect[]>();
    for (const entry of live) {
      for (const effect of entry.effects) {
        if (effect.kind === 'publish') continue;
        const list = byKind.get(effect.kind);
        if (list) list.push(effect);
        else byKind.set(effect.kind, [effect]);
      }
    }
    try {
      const kinds = [...byKind.keys()].sort((a, b) => rank(a) - rank(b));
      for (const kind of kinds) await o.executors[kind]!(byKind.get(kind)! as never[]);
      failpoint('relay-before-finish');
      await outbox.finish(live.map((entry) => ({
        id: entry.id,
        events: entry.effects.flatMap((e) => (e.kind === 'publish' && e.event ? [{ id: e.event.id, subject: e.event.subject, json: JSON.stringify(e.event) }] : [])),
      })));
    } catch (err) {
      logger.warn({ err, entries: live.length }, 'outbox batch failed; it stays pending and is retried');
    }
  }

  /** Consumers of relays that are gone (idle past the bound, nothing pending) leave the group. */
  async function dropGoneConsumers(): Promise<void> {
    for (const consumer of await outbox.removeGoneConsumers(goneIdleMs)) logger.info({ consumer }, 'removed the consumer of a relay that is gone');
  }

  /** Entries whose consumer went silent, with how often each was delivered. */
  async function claimStale(): Promise<void> {
    const { entries, deliveries } = await outbox.claimStale(claimIdleMs, batch);
    if (entries.length === 0) return;
    logger.info({ count: entries.length }, 'claimed outbox entries of a silent relay');
    await runBatch(entries, deliveries);
  }

  const loop = createStreamConsumerLoop({
    ensureGroup: () => outbox.ensureGroup(),
    claimStale,
    dropGoneConsumers,
    readNew: async () => {
      const entries = await outbox.waitForNew(batch, blockMs);
      if (entries.length > 0) await runBatch(entries, new Map());
    },
    interrupt: () => outbox.interrupt(),
  }, { claimIdleMs, logger, what: 'outbox relay' });

  return {
    start: loop.start,
    stop: loop.stop,
    /** Runs one pass without blocking: for tests and tools. */
    async drain() {
      await outbox.ensureGroup();
      await claimStale();
      await dropGoneConsumers();
      const entries = await outbox.readNew(batch);
      if (entries.length > 0) await runBatch(entries, new Map());
    },
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
