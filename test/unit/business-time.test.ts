import { describe, it, expect } from 'vitest';
import { CalendarSchema, type Calendar } from '../../src/domain/calendar.js';
import { seededRandom } from '../../src/seeded-random.js';
import {
  addBusinessMs,
  addBusinessTime,
  BusinessDurationSchema,
  businessMsBetween,
  closedDaysBetween,
  describeCalendar,
  isOpenAt,
  nextOpening,
  parseBusinessDuration,
} from '../../src/domain/business-time.js';

const H = 3_600_000;
const M = 60_000;

const weekdays = (hours: string[]) => ({ mon: hours, tue: hours, wed: hours, thu: hours, fri: hours });
const everyDay = (hours: string[]) => ({ ...weekdays(hours), sat: hours, sun: hours });

const HB = CalendarSchema.parse({ timezone: 'Europe/Berlin', hours: weekdays(['08:00-18:00']), holidays: 'DE-HB' });
const BY = CalendarSchema.parse({ timezone: 'Europe/Berlin', hours: weekdays(['08:00-18:00']), holidays: 'DE-BY' });
const HB_FULL_DAYS = CalendarSchema.parse({
  timezone: 'Europe/Berlin',
  hours: weekdays(['08:00-18:00']),
  holidays: 'DE-HB',
  halfDays: false,
});
/** Lunch break Mon–Thu, short Friday, no Wednesday. */
const SPLIT = CalendarSchema.parse({
  timezone: 'Europe/Berlin',
  hours: { mon: ['08:00-12:00', '13:00-17:00'], tue: ['08:00-12:00', '13:00-17:00'], thu: ['08:00-12:00', '13:00-17:00'], fri: ['08:00-14:00'] },
  holidays: 'DE-HB',
});
const ALL_DAY = CalendarSchema.parse({ timezone: 'Europe/Berlin', hours: everyDay(['00:00-24:00']) });
/** Open on Sundays 02:30–04:00 only: straddles both DST switches. */
const DST_EDGE = CalendarSchema.parse({ timezone: 'Europe/Berlin', hours: { sun: ['02:30-04:00'] } });
const NO_HOURS = CalendarSchema.parse({ timezone: 'Europe/Berlin', hours: {} });

const at = (iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`bad test instant ${iso}`);
  return t;
};
/** Compares as ISO strings so failures show readable instants. */
const expectInstant = (actual: number, expected: string): void =>
  expect(new Date(actual).toISOString()).toBe(new Date(at(expected)).toISOString());

type AddCase = [name: string, cal: Calendar, from: string, duration: string, expected: string];

describe('addBusinessTime: hours across closed time', () => {
  const cases: AddCase[] = [
    ['Fri evening into Monday', HB, '2026-03-13T17:30:00+01:00', 'PT1H', '2026-03-16T08:30:00+01:00'],
    ['start on Saturday', HB, '2026-03-14T10:00:00+01:00', 'PT30M', '2026-03-16T08:30:00+01:00'],
    ['start before opening', HB, '2026-03-16T06:00:00+01:00', 'PT2H', '2026-03-16T10:00:00+01:00'],
    ['using up the day ends at closing, not Monday', HB, '2026-03-13T17:00:00+01:00', 'PT1H', '2026-03-13T18:00:00+01:00'],
    ['more than a day of hours', HB, '2026-03-13T17:30:00+01:00', 'PT10H', '2026-03-16T17:30:00+01:00'],
    ['over a lunch break', SPLIT, '2026-03-09T11:00:00+01:00', 'PT2H', '2026-03-09T14:00:00+01:00'],
    ['zero keeps a closed start', HB, '2026-03-14T10:00:00+01:00', 'PT0S', '2026-03-14T10:00:00+01:00'],
    ['24x7 counts elapsed time', '24x7', '2026-03-14T10:00:00+01:00', 'PT30M', '2026-03-14T10:30:00+01:00'],
  ];
  it.each(cases)('%s', (_name, cal, from, duration, expected) => {
    expectInstant(addBusinessTime(cal, at(from), duration), expected);
  });
});

describe('addBusinessTime: D = business days at the same local time', () => {
  const cases: AddCase[] = [
    ['Wed + P2D', HB, '2026-03-04T10:00:00+01:00', 'P2D', '2026-03-06T10:00:00+01:00'],
    ['Fri + P1D skips the weekend', HB, '2026-03-06T10:00:00+01:00', 'P1D', '2026-03-09T10:00:00+01:00'],
    ['Thu + P1DT2H', HB, '2026-03-05T10:00:00+01:00', 'P1DT2H', '2026-03-06T12:00:00+01:00'],
    ['Fri 17:00 + P1DT2H carries the hours into Tuesday', HB, '2026-03-06T17:00:00+01:00', 'P1DT2H', '2026-03-10T09:00:00+01:00'],
    ['closed start moves to the next opening first', HB, '2026-03-07T10:00:00+01:00', 'P1D', '2026-03-10T08:00:00+01:00'],
    ['P1W = 5 business days', HB, '2026-03-04T10:00:00+01:00', 'P1W', '2026-03-11T10:00:00+01:00'],
    ['P0D keeps the start', HB, '2026-03-07T10:00:00+01:00', 'P0D', '2026-03-07T10:00:00+01:00'],
    ['landing in a lunch break waits for the afternoon', SPLIT, '2026-03-06T12:30:00+01:00', 'P1D', '2026-03-09T13:00:00+01:00'],
    ['a regularly short day carries nothing', SPLIT, '2026-03-05T16:00:00+01:00', 'P1D', '2026-03-09T08:00:00+01:00'],
    ['24x7: 1D is 24 h', '24x7', '2026-03-06T10:00:00+01:00', 'P1D', '2026-03-07T10:00:00+01:00'],
  ];
  it.each(cases)('%s', (_name, cal, from, duration, expected) => {
    expectInstant(addBusinessTime(cal, at(from), duration), expected);
  });

  it('accepts a parsed duration', () => {
    expectInstant(addBusinessTime(HB, at('2026-03-04T10:00:00+01:00'), { days: 2, ms: 30 * M }), '2026-03-06T10:30:00+01:00');
  });

  it('rejects invalid durations and negative ms', () => {
    expect(() => addBusinessTime(HB, 0, { days: -1, ms: 0 })).toThrow(/days and ms must be >= 0/);
    expect(() => addBusinessTime(HB, 0, 'P1M')).toThrow(/"P1M"/);
    expect(() => addBusinessMs(HB, 0, -1)).toThrow(/>= 0/);
  });
});

describe('regional holidays', () => {
  const cases: AddCase[] = [
    ['Reformation Day closes HB', HB, '2025-10-30T17:00:00+01:00', 'PT2H', '2025-11-03T09:00:00+01:00'],
    ['Reformation Day is open in BY', BY, '2025-10-30T17:00:00+01:00', 'PT2H', '2025-10-31T09:00:00+01:00'],
    ['Reformation Day is no business day in HB', HB, '2025-10-29T10:00:00+01:00', 'P2D', '2025-11-03T10:00:00+01:00'],
    ['... but is one in BY', BY, '2025-10-29T10:00:00+01:00', 'P2D', '2025-10-31T10:00:00+01:00'],
    ['Epiphany 2026 (Tue) closes BY', BY, '2026-01-05T17:00:00+01:00', 'PT2H', '2026-01-07T09:00:00+01:00'],
    ['Epiphany 2026 is open in HB', HB, '2026-01-05T17:00:00+01:00', 'PT2H', '2026-01-06T09:00:00+01:00'],
    ['Epiphany 2025 (Mon) closes BY', BY, '2025-01-03T17:00:00+01:00', 'PT2H', '2025-01-07T09:00:00+01:00'],
    ['Epiphany 2025 is open in HB', HB, '2025-01-03T17:00:00+01:00', 'PT2H', '2025-01-06T09:00:00+01:00'],
  ];
  it.each(cases)('%s', (_name, cal, from, duration, expected) => {
    expectInstant(addBusinessTime(cal, at(from), duration), expected);
  });

  it('isOpenAt knows the region', () => {
    expect(isOpenAt(HB, at('2025-10-31T10:00:00+01:00'))).toBe(false);
    expect(isOpenAt(BY, at('2025-10-31T10:00:00+01:00'))).toBe(true);
    expect(isOpenAt(BY, at('2026-01-06T10:00:00+01:00'))).toBe(false);
    expect(isOpenAt(HB, at('2026-01-06T10:00:00+01:00'))).toBe(true);
  });

  it('rejects an unknown holiday region instead of silently using the country', () => {
    const bad = CalendarSchema.parse({ timezone: 'Europe/Berlin', hours: weekdays(['08:00-18:00']), holidays: 'DE-XX' });
    expect(() => isOpenAt(bad, at('2026-03-04T10:00:00+01:00'))).toThrow(/Unknown holiday region "DE-XX"/);
  });
});

describe('Christmas, New Year and the half days', () => {
  const cases: AddCase[] = [
    // 2025: 24 Dec Wed (half day), 25/26 Dec Thu/Fri, 31 Dec Wed (half day), 1 Jan Thu.
    ['into the morning of 24 Dec', HB, '2025-12-23T17:00:00+01:00', 'PT3H', '2025-12-24T10:00:00+01:00'],
    ['24 Dec has 6 h, then Christmas', HB, '2025-12-23T17:00:00+01:00', 'PT8H', '2025-12-29T09:00:00+01:00'],
    ['halfDays: false keeps 24 Dec a full day', HB_FULL_DAYS, '2025-12-23T17:00:00+01:00', 'PT8H', '2025-12-24T15:00:00+01:00'],
    ['31 Dec closes at 14:00, then New Year', HB, '2025-12-31T13:00:00+01:00', 'PT2H', '2026-01-02T09:00:00+01:00'],
    ['same half days in BY', BY, '2025-12-31T13:00:00+01:00', 'PT2H', '2026-01-02T09:00:00+01:00'],
    // 2026: 24 Dec Thu, 25/26 Dec Fri/Sat, 31 Dec Thu, 1 Jan 2027 Fri.
    ['P1D onto the open morning of 24 Dec', HB, '2026-12-23T10:00:00+01:00', 'P1D', '2026-12-24T10:00:00+01:00'],
    ['P1D past the 14:00 close carries the lost 2 h', HB, '2026-12-23T16:00:00+01:00', 'P1D', '2026-12-28T10:00:00+01:00'],
    ['P1D without half days', HB_FULL_DAYS, '2026-12-23T16:00:00+01:00', 'P1D', '2026-12-24T16:00:00+01:00'],
    ['year end: the 31 Dec half day counts as a business day', HB, '2026-12-30T10:00:00+01:00', 'P3D', '2027-01-05T10:00:00+01:00'],
    ['year end: P1D onto 31 Dec morning', HB, '2026-12-30T10:00:00+01:00', 'P1D', '2026-12-31T10:00:00+01:00'],
    ['year end: P1D past 31 Dec 14:00 skips New Year', HB, '2026-12-30T16:00:00+01:00', 'P1D', '2027-01-04T10:00:00+01:00'],
  ];
  it.each(cases)('%s', (_name, cal, from, duration, expected) => {
    expectInstant(addBusinessTime(cal, at(from), duration), expected);
  });

  const openCases: [string, Calendar, string, boolean][] = [
    ['24 Dec 13:59', HB, '2025-12-24T13:59:00+01:00', true],
    ['24 Dec 14:00', HB, '2025-12-24T14:00:00+01:00', false],
    ['24 Dec 14:00 without half days', HB_FULL_DAYS, '2025-12-24T14:00:00+01:00', true],
    ['25 Dec', HB, '2025-12-25T10:00:00+01:00', false],
    ['26 Dec without half days', HB_FULL_DAYS, '2025-12-26T10:00:00+01:00', false],
    ['31 Dec 14:30', HB, '2025-12-31T14:30:00+01:00', false],
    ['1 Jan', BY, '2026-01-01T10:00:00+01:00', false],
    ['24 Dec 14:00 without a holiday region', CalendarSchema.parse({ hours: weekdays(['08:00-18:00']) }), '2025-12-24T14:00:00+01:00', true],
  ];
  it.each(openCases)('isOpenAt %s', (_name, cal, instant, open) => {
    expect(isOpenAt(cal, at(instant))).toBe(open);
  });

  it('counts the business time of the Christmas week', () => {
    // 23 Dec 10 h + 24 Dec 6 h + 28 Dec 10 h.
    expect(businessMsBetween(HB, at('2026-12-23T00:00:00+01:00'), at('2026-12-29T00:00:00+01:00'))).toBe(26 * H);
    expect(businessMsBetween(HB_FULL_DAYS, at('2026-12-23T00:00:00+01:00'), at('2026-12-29T00:00:00+01:00'))).toBe(30 * H);
  });
});

describe('daylight saving time (Europe/Berlin, 2026-03-29 and 2026-10-25)', () => {
  const cases: AddCase[] = [
    ['all-day calendar: P1D keeps the wall time into summer time', ALL_DAY, '2026-03-28T12:00:00+01:00', 'P1D', '2026-03-29T12:00:00+02:00'],
    ['all-day calendar: PT24H is 24 h of open time', ALL_DAY, '2026-03-28T12:00:00+01:00', 'PT24H', '2026-03-29T13:00:00+02:00'],
    ['all-day calendar: P1D keeps the wall time into winter time', ALL_DAY, '2026-10-24T12:00:00+02:00', 'P1D', '2026-10-25T12:00:00+01:00'],
    ['all-day calendar: PT24H back into winter time', ALL_DAY, '2026-10-24T12:00:00+02:00', 'PT24H', '2026-10-25T11:00:00+01:00'],
    ['24x7: P1D is 24 h elapsed in March', '24x7', '2026-03-28T12:00:00+01:00', 'P1D', '2026-03-29T13:00:00+02:00'],
    ['24x7: P1D is 24 h elapsed in October', '24x7', '2026-10-24T12:00:00+02:00', 'P1D', '2026-10-25T11:00:00+01:00'],
    ['office: weekend of the spring switch', HB, '2026-03-27T17:00:00+01:00', 'PT2H', '2026-03-30T07:00:00Z'],
    ['office: weekend of the autumn switch', HB, '2026-10-23T17:00:00+02:00', 'PT2H', '2026-10-26T08:00:00Z'],
    ['office: P1D over the spring switch', HB, '2026-03-27T10:00:00+01:00', 'P1D', '2026-03-30T10:00:00+02:00'],
  ];
  it.each(cases)('%s', (_name, cal, from, duration, expected) => {
    expectInstant(addBusinessTime(cal, at(from), duration), expected);
  });

  it('a 00:00–24:00 day lasts 23 h in March and 25 h in October', () => {
    expect(businessMsBetween(ALL_DAY, at('2026-03-29T00:00:00+01:00'), at('2026-03-30T00:00:00+02:00'))).toBe(23 * H);
    expect(businessMsBetween(ALL_DAY, at('2026-10-25T00:00:00+02:00'), at('2026-10-26T00:00:00+01:00'))).toBe(25 * H);
    expect(businessMsBetween('24x7', at('2026-10-25T00:00:00+02:00'), at('2026-10-26T00:00:00+01:00'))).toBe(25 * H);
  });

  it('reads wall times in the gap and the overlap like Temporal "compatible"', () => {
    // 02:30 does not exist on 29 March: it opens at 03:30 CEST, 30 min before 04:00.
    expectInstant(nextOpening(DST_EDGE, at('2026-03-29T00:00:00+01:00')), '2026-03-29T03:30:00+02:00');
    expect(businessMsBetween(DST_EDGE, at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z'))).toBe(30 * M);
    // 02:30 happens twice on 25 October: it opens at the first, 2.5 h before 04:00 CET.
    expectInstant(nextOpening(DST_EDGE, at('2026-10-25T00:00:00+02:00')), '2026-10-25T02:30:00+02:00');
    expect(businessMsBetween(DST_EDGE, at('2026-10-24T00:00:00Z'), at('2026-10-26T00:00:00Z'))).toBe(150 * M);
    expect(isOpenAt(DST_EDGE, at('2026-10-25T02:10:00+01:00'))).toBe(true);
  });

  it('an office week containing the switch has its usual hours', () => {
    expect(businessMsBetween(HB, at('2026-03-27T00:00:00+01:00'), at('2026-03-31T00:00:00+02:00'))).toBe(20 * H);
    // 08:00 is 07:00Z on Friday (CET) but 06:00Z on Monday (CEST).
    expect(isOpenAt(HB, at('2026-03-27T06:30:00Z'))).toBe(false);
    expect(isOpenAt(HB, at('2026-03-27T07:00:00Z'))).toBe(true);
    expect(isOpenAt(HB, at('2026-03-30T05:30:00Z'))).toBe(false);
    expect(isOpenAt(HB, at('2026-03-30T06:00:00Z'))).toBe(true);
  });
});

describe('isOpenAt and nextOpening', () => {
  const cases: [string, Calendar, string, string][] = [
    ['open instant is itself', HB, '2026-03-16T10:00:00+01:00', '2026-03-16T10:00:00+01:00'],
    ['closing instant is closed', HB, '2026-03-13T18:00:00+01:00', '2026-03-16T08:00:00+01:00'],
    ['before opening', HB, '2026-03-16T07:59:59+01:00', '2026-03-16T08:00:00+01:00'],
    ['lunch break', SPLIT, '2026-03-09T12:15:00+01:00', '2026-03-09T13:00:00+01:00'],
    ['closed Wednesday', SPLIT, '2026-03-10T17:00:00+01:00', '2026-03-12T08:00:00+01:00'],
    ['24x7', '24x7', '2026-03-14T03:00:00+01:00', '2026-03-14T03:00:00+01:00'],
  ];
  it.each(cases)('%s', (_name, cal, from, expected) => {
    expectInstant(nextOpening(cal, at(from)), expected);
    expect(isOpenAt(cal, at(from))).toBe(from === expected);
  });
});

describe('businessMsBetween', () => {
  const cases: [string, Calendar, string, string, number][] = [
    ['within a day', HB, '2026-03-16T09:00:00+01:00', '2026-03-16T11:30:00+01:00', 2.5 * H],
    ['across a weekend', HB, '2026-03-13T16:00:00+01:00', '2026-03-16T10:00:00+01:00', 4 * H],
    ['across Reformation Day in HB', HB, '2025-10-30T16:00:00+01:00', '2025-11-03T10:00:00+01:00', 4 * H],
    ['across Reformation Day in BY', BY, '2025-10-30T16:00:00+01:00', '2025-11-03T10:00:00+01:00', 14 * H],
    ['a full week', HB, '2026-03-16T00:00:00+01:00', '2026-03-23T00:00:00+01:00', 50 * H],
    ['a split week', SPLIT, '2026-03-16T00:00:00+01:00', '2026-03-23T00:00:00+01:00', 30 * H],
    ['to before from', HB, '2026-03-16T11:00:00+01:00', '2026-03-16T10:00:00+01:00', 0],
    ['empty range', HB, '2026-03-16T11:00:00+01:00', '2026-03-16T11:00:00+01:00', 0],
    ['24x7', '24x7', '2026-03-13T16:00:00+01:00', '2026-03-16T10:00:00+01:00', 66 * H],
  ];
  it.each(cases)('%s', (_name, cal, from, to, expected) => {
    expect(businessMsBetween(cal, at(from), at(to))).toBe(expected);
  });

  it('a year over the year end in HB', () => {
    // 2026: 261 weekdays minus 7 weekday holidays in HB (3 Oct, 31 Oct, 26 Dec are Saturdays)
    // = 254 days of 10 h, minus 4 h for each half day.
    expect(businessMsBetween(HB, at('2026-01-01T00:00:00+01:00'), at('2027-01-01T00:00:00+01:00'))).toBe(254 * 10 * H - 8 * H);
  });
});


describe('properties over generated instants (fixed seed)', () => {
  const calendars: [string, Calendar][] = [
    ['HB', HB],
    ['BY', BY],
    ['SPLIT', SPLIT],
    ['ALL_DAY', ALL_DAY],
    ['DST_EDGE', DST_EDGE],
    ['24x7', '24x7'],
  ];
  const start = at('2025-01-01T00:00:00Z');
  const span = at('2028-01-01T00:00:00Z') - start;

  it.each(calendars)('%s: addBusinessMs is the earliest inverse of businessMsBetween', (_name, cal) => {
    const rand = seededRandom(20260329);
    for (let i = 0; i < 300; i++) {
      const from = start + Math.floor(rand() * span);
      const ms = rand() < 0.1 ? 0 : Math.floor(rand() * 80 * H);
      const to = addBusinessMs(cal, from, ms);
      expect(to).toBeGreaterThanOrEqual(from);
      expect(businessMsBetween(cal, from, to)).toBe(ms);
      if (ms > 0) expect(businessMsBetween(cal, from, to - 1)).toBe(ms - 1);
    }
  });

  it.each(calendars)('%s: nextOpening and isOpenAt agree with businessMsBetween', (_name, cal) => {
    const rand = seededRandom(20261025);
    for (let i = 0; i < 300; i++) {
      const from = start + Math.floor(rand() * span);
      const open = nextOpening(cal, from);
      expect(isOpenAt(cal, open)).toBe(true);
      expect(businessMsBetween(cal, from, open)).toBe(0);
      expect(isOpenAt(cal, from)).toBe(open === from);
      expect(isOpenAt(cal, from)).toBe(businessMsBetween(cal, from, from + 1) === 1);
    }
  });

  it.each(calendars)('%s: adding business days never loses open time', (_name, cal) => {
    const rand = seededRandom(31);
    for (let i = 0; i < 200; i++) {
      const from = start + Math.floor(rand() * span);
      const days = 1 + Math.floor(rand() * 10);
      const to = addBusinessTime(cal, from, { days, ms: 0 });
      expect(to).toBeGreaterThan(from);
      expect(addBusinessTime(cal, from, { days: days + 1, ms: 0 })).toBeGreaterThan(to);
    }
  });
});

describe('closedDaysBetween', () => {
  it('lists weekends, holidays with their names and half days', () => {
    expect(closedDaysBetween(HB, at('2025-12-20T12:00:00+01:00'), at('2026-01-04T09:00:00+01:00'))).toEqual([
      { date: '2025-12-20', reason: 'weekend' },
      { date: '2025-12-21', reason: 'weekend' },
      { date: '2025-12-24', reason: 'half-day', name: 'Heiliger Abend' },
      { date: '2025-12-25', reason: 'holiday', name: '1. Weihnachtstag' },
      { date: '2025-12-26', reason: 'holiday', name: '2. Weihnachtstag' },
      { date: '2025-12-27', reason: 'weekend' },
      { date: '2025-12-28', reason: 'weekend' },
      { date: '2025-12-31', reason: 'half-day', name: 'Silvester' },
      { date: '2026-01-01', reason: 'holiday', name: 'Neujahr' },
      { date: '2026-01-03', reason: 'weekend' },
      { date: '2026-01-04', reason: 'weekend' },
    ]);
  });

  const cases: [string, Calendar, string, string, unknown[]][] = [
    ['Reformation Day in HB', HB, '2025-10-31T00:00:00+01:00', '2025-10-31T23:00:00+01:00', [{ date: '2025-10-31', reason: 'holiday', name: 'Reformationstag' }]],
    ['no Reformation Day in BY', BY, '2025-10-31T00:00:00+01:00', '2025-10-31T23:00:00+01:00', []],
    ['Epiphany in BY', BY, '2026-01-06T00:00:00+01:00', '2026-01-06T23:00:00+01:00', [{ date: '2026-01-06', reason: 'holiday', name: 'Heilige Drei Könige' }]],
    ['a holiday on a Saturday is a holiday', HB, '2026-10-03T12:00:00+02:00', '2026-10-03T12:00:00+02:00', [{ date: '2026-10-03', reason: 'holiday', name: 'Tag der Deutschen Einheit' }]],
    ['a weekday without hours is closed', SPLIT, '2026-03-11T12:00:00+01:00', '2026-03-12T12:00:00+01:00', [{ date: '2026-03-11', reason: 'closed' }]],
    ['no half days when switched off', HB_FULL_DAYS, '2025-12-24T00:00:00+01:00', '2025-12-24T23:00:00+01:00', []],
    ['local dates, not UTC dates', HB, '2026-03-13T23:30:00Z', '2026-03-13T23:30:00Z', [{ date: '2026-03-14', reason: 'weekend' }]],
    ['to before from', HB, '2026-03-15T00:00:00+01:00', '2026-03-14T00:00:00+01:00', []],
    ['24x7', '24x7', '2025-12-20T00:00:00+01:00', '2026-01-04T00:00:00+01:00', []],
  ];
  it.each(cases)('%s', (_name, cal, from, to, expected) => {
    expect(closedDaysBetween(cal, at(from), at(to))).toEqual(expected);
  });
});

describe('describeCalendar', () => {
  const cases: [string, Calendar, string][] = [
    ['HB', HB, 'Europe/Berlin, Mon–Fri 08:00–18:00, holidays DE-HB, half days 24/31 Dec'],
    ['HB_FULL_DAYS', HB_FULL_DAYS, 'Europe/Berlin, Mon–Fri 08:00–18:00, holidays DE-HB'],
    ['SPLIT', SPLIT, 'Europe/Berlin, Mon–Tue 08:00–12:00 & 13:00–17:00, Thu 08:00–12:00 & 13:00–17:00, Fri 08:00–14:00, holidays DE-HB, half days 24/31 Dec'],
    ['ALL_DAY', ALL_DAY, 'Europe/Berlin, Mon–Sun 00:00–24:00'],
    ['NO_HOURS', NO_HOURS, 'Europe/Berlin, never open'],
    ['24x7', '24x7', '24x7'],
  ];
  it.each(cases)('%s', (_name, cal, expected) => {
    expect(describeCalendar(cal)).toBe(expected);
  });
});

describe('parseBusinessDuration', () => {
  const accepted: [string, number, number][] = [
    ['P2D', 2, 0],
    ['PT4H', 0, 4 * H],
    ['P1DT2H', 1, 2 * H],
    ['P1W', 5, 0],
    ['P2W3D', 13, 0],
    ['PT90M', 0, 90 * M],
    ['PT1H30M15S', 0, H + 30 * M + 15_000],
    ['PT1.5H', 0, 1.5 * H],
    ['PT0,5S', 0, 500],
    ['P0D', 0, 0],
  ];
  it.each(accepted)('accepts %s', (iso, days, ms) => {
    expect(parseBusinessDuration(iso)).toEqual({ days, ms });
    expect(BusinessDurationSchema.safeParse(iso).success).toBe(true);
  });

  const rejected: [string, RegExp][] = [
    ['P1Y', /years and months/],
    ['P1M', /years and months/],
    ['P1Y2M3D', /years and months/],
    ['PT', /expected an ISO 8601 duration/],
    ['', /expected an ISO 8601 duration/],
    ['P', /expected an ISO 8601 duration/],
    ['P1DT', /expected an ISO 8601 duration/],
    ['1D', /expected an ISO 8601 duration/],
    ['-P1D', /expected an ISO 8601 duration/],
    ['p1d', /expected an ISO 8601 duration/],
    ['P1.5D', /expected an ISO 8601 duration/],
    ['PT1H ', /expected an ISO 8601 duration/],
  ];
  it.each(rejected)('rejects %j', (iso, why) => {
    expect(() => parseBusinessDuration(iso)).toThrow(why);
    expect(() => parseBusinessDuration(iso)).toThrow(JSON.stringify(iso));
    const result = BusinessDurationSchema.safeParse(iso);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(why);
  });
});

describe('guards and speed', () => {
  it('a calendar without hours throws instead of hanging', () => {
    const from = at('2026-03-16T10:00:00+01:00');
    expect(() => addBusinessTime(NO_HOURS, from, 'PT1H')).toThrow(/has no opening hours/);
    expect(() => addBusinessTime(NO_HOURS, from, 'P1D')).toThrow(/has no opening hours/);
    expect(() => nextOpening(NO_HOURS, from)).toThrow(/has no opening hours/);
    expect(() => addBusinessMs(NO_HOURS, from, 1)).toThrow(/has no opening hours/);
    expect(isOpenAt(NO_HOURS, from)).toBe(false);
    expect(businessMsBetween(NO_HOURS, from, from + 7 * 24 * H)).toBe(0);
  });

  it('P10D across Christmas and the year end lands on the right day', () => {
    const from = at('2026-12-14T09:15:00+01:00');
    // Speed of the day walk is measured in `npm run bench`, never asserted here.
    expectInstant(addBusinessTime(HB, from, 'P10D'), '2026-12-29T09:15:00+01:00');
  });
});
