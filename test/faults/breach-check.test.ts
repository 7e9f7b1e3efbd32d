import { describe, expect, it } from 'vitest';
import { BREACH_GRACE_MS, checkBreaches, type BreachClock, type BreachTimeline } from './breach-check.js';

/** The suite's breach check must be able to fail: a missed or repeated breach is counted. */
const t0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const due = t0 + 4000;
const clock = (over: Partial<BreachClock>): BreachClock => ({ name: 'firstResponse', level: 1, holder: 'desk-BY', dueAt: iso(due), stoppedAt: null, outcome: 'running', ...over });
const mark = { clock: 'firstResponse', level: 1, holder: 'desk-BY', dueAt: iso(due), at: iso(due + 50) };
const timeline = (over: Partial<BreachTimeline>): BreachTimeline => ({ clocks: [], breaches: [], pausedSince: null, ...over });
const late = due + BREACH_GRACE_MS + 1;

describe('the fault suite’s breach check', () => {
  it('passes a breach that came, and a clock met or stopped late within the grace', () => {
    const ok = checkBreaches(['CREATED', 'SLA_BREACHED'], timeline({ clocks: [clock({ outcome: 'breached' })], breaches: [mark] }), late);
    expect(ok).toEqual({ breaches: 1, missed: [], repeated: 0 });
    const stoppedSoon = timeline({ clocks: [clock({ outcome: 'late', stoppedAt: iso(due + 1000) }), clock({ outcome: 'met', stoppedAt: iso(due - 1) })] });
    expect(checkBreaches(['CREATED'], stoppedSoon, late).missed).toEqual([]);
    expect(checkBreaches(['CREATED'], timeline({ clocks: [clock({})] }), due + 1000).missed).toEqual([]);
  });

  it('counts a breach that never came: running, stopped, handed on or paused past its due time', () => {
    for (const c of [
      clock({ outcome: 'running' }),
      clock({ outcome: 'late', stoppedAt: iso(late) }),
      clock({ outcome: 'handed-on', stoppedAt: iso(late) }),
    ]) {
      expect(checkBreaches(['CREATED'], timeline({ clocks: [c] }), late).missed, c.outcome).toHaveLength(1);
    }
    expect(checkBreaches(['CREATED'], timeline({ clocks: [clock({ outcome: 'paused' })], pausedSince: iso(late) }), late + 10_000).missed).toHaveLength(1);
    expect(checkBreaches(['CREATED'], timeline({ clocks: [clock({ outcome: 'paused' })], pausedSince: iso(due - 1) }), late + 10_000).missed).toHaveLength(0);
  });

  it('counts a breach recorded twice, or a breach event in the history without its mark', () => {
    expect(checkBreaches(['CREATED', 'SLA_BREACHED', 'SLA_BREACHED'], timeline({ clocks: [clock({ outcome: 'breached' })], breaches: [mark, mark] }), late).repeated).toBe(1);
    expect(checkBreaches(['CREATED', 'SLA_BREACHED', 'SLA_BREACHED'], timeline({ clocks: [clock({ outcome: 'breached' })], breaches: [mark] }), late).repeated).toBe(1);
  });
});
