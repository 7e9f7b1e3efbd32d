import type { Topology } from '../domain/topology.js';
import { activeCounters, countSpecs, sumActive, type CountGroup } from '../engine/ticket/index.js';
import type { QueueReader } from '../queue/partitioned.js';
import type { ReadModel } from '../store/read-model.js';
import { boardUrl, lotseQueueNames } from './queue-list.js';

export interface Count {
  count: number;
  list: string;
}

export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueCounts extends Record<JobState, number> {
  list: string;
}

export interface Stats {
  at: string;
  tickets: Record<CountGroup, Record<string, Count>>;
  queues: Record<string, QueueCounts>;
  deadLetters: Count;
}

/**
 * The operators' numbers: index set sizes (ZCARDs), the active tickets'
 * counters (one HGETALL of at most Länder × services × priorities fields),
 * BullMQ's job counts per queue and the dead letters. Nothing here scans tickets.
 */
export function createStatsReader(o: { readModel: ReadModel; topology: Topology; queues: { queue(name: string): Pick<QueueReader, 'getJobCounts'> }; now?: () => number }) {
  const specs = countSpecs(o.topology);
  const indexes = specs.flatMap((s) => ('index' in s.source ? [s.source.index] : []));
  const queueNames = lotseQueueNames(o.topology);
  const now = o.now ?? Date.now;

  async function readQueues(): Promise<Record<string, QueueCounts>> {
    const counts = await Promise.all(queueNames.map((name) => o.queues.queue(name).getJobCounts(...JOB_STATES)));
    return Object.fromEntries(
      queueNames.map((name, i) => {
        const c = counts[i]!;
        const row = Object.fromEntries(JOB_STATES.map((s) => [s, c[s] ?? 0])) as Record<JobState, number>;
        return [name, { ...row, list: boardUrl(name) }];
      }),
    );
  }

  return {
    queueNames,
    async read(): Promise<Stats> {
      const [sizes, active, queues, dead] = await Promise.all([
        o.readModel.countIndexes(indexes), o.readModel.readCounters('active'), readQueues(), o.readModel.countDeadLetters(),
      ]);
      const size = new Map(indexes.map((name, i) => [name, sizes[i]!] as const));
      const byField = activeCounters(active);
      const tickets = Object.fromEntries(['total', 'status', 'level', 'assignee', 'land', 'service', 'priority', 'sla'].map((g) => [g, {}])) as Stats['tickets'];
      for (const s of specs) tickets[s.group][s.key] = { count: 'index' in s.source ? size.get(s.source.index)! : sumActive(byField, s.source.active), list: s.list };
      return { at: new Date(now()).toISOString(), tickets, queues, deadLetters: { count: dead, list: '/v1/dead-letters' } };
    },
  };
}

export type StatsReader = ReturnType<typeof createStatsReader>;
