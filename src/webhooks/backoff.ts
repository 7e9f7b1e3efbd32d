/**
 * Retry delays of webhook deliveries: exponential with "equal" jitter (a
 * random delay between half the step's ceiling and the ceiling), each step
 * capped. Half of every wait is certain, so the retries are guaranteed to
 * span at least the sum of the half ceilings, and still spread out so a
 * recovering receiver is not hit by every sender at once. Pure: the random
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

/** The jittered wait before retry number `retry`: uniform in [ceiling / 2, ceiling). */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  const ceiling = backoffCeiling(retry, policy);
  return Math.floor(ceiling / 2 + (r * ceiling) / 2);
}

/** The ceilings of every retry when a delivery may be attempted `attempts` times. */
export function maximumSchedule(attempts: number, policy: BackoffPolicy): number[] {
  return Array.from({ length: Math.max(0, attempts - 1) }, (_, i) => backoffCeiling(i + 1, policy));
}

/**
 * How many attempts it takes for the retries to span at least `spanMs`
 * whatever the jitter draws: the half ceilings (every wait's certain part)
 * add up to the span. A receiver that is down for a day is still retried after it.
 */
export function attemptsToSpan(spanMs: number, policy: BackoffPolicy): number {
  let attempts = 1;
  let certainTotal = 0;
  while (certainTotal < spanMs) {
    certainTotal += backoffCeiling(attempts, policy) / 2;
    attempts += 1;
  }
  return attempts;
}
