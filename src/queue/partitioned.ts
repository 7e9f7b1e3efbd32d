import type { JobType, Queue } from 'bullmq';
import { QUEUE } from './names.js';
import type { Queues } from './queues.js';

/**
 * The queues each partition has of its own (LOTSE_PARTITIONS): a ticket's
 * timers, and the shared intake and events queues (a desk's or provider's
 * own `intake-<org>` and `events-<org>`, the handoff queues and Lotse's other
 * queues are one for the deployment, under its prefix).
 */
export const PARTITIONED_QUEUES: readonly string[] = [QUEUE.intake, QUEUE.events, QUEUE.sla];

/** What the board, the stats and the metrics read of a queue. */
export type QueueReader = Pick<Queue, 'name' | 'getJobCounts' | 'getJob' | 'exportPrometheusMetrics'>;

/**
 * The queues as the readers see them across partitions: a partitioned queue
 * is every partition's of that name, its counts summed, a job looked for in
 * each, BullMQ's metrics labelled with the partition. With one partition,
 * the queues themselves.
 */
export function queueReaders(cells: readonly Queues[]): { queue(name: string): QueueReader } {
  const base = cells[0]!;
  if (cells.length === 1) return base;
  const merged = new Map<string, QueueReader>();
  const of = (name: string): QueueReader => {
    const all = cells.map((c) => c.queue(name));
    return {
      name,
      async getJobCounts(...types: JobType[]) {
        const counts = await Promise.all(all.map((q) => q.getJobCounts(...types)));
        const sum: Record<string, number> = {};
        for (const c of counts) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
        return sum;
      },
      async getJob(id: string) {
        for (const q of all) {
          const job = await q.getJob(id);
          if (job) return job;
        }
        return undefined;
      },
      async exportPrometheusMetrics(globalVariables?: Record<string, string>) {
        // One text after another: the metrics merge their families (src/metrics/exposition.ts).
        return (await Promise.all(all.map((q, p) => q.exportPrometheusMetrics({ ...globalVariables, partition: String(p) })))).join('\n');
      },
    } as QueueReader;
  };
  return {
    queue(name) {
      if (!PARTITIONED_QUEUES.includes(name)) return base.queue(name);
      let q = merged.get(name);
      if (!q) merged.set(name, (q = of(name)));
      return q;
    },
  };
}
