import { DelayedError } from 'bullmq';
import type { Logger } from 'pino';
import { fieldErrors } from '../src/errors.js';
import { ServiceBusy, type BacklogFeed } from '../src/engine/backlog/index.js';
import { BacklogJobSchema } from '../src/queue/jobs.js';
import { QUEUE } from '../src/queue/names.js';
import type { FeedEntry, FeedReader } from '../src/store/recurring-window.js';
import { isStoreUnavailable, STORE_RETRY_AFTER_S } from '../src/store/unavailable.js';
import { createStreamConsumerLoop, invalidPayload, makeWorker, type WorkerDeps } from './worker-kit.js';

/** How long a job waits when another worker is matching for the same service. */
const BUSY_RETRY_MS = 250;

/**
 * `backlog`: the feed into the backlog (suggestions, improvements, recurring
 * problems) and the backlog's own effects (merge, split, the decided item's
 * notices), each through the one path of change of its record.
 */
export function createBacklogWorker(deps: WorkerDeps & { feed: BacklogFeed }, concurrency?: number) {
  return makeWorker<unknown, unknown>(
    QUEUE.backlog,
    async (job, log, token) => {
      const parsed = BacklogJobSchema.safeParse(job.data);
      if (!parsed.success) throw invalidPayload('backlog job', fieldErrors(parsed.error.issues));
      try {
        const result = await deps.feed.run(parsed.data);
        log.info({ type: parsed.data.type, result }, 'backlog job done');
        return result ?? null;
      } catch (err) {
        if (err instanceof ServiceBusy && token) {
          // Not a failure: no attempt is used, the job runs again in a moment.
          await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
          throw new DelayedError();
        }
        throw err;
      }
    },
    deps,
    concurrency === undefined ? {} : { concurrency },
  );
}

/** How often one batch of the feed is tried before its tickets are observed one by one and a ticket that still fails is dropped. */
const FEED_ATTEMPTS = 5;

export interface FeedReaderOptions {
  /** The feed as this worker sees it (src/store/recurring-window.ts, createFeedReader). */
  reader: FeedReader;
  feed: BacklogFeed;
  logger: Logger;
  /** An entry pending this long with a silent worker is taken over. */
  claimIdleMs?: number;
  /** A consumer idle this long with nothing pending belongs to a worker that is gone: it is deleted. */
  goneIdleMs?: number;
  blockMs?: number;
  batch?: number;
}

/**
 * The recurring-problem window's feed: technical tickets, appended to `rfeed`
 * by their creating commit, read in batches through the backlog workers'
 * consumer group and observed (src/engine/backlog/feed.ts, observeFeed), then
 * deleted and acknowledged. No BullMQ job per ticket, and no job waiting
 * again and again for a service's lock while a burst is matched: a batch
 * takes each service's lock once. A worker that dies leaves its batch
 * pending; another takes it over after `claimIdleMs` and observes it again,
 * which repeats nothing. A batch being worked on is kept (XCLAIM by its own
 * worker every third of `claimIdleMs`), so a slow batch is not taken over
 * and worked on twice at once. While Redis is away the batch waits and is tried
 * again; a batch that fails otherwise is tried `FEED_ATTEMPTS` times, then
 * ticket by ticket, and a ticket that still fails is dropped from the window
 * with an error in the log (its ticket is not touched).
 */
export function createFeedReaderLoop(o: FeedReaderOptions) {
  const claimIdleMs = o.claimIdleMs ?? 15_000;
  const goneIdleMs = o.goneIdleMs ?? Math.max(10 * 60_000, 4 * claimIdleMs);
  const blockMs = o.blockMs ?? 1000;
  const batch = o.batch ?? 20;
  const { reader, feed, logger } = o;
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  async function observeOneByOne(entries: FeedEntry[]) {
    for (const entry of entries) {
      try {
        if (entry.ticketId) await feed.observeFeed([entry.ticketId], sleep);
      } catch (err) {
        if (isStoreUnavailable(err) || err instanceof ServiceBusy) throw err;
        logger.error({ err, ticketId: entry.ticketId, entry: entry.id }, 'recurring-problem observation failed too often; dropped from the window');
      }
    }
  }

  async function handle(entries: FeedEntry[]) {
    if (entries.length === 0) return;
    const ids = entries.map((e) => e.id);
    // While the batch is worked on, its entries are kept (their idle time restarts), so no other worker takes them over and does it again.
    const keeper = setInterval(() => void reader.keep(ids).catch(() => undefined), Math.max(100, Math.floor(claimIdleMs / 3)));
    try {
      await attempts(entries, ids);
    } finally {
      clearInterval(keeper);
    }
  }

  async function attempts(entries: FeedEntry[], ids: string[]) {
    const tickets = entries.flatMap((e) => (e.ticketId ? [e.ticketId] : []));
    for (let attempt = 1; loop.running; attempt++) {
      try {
        if (attempt <= FEED_ATTEMPTS) {
          if (tickets.length > 0) await feed.observeFeed(tickets, sleep);
        } else {
          await observeOneByOne(entries);
        }
        await reader.finish(ids);
        return;
      } catch (err) {
        if (!loop.running) return;
        const waiting = isStoreUnavailable(err) || err instanceof ServiceBusy;
        logger.warn({ err: (err as Error).message, entries: entries.length, attempt }, waiting ? 'recurring-problem feed waits' : 'recurring-problem feed batch failed; tried again');
        await sleep(waiting ? STORE_RETRY_AFTER_S * 1000 : Math.min(5000, 250 * 2 ** attempt));
      }
    }
  }

  const loop = createStreamConsumerLoop({
    ensureGroup: () => reader.ensureGroup(),
    claimStale: async () => {
      const stale = await reader.claimStale(claimIdleMs, batch);
      if (stale.length > 0) logger.info({ count: stale.length }, 'took over recurring-problem feed entries of a silent worker');
      await handle(stale);
    },
    dropGoneConsumers: async () => {
      for (const consumer of await reader.removeGoneConsumers(goneIdleMs)) logger.info({ consumer }, 'removed the feed consumer of a backlog worker that is gone');
    },
    readNew: async () => handle(await reader.waitForNew(batch, blockMs)),
    interrupt: () => reader.interrupt(),
  }, { claimIdleMs, logger, what: 'recurring-problem feed' });

  return { start: loop.start, stop: loop.stop };
}
