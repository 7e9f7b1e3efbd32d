import type { JobsOptions, KeepJobs } from 'bullmq';

const DAY_S = 86_400;

/**
 * How long and how many finished jobs each queue keeps. Completed jobs stay
 * so that an effect re-run with the same job id is a no-op (BullMQ ignores an
 * id it still holds); failed jobs stay for an operator to look at. Both by
 * age and by count, so a burst cannot grow Redis without a limit.
 */
export const JOB_RETENTION = {
  completed: { age: 7 * DAY_S, count: 50_000 },
  failed: { age: 30 * DAY_S, count: 10_000 },
} as const satisfies Record<string, { age: number; count: number }>;

/** Options every job Lotse adds carries: bounded retention, no stack trace kept on failure. */
export const KEEP: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail' | 'stackTraceLimit'> = {
  removeOnComplete: { ...JOB_RETENTION.completed },
  removeOnFail: { ...JOB_RETENTION.failed },
  stackTraceLimit: 0,
};

/** The tighter of a job's own keep option and the bound (a job that asked to keep everything gets the bound). */
export function boundKeep(own: boolean | number | KeepJobs | undefined, bound: { age: number; count: number }): boolean | KeepJobs {
  if (own === true) return true;
  if (own === undefined || own === false) return { ...bound };
  if (typeof own === 'number') return { age: bound.age, count: Math.min(Math.max(own, 0), bound.count) };
  const asked = own as { age?: number; count?: number };
  return { age: Math.min(asked.age ?? bound.age, bound.age), count: Math.min(asked.count ?? bound.count, bound.count) };
}
