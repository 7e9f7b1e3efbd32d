import type { Logger } from 'pino';
import type { ChartSamples } from '../store/chart-samples.js';
import type { StatsReader } from './stats-reader.js';

const MINUTE = 60_000;
export const SERIES_KEEP = 60;

/** One minute of the board's charts: queue depths at its start, and the ticket events of the minute before. */
export interface Sample {
  t: number;
  events: number;
  depth: { intake: number; events: number; sla: number; webhook: number; backlog: number; handoff: number };
}

/** Jobs not yet done: waiting, running, delayed and prioritized. */
const open = (c: { waiting: number; active: number; delayed: number; prioritized: number }) => c.waiting + c.active + c.delayed + c.prioritized;

/**
 * Samples once a minute (and once at start) into a sorted set kept to the
 * last hour. Several API processes share the work: the first to claim a minute writes it.
 */
export function createSampler(o: { samples: ChartSamples; stats: StatsReader; logger: Logger; now?: () => number; intervalMs?: number }) {
  const now = o.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function sample(): Promise<void> {
    const minute = Math.floor(now() / MINUTE) * MINUTE;
    const stats = await o.stats.read();
    const q = stats.queues;
    const sum = (names: string[]) => names.reduce((n, name) => n + (q[name] ? open(q[name]) : 0), 0);
    const handoffs = Object.keys(q).filter((n) => n.startsWith('handoff-'));
    const s: Sample = {
      t: minute,
      events: await o.samples.countEvents(minute - MINUTE, minute, 1_000_000),
      depth: { intake: sum(['intake']), events: sum(['events']), sla: sum(['sla']), webhook: sum(['webhook']), backlog: sum(['backlog']), handoff: sum(handoffs) },
    };
    await o.samples.append(minute, JSON.stringify(s), SERIES_KEEP);
  }

  const tick = () => {
    if (running) return;
    running = sample()
      .catch((err: Error) => o.logger.warn({ err: err.message }, 'dashboard sample failed'))
      .finally(() => (running = undefined));
  };

  return {
    sample,
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, o.intervalMs ?? MINUTE);
      timer.unref();
    },
    /** Stops sampling and waits for a sample under way, so no write outlives the connection. */
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
    async series(): Promise<Sample[]> {
      return (await o.samples.read()).map((s) => JSON.parse(s) as Sample);
    },
  };
}

export type Sampler = ReturnType<typeof createSampler>;
