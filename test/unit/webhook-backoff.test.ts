import { describe, expect, it } from 'vitest';
import { attemptsToSpan, backoffCeiling, backoffDelay, DEFAULT_BACKOFF, HOUR_MS, maximumSchedule } from '../../src/webhooks/backoff.js';
import { loadWebhookSettings } from '../../src/webhooks/settings.js';
import { seededRandom } from '../../src/seeded-random.js';

const DAY_MS = 24 * HOUR_MS;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);


describe('webhook backoff', () => {
  it('doubles the ceiling per retry from the base up to the cap', () => {
    const policy = { baseMs: 1000, capMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6].map((r) => backoffCeiling(r, policy))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoffCeiling(500, policy)).toBe(10_000);
  });

  it('draws each delay uniformly between half the ceiling and the ceiling (equal jitter)', () => {
    const policy = DEFAULT_BACKOFF;
    expect(backoffDelay(3, policy, () => 0)).toBe(backoffCeiling(3, policy) / 2);
    expect(backoffDelay(3, policy, () => 0.5)).toBe((backoffCeiling(3, policy) * 3) / 4);
    // A source that answers 1 (outside [0, 1)) still stays below the ceiling.
    expect(backoffDelay(3, policy, () => 1)).toBeLessThan(backoffCeiling(3, policy));
    const random = seededRandom(42);
    for (let retry = 1; retry <= 60; retry++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(retry, policy, random);
        expect(d).toBeGreaterThanOrEqual(backoffCeiling(retry, policy) / 2);
        expect(d).toBeLessThan(backoffCeiling(retry, policy));
        expect(d).toBeLessThanOrEqual(HOUR_MS);
      }
    }
  });

  it('by default retries long enough: even the shortest draws span 24 h, no step over 1 h', () => {
    const { attempts, backoff } = loadWebhookSettings({});
    expect(backoff).toEqual(DEFAULT_BACKOFF);
    const schedule = maximumSchedule(attempts, backoff);
    expect(schedule).toHaveLength(attempts - 1);
    expect(sum(schedule)).toBeGreaterThanOrEqual(DAY_MS);
    // Every wait is at least half its ceiling: the shortest possible schedule still spans a day.
    expect(sum(schedule) / 2).toBeGreaterThanOrEqual(DAY_MS);
    const shortest = schedule.map((_, i) => backoffDelay(i + 1, backoff, () => 0));
    expect(sum(shortest)).toBeGreaterThanOrEqual(DAY_MS);
    expect(Math.max(...schedule)).toBe(HOUR_MS);
    // …and not by far more: one attempt fewer would fall short.
    expect(sum(maximumSchedule(attempts - 1, backoff)) / 2).toBeLessThan(DAY_MS);
  });

  it('counts the attempts for a span from the policy', () => {
    const policy = { baseMs: 1000, capMs: 4000 };
    // certain waits: 500, 1000, 2000, 2000, … → 5500 ms after 4 retries, i.e. 5 attempts
    expect(attemptsToSpan(5500, policy)).toBe(5);
    expect(attemptsToSpan(5501, policy)).toBe(6);
    expect(attemptsToSpan(0, policy)).toBe(1);
  });

  it('takes shorter delays and fewer attempts from the environment, for tests and small installations', () => {
    const s = loadWebhookSettings({ LOTSE_WEBHOOK_BACKOFF_MS: '20', LOTSE_WEBHOOK_ATTEMPTS: '3', LOTSE_WEBHOOK_TIMEOUT_MS: '500' });
    expect(s).toMatchObject({ attempts: 3, timeoutMs: 500, backoff: { baseMs: 20, capMs: HOUR_MS } });
    expect(() => loadWebhookSettings({ LOTSE_WEBHOOK_ATTEMPTS: 'many' })).toThrow(/LOTSE_WEBHOOK_ATTEMPTS/);
  });
});
