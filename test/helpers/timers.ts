import type { Redis } from 'ioredis';

/** Whether a ticket's timer job for an epoch waits in the `sla` queue's delayed set for about `at` (within 100 ms). */
export async function timerJobWaitsFor(redis: Redis, prefix: string, ticketId: string, epoch: number, at: number): Promise<boolean> {
  const score = await redis.zscore(`${prefix}:sla:delayed`, `timer-${ticketId}-${epoch}`);
  // BullMQ scores delayed jobs by due time * 4096 (+ a counter).
  return score !== null && Math.abs(Math.floor(Number(score) / 0x1000) - at) <= 100;
}
