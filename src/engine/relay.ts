import type { RedisClient } from '../queue/connections.js';
import type { Logger } from 'pino';
import type { Keys } from '../store/keys.js';
import { FINISH_OUTBOX } from '../store/scripts.js';
import type { Effect } from './effects.js';
import type { Executors } from './executors.js';
import { failpoint } from '../failpoints.js';

export interface RelayOptions {
  redis: RedisClient;
  keys: Keys;
  executors: Executors;
  logger: Logger;
  consumer: string;
  group?: string;
  /** An entry pending this long with a silent consumer is taken over. */
  claimIdleMs?: number;
  /** A consumer of the group idle this long with nothing pending belongs to a relay that is gone: it is deleted. */
  goneIdleMs?: number;
  /** After this many deliveries an entry is parked in the dead outbox. */
  maxDeliveries?: number;
  eventsMaxLen?: number;
  blockMs?: number;
  batch?: number;
}

type Entry = [id: string, fields: string[]];

/** Parked entries kept at most (about): the oldest go first, so a relay failing for ever cannot fill Redis. */
export const DEAD_OUTBOX_MAXLEN = 10_000;

/**
 * The outbox relay: reads committed effects from the outbox stream through a
 * consumer group, runs each through its executor, then publishes the stream
 * events and removes the entry in one atomic step. A relay that dies leaves
 * its entries pending; another (or itself, restarted) claims them after
 * `claimIdleMs` and runs them again, which repeats nothing because every
 * effect is idempotent by its id.
 */
export function createOutboxRelay(o: RelayOptions) {
  const group = o.group ?? 'relay';
  const claimIdleMs = o.claimIdleMs ?? 15_000;
  const maxDeliveries = o.maxDeliveries ?? 10;
  const eventsMaxLen = o.eventsMaxLen ?? 100_000;
  const blockMs = o.blockMs ?? 1000;
  const batch = o.batch ?? 100;
  const goneIdleMs = o.goneIdleMs ?? Math.max(10 * 60_000, 4 * claimIdleMs);
  const { redis, keys, logger } = o;
  redis.defineCommand('lotseFinishOutbox', { numberOfKeys: 2, lua: FINISH_OUTBOX });
  const finish = (redis as unknown as { lotseFinishOutbox(...a: (string | number)[]): Promise<number> }).lotseFinishOutbox.bind(redis);
  // Blocking reads get their own connection, so stopping can cut a read short without touching work in progress.
  const blocking = redis.duplicate();
  blocking.on('error', (err) => logger.warn({ err: err.message }, 'relay read connection error'));
  let running = false;
  let loop: Promise<void> | undefined;
  let lastClaim = 0;

  async function ensureGroup() {
    try {
      await redis.xgroup('CREATE', keys.outbox, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  }

  /** Parks an entry that failed too often, so it stops blocking nothing and is kept for a person to look at. */
  async function park(entryId: string, fields: string[], deliveries: number) {
    const data = Object.fromEntries(pairs(fields));
    logger.error({ entryId, ticketId: data.t, deliveries }, 'outbox entry failed too often; parked in the dead outbox');
    await redis.multi().xadd(keys.outboxDead, 'MAXLEN', '~', DEAD_OUTBOX_MAXLEN, '*', ...fields, 'entry', entryId).xack(keys.outbox, group, entryId).xdel(keys.outbox, entryId).exec();
  }

  /**
   * One batch: every effect kind runs once over the batch's effects of that
   * kind (in commit order), then one atomic step publishes and removes them
   * all. A failure leaves the whole batch pending; running it again repeats
   * nothing, since every effect is idempotent by its id.
   */
  async function runBatch(entries: Entry[], deliveries: Map<string, number>) {
    const live: { id: string; effects: Effect[] }[] = [];
    for (const [entryId, fields] of entries) {
      if (!fields) continue; // deleted meanwhile
      const count = deliveries.get(entryId) ?? 1;
      if (count > maxDeliveries) await park(entryId, fields, count);
      else live.push({ id: entryId, effects: JSON.parse(Object.fromEntries(pairs(fields)).fx ?? '[]') as Effect[] });
    }
    if (live.length === 0) return;
    const byKind = new Map<string, Effect[]>();
    for (const entry of live) {
      for (const effect of entry.effects) {
        if (effect.kind === 'publish') continue;
        const list = byKind.get(effect.kind);
        if (list) list.push(effect);
        else byKind.set(effect.kind, [effect]);
      }
    }
    try {
      // Kinds run one after the other: a timer is armed before it is moved, and
      // cancelled last, so one armed, moved and cancelled within a batch ends cancelled.
      const rank = (kind: string) => (kind === 'timer.arm' ? 0 : kind === 'timer.move' ? 1 : kind === 'timer.cancel' ? 3 : 2);
      const kinds = [...byKind.keys()].sort((a, b) => rank(a) - rank(b));
      for (const kind of kinds) await (o.executors[kind as keyof Executors] as (e: Effect[]) => Promise<void>)(byKind.get(kind)!);
      failpoint('relay-before-finish');
      const args: (string | number)[] = [];
      for (const entry of live) {
        const events = entry.effects.flatMap((e) => (e.kind === 'publish' ? [e.event.id, e.event.subject, JSON.stringify(e.event)] : []));
        args.push(entry.id, events.length / 3, ...events);
      }
      await finish(keys.outbox, keys.events, group, eventsMaxLen, ...args);
    } catch (err) {
      logger.warn({ err, entries: live.length }, 'outbox batch failed; it stays pending and is retried');
    }
  }

  /**
   * Consumers of relays that are gone: idle past the bound and with nothing
   * pending (what they held was claimed first), so the group does not grow
   * by one member per process ever started.
   */
  async function dropGoneConsumers(): Promise<void> {
    const consumers = (await redis.xinfo('CONSUMERS', keys.outbox, group)) as unknown[][];
    for (const raw of consumers) {
      const info = Object.fromEntries(pairs(raw.map(String)));
      if (info.name && info.name !== o.consumer && Number(info.pending) === 0 && Number(info.idle) > goneIdleMs) {
        // XGROUP DELCONSUMER drops the member's pending entries too: only ever for one with none.
        await redis.xgroup('DELCONSUMER', keys.outbox, group, info.name);
        logger.info({ consumer: info.name }, 'removed the consumer of a relay that is gone');
      }
    }
  }

  /** Entries whose consumer went silent, with how often each was delivered. */
  async function claimStale(): Promise<void> {
    const [, claimed] = (await redis.xautoclaim(keys.outbox, group, o.consumer, claimIdleMs, '0-0', 'COUNT', batch)) as [string, Entry[]];
    if (claimed.length === 0) return;
    const pending = (await redis.xpending(keys.outbox, group, '-', '+', claimed.length * 2, o.consumer)) as [string, string, number, number][];
    const deliveries = new Map(pending.map(([id, , , count]) => [id, count]));
    logger.info({ count: claimed.length }, 'claimed outbox entries of a silent relay');
    await runBatch(claimed, deliveries);
  }

  async function run() {
    await ensureGroup();
    while (running) {
      try {
        if (Date.now() - lastClaim >= Math.min(claimIdleMs, 5000)) {
          lastClaim = Date.now();
          await claimStale();
          await dropGoneConsumers();
        }
        const res = (await blocking.xreadgroup('GROUP', group, o.consumer, 'COUNT', batch, 'BLOCK', blockMs, 'STREAMS', keys.outbox, '>')) as
          | [string, Entry[]][]
          | null;
        if (res) await runBatch(res[0]![1], new Map());
      } catch (err) {
        if (!running) break;
        logger.error({ err }, 'outbox relay loop failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      blocking.disconnect();
      await loop;
    },
    /** Runs one pass without blocking: for tests and tools. */
    async drain() {
      await ensureGroup();
      await claimStale();
      await dropGoneConsumers();
      const res = (await redis.xreadgroup('GROUP', group, o.consumer, 'COUNT', batch, 'STREAMS', keys.outbox, '>')) as [string, Entry[]][] | null;
      if (res) await runBatch(res[0]![1], new Map());
    },
  };
}

function pairs(fields: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push([fields[i]!, fields[i + 1]!]);
  return out;
}
