import { describe, expect, it } from 'vitest';
// The board's own module, as the browser loads it (no DOM in it).
import { businessLeft, fmtBusiness } from '../../src/dashboard/public/format.js';

describe("the at-risk panel's time left", () => {
  const now = Date.parse('2026-12-02T02:05:00Z'); // 03:05 in Berlin, the office closed
  it('reads business time left as hours and minutes', () => {
    expect(fmtBusiness(125 * 60_000)).toBe('2 h 05 min');
    expect(businessLeft(12 * 60_000, '2026-12-02T07:00:00Z', now, 'bei Dienstbeginn')).toEqual({ text: '12 min', due: false });
  });
  it('says "bei Dienstbeginn" when none is left only because the office is closed until the due time', () => {
    expect(businessLeft(0, '2026-12-02T07:00:00Z', now, 'bei Dienstbeginn')).toEqual({ text: 'bei Dienstbeginn', due: false });
  });
  it('marks a clock due when none is left at or after its due time', () => {
    expect(businessLeft(0, '2026-12-02T02:05:00Z', now, 'bei Dienstbeginn')).toEqual({ text: '0 min', due: true });
    expect(businessLeft(0, '2026-12-01T15:00:00Z', now, 'bei Dienstbeginn')).toEqual({ text: '0 min', due: true });
  });
});
