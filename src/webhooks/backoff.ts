/**
 * Retry delays of webhook deliveries: exponential with full jitter (a random
 * delay between 0 and the step's ceiling), each step capped. Pure: the random
 * source comes in, so the schedule can be tested.
 */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** No single wait is longer than this. */
  capMs: number;
}

export const HOUR_MS = 3_600_000;
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 30_000, capMs: HOUR_MS };

/** The longest wait before retry number `retry` (1 = the first retry). */
export function backoffCeiling(retry: number, policy: BackoffPolicy): number {
  if (retry < 1) return 0;
  // 2^(retry-1) overflows to Infinity for huge retries; the cap keeps it finite.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(retry - 1, 60));
}

/** The jittered wait before retry number `retry`: uniform in [0, ceiling). */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * backoffCeiling(retry, policy));
}

/** The ceilings of every retry when a delivery may be attempted `attempts` times. */
export function maximumSchedule(attempts: number, policy: BackoffPolicy): number[] {
  return Array.from({ length: Math.max(0, attempts - 1) }, (_, i) => backoffCeiling(i + 1, policy));
}

/**
 * How many attempts it takes for the retries to span `spanMs` on average.
 * Full jitter waits half the ceiling on average, so the ceilings add up to
 * twice the span: a receiver that is down for a day is still retried after it.
 */
export function attemptsToSpan(spanMs: number, policy: BackoffPolicy): number {
  let attempts = 1;
  let meanTotal = 0;
  while (meanTotal < spanMs) {
    meanTotal += backoffCeiling(attempts, policy) / 2;
    attempts += 1;
  }
  return attempts;
}
