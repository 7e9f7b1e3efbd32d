/**
 * Business-time maths for SLA clocks: when an organisation's calendar is open,
 * and how far an SLA deadline moves when only open time counts.
 *
 * Pure: no I/O, no clock, no randomness. The module-level caches below only
 * memoise deterministic lookups (holiday tables, time-zone offsets).
 *
 * ## Opening model
 * - `'24x7'` is always open.
 * - An office calendar is open during its weekday intervals, read as wall-clock
 *   times in its own IANA time zone, so a Mon–Fri 08:00–18:00 office opens at
 *   07:00Z in winter and 06:00Z in summer. A wall time that does not exist
 *   (spring-forward gap) is read as the instant just after the gap; a wall time
 *   that occurs twice (fall-back overlap) is read as its first occurrence (this
 *   is Temporal's `'compatible'` disambiguation). An interval `00:00-24:00` is
 *   therefore 23 h long on the last Sunday of March and 25 h in October.
 * - With a `holidays` region (`DE-HB`), its public holidays (date-holidays type
 *   `public`) are closed all day; `bank`/`observance` days close nothing. With
 *   `halfDays` on as well, 24 and 31 December close at 14:00 local time, unless
 *   that date is a public holiday there anyway. Without a region, only the
 *   weekday hours apply (no holidays and no half days).
 *
 * ## Durations (ISO 8601, {@link parseBusinessDuration})
 * `P[n]W[n]DT[n]H[n]M[n]S`; one week is 5 business days; years and months are
 * rejected because business months have no fixed length. `H`/`M`/`S` are open
 * time: `PT4H` from Fri 17:00 in an 08:00–18:00 office ends Mon 11:00.
 *
 * `D` counts *open days* (local days with any opening left after holidays and
 * half days), not elapsed time. `from + nD` is computed as:
 * 1. If `from` is closed, start at the next opening instead.
 * 2. Take the start's local wall time of day, and the n-th open day after the
 *    start's local day (a half day counts as an open day).
 * 3. If that wall time is open on the target day, that is the result.
 *    Otherwise the target day closed early or opens late: the open time the
 *    target day lost before that wall time, compared with its regular weekday
 *    hours (i.e. the half-day cut), is carried into the following opening
 *    hours. If nothing was lost (a lunch break, a later opening, a regularly
 *    short day) the result is the next opening after that wall time.
 * So Wed 10:00 + P2D = Fri 10:00, Fri 17:30 + P1D = Mon 17:30, and
 * Wed 23 Dec 16:00 + P1D = Mon 28 Dec 10:00 (24 Dec lost 14:00–16:00 = 2 h,
 * 25/26 Dec are holidays). On `'24x7'`, 1D is 24 h of elapsed time.
 * The `H`/`M`/`S` part is then added as open time from that result.
 *
 * Adding open time returns the *earliest* instant `t >= from` with
 * `businessMsBetween(from, t) === ms`: a deadline that uses up the day's last
 * minute is the closing instant (Fri 18:00), not Monday's opening, and adding
 * zero returns `from` unchanged even when closed.
 *
 * ## Cost
 * Everything walks local days with interval arithmetic: O(days spanned), about
 * one Intl offset lookup per new day. A calendar that never opens throws
 * instead of looping; so does any walk that meets {@link MAX_CLOSED_DAYS}
 * closed days in a row.
 */
import Holidays from 'date-holidays';
import { z } from 'zod';
import { WEEKDAYS, type Calendar, type OfficeCalendar, type Weekday } from './calendar.js';

/** A parsed duration: whole business days, then open-time milliseconds. */
export interface BusinessDuration {
  days: number;
  ms: number;
}

export interface ClosedDay {
  /** Local calendar date, `YYYY-MM-DD`. */
  date: string;
  reason: 'weekend' | 'holiday' | 'half-day' | 'closed';
  /** German holiday name, e.g. `Reformationstag`, `Heiliger Abend`. */
  name?: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A walk that finds no opening for this long assumes the calendar never opens. */
const MAX_CLOSED_DAYS = 3 * 366;
/** Business days per ISO week (`P1W`). */
const DAYS_PER_WEEK = 5;
const HALF_DAY_CLOSE = 14 * HOUR;
const HALF_DAYS: Readonly<Record<string, string>> = { '12-24': 'Heiliger Abend', '12-31': 'Silvester' };

/** `[start, end)`: epoch ms for instants, ms since local midnight for wall times. */
type Span = readonly [start: number, end: number];

// ---------------------------------------------------------------------------
// Durations

const DURATION_RE =
  /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/**
 * Parses an ISO 8601 duration into business days and open-time ms.
 * `P1W` = 5 days; `H`/`M`/`S` may carry a decimal fraction (`PT1.5H`).
 * Throws an Error naming the input for years, months, signs or bad syntax.
 */
export function parseBusinessDuration(iso: string): BusinessDuration {
  const m = DURATION_RE.exec(iso);
  if (!m) {
    const datePart = /^P([^T]*)/.exec(iso)?.[1] ?? '';
    const why = /\d[YM]/.test(datePart)
      ? 'years and months are not supported (their business length varies); use weeks or days, e.g. P4W or P20D'
      : 'expected an ISO 8601 duration such as P2D, PT4H, P1DT2H or P1W';
    throw new Error(`Invalid business duration ${JSON.stringify(iso)}: ${why}`);
  }
  const num = (s: string | undefined): number => (s ? Number(s.replace(',', '.')) : 0);
  const days = num(m[1]) * DAYS_PER_WEEK + num(m[2]);
  const ms = Math.round(num(m[3]) * HOUR + num(m[4]) * MINUTE + num(m[5]) * SECOND);
  if (!Number.isSafeInteger(days) || !Number.isSafeInteger(ms)) {
    throw new Error(`Invalid business duration ${JSON.stringify(iso)}: too large`);
  }
  return { days, ms };
}

/** A string that {@link parseBusinessDuration} accepts; the issue carries its message. */
export const BusinessDurationSchema: z.ZodType<string> = z.string().superRefine((s, ctx) => {
  try {
    parseBusinessDuration(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

function toDuration(duration: string | BusinessDuration): BusinessDuration {
  if (typeof duration === 'string') return parseBusinessDuration(duration);
  const { days, ms } = duration;
  if (!Number.isSafeInteger(days) || days < 0 || !Number.isFinite(ms) || ms < 0) {
    throw new Error(`Invalid business duration ${JSON.stringify(duration)}: days and ms must be >= 0`);
  }
  return duration;
}

// ---------------------------------------------------------------------------
// Time zones. "Wall" values are local date-times encoded as if they were UTC
// epoch ms, so local days can be stepped with plain `+ DAY` arithmetic.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    // Building a formatter costs far more than using one, hence the cache.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The local wall time of an instant (ms precision). */
function formatWallAt(tz: string, at: number): number {
  const p: Record<string, number> = {};
  for (const { type, value } of formatterFor(tz).formatToParts(at)) p[type] = Number(value);
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = p;
  const subSecond = ((at % SECOND) + SECOND) % SECOND;
  return Date.UTC(year, month - 1, day, hour % 24, minute, second) + subSecond;
}

// Zone offsets are multiples of 15 minutes and change on such boundaries, so
// the offset is constant within each 15-minute bucket: one Intl call per
// bucket, memoised (Intl formatting is the dominant cost otherwise). Bounded
// and deterministic.
const BUCKET = 15 * MINUTE;
const offsetMemo = new Map<string, Map<number, number>>();

function offsetAt(tz: string, at: number): number {
  const bucket = Math.floor(at / BUCKET) * BUCKET;
  let zone = offsetMemo.get(tz);
  if (!zone) offsetMemo.set(tz, (zone = new Map()));
  let off = zone.get(bucket);
  if (off === undefined) {
    off = formatWallAt(tz, bucket) - bucket;
    if (zone.size >= 50_000) zone.clear();
    zone.set(bucket, off);
  }
  return off;
}

function wallAt(tz: string, at: number): number {
  return at + offsetAt(tz, at);
}

/**
 * Converts wall times of one local day (`dayWall` = its midnight) to instants.
 * Probing one day either side covers every zone's offset range; when both
 * probes agree there is no transition nearby (zones change at most a few
 * times a year), else each wall time is resolved against both offsets.
 */
function wallsToInstants(tz: string, dayWall: number, walls: readonly number[]): number[] {
  const before = offsetAt(tz, dayWall - DAY);
  const after = offsetAt(tz, dayWall + 2 * DAY);
  if (before === after) return walls.map((w) => w - before);
  return walls.map((w) => {
    // Earliest valid reading first (overlap); in a gap neither reading is
    // valid and the pre-transition offset lands just after the gap.
    if (offsetAt(tz, w - before) === before) return w - before;
    if (offsetAt(tz, w - after) === after) return w - after;
    return w - before;
  });
}

function localDayOf(tz: string, at: number): number {
  return Math.floor(wallAt(tz, at) / DAY) * DAY;
}

const isoDates = new Map<number, string>();
function isoDate(dayWall: number): string {
  let date = isoDates.get(dayWall);
  if (date === undefined) {
    date = new Date(dayWall).toISOString().slice(0, 10);
    if (isoDates.size >= 20_000) isoDates.clear();
    isoDates.set(dayWall, date);
  }
  return date;
}

function weekdayOf(dayWall: number): Weekday {
  // getUTCDay: 0 = Sunday; WEEKDAYS starts on Monday.
  return WEEKDAYS[(new Date(dayWall).getUTCDay() + 6) % 7] as Weekday;
}

// ---------------------------------------------------------------------------
// Holidays

const holidayEngines = new Map<string, Holidays>();
const holidayYears = new Map<string, ReadonlyMap<string, string>>();

function holidayEngine(region: string): Holidays {
  let hd = holidayEngines.get(region);
  if (!hd) {
    const [country = '', state] = region.split('-');
    hd = new Holidays();
    // date-holidays silently falls back to the country for unknown states,
    // which would quietly drop e.g. Reformation Day: refuse instead.
    const known = state ? Boolean(hd.getStates(country)?.[state]) : Boolean(hd.getCountries()[country]);
    if (!known) throw new Error(`Unknown holiday region ${JSON.stringify(region)} (expected e.g. DE-HB)`);
    if (state) hd.init(country, state, { languages: 'de' });
    else hd.init(country, { languages: 'de' });
    holidayEngines.set(region, hd);
  }
  return hd;
}

/** Public holidays of a region and year: local date -> German name. */
function publicHolidays(region: string, year: number): ReadonlyMap<string, string> {
  const key = `${region}|${year}`;
  let table = holidayYears.get(key);
  if (!table) {
    const names = new Map<string, string>();
    for (const h of holidayEngine(region).getHolidays(year)) {
      if (h.type !== 'public') continue;
      const date = h.date.slice(0, 10);
      const prev = names.get(date);
      names.set(date, prev ? `${prev} / ${h.name}` : h.name);
    }
    table = names;
    holidayYears.set(key, table);
  }
  return table;
}

function holidayName(cal: OfficeCalendar, date: string): string | undefined {
  return cal.holidays ? publicHolidays(cal.holidays, Number(date.slice(0, 4))).get(date) : undefined;
}

/** Name of the half day (24/31 Dec) when this calendar closes early on `date`. */
function halfDayName(cal: OfficeCalendar, date: string): string | undefined {
  return cal.holidays && cal.halfDays ? HALF_DAYS[date.slice(5)] : undefined;
}

// ---------------------------------------------------------------------------
// Opening intervals of one local day

const parsedHours = new WeakMap<OfficeCalendar['hours'], ReadonlyMap<Weekday, readonly Span[]>>();

function parseInterval(text: string): Span {
  const m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(text);
  if (!m) throw new Error(`Invalid opening interval ${JSON.stringify(text)} (expected e.g. 08:00-18:00)`);
  const [, h1, m1, h2, m2] = m.map(Number) as [number, number, number, number, number];
  return [h1 * HOUR + m1 * MINUTE, h2 * HOUR + m2 * MINUTE];
}

/** Sorts and merges overlapping or touching spans so open time is never double-counted. */
function mergeSpans(spans: readonly Span[]): Span[] {
  const out: [number, number][] = [];
  for (const [s, e] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else if (e > s) out.push([s, e]);
  }
  return out;
}

/** Regular weekday hours as wall-time spans since midnight, parsed once per calendar. */
function weeklyHours(cal: OfficeCalendar): ReadonlyMap<Weekday, readonly Span[]> {
  let week = parsedHours.get(cal.hours);
  if (!week) {
    week = new Map(WEEKDAYS.map((d) => [d, mergeSpans((cal.hours[d] ?? []).map(parseInterval))]));
    parsedHours.set(cal.hours, week);
  }
  return week;
}

function hasAnyHours(cal: OfficeCalendar): boolean {
  return [...weeklyHours(cal).values()].some((spans) => spans.length > 0);
}

function assertCanOpen(cal: OfficeCalendar): void {
  if (!hasAnyHours(cal)) {
    throw new Error(`Calendar "${describeCalendar(cal)}" has no opening hours, so business time never elapses`);
  }
}

/** Wall-time spans the calendar is open on a local day, after holidays and (unless regular) half days. */
function wallSpans(cal: OfficeCalendar, dayWall: number, regular = false): readonly Span[] {
  const date = isoDate(dayWall);
  if (holidayName(cal, date) !== undefined) return [];
  const spans = weeklyHours(cal).get(weekdayOf(dayWall)) ?? [];
  if (regular || halfDayName(cal, date) === undefined) return spans;
  return spans.filter(([s]) => s < HALF_DAY_CLOSE).map(([s, e]) => [s, Math.min(e, HALF_DAY_CLOSE)] as const);
}

// Every clock of every ticket walks the same few days, so each calendar keeps
// its days' open instants. Keyed by the calendar object (topologies are
// frozen once parsed); bounded; deterministic.
const daySpans = new WeakMap<OfficeCalendar, Map<number, Span[]>>();

/** Open instants of a local day, sorted and disjoint. */
function openSpans(cal: OfficeCalendar, dayWall: number, regular = false): Span[] {
  let days = daySpans.get(cal);
  if (!days) daySpans.set(cal, (days = new Map()));
  const key = regular ? -dayWall - 1 : dayWall;
  let spans = days.get(key);
  if (spans === undefined) {
    spans = computeOpenSpans(cal, dayWall, regular);
    if (days.size >= 10_000) days.clear();
    days.set(key, spans);
  }
  return spans;
}

function computeOpenSpans(cal: OfficeCalendar, dayWall: number, regular: boolean): Span[] {
  const spans = wallSpans(cal, dayWall, regular);
  if (spans.length === 0) return [];
  const instants = wallsToInstants(
    cal.timezone,
    dayWall,
    spans.flatMap(([s, e]) => [dayWall + s, dayWall + e]),
  );
  return spans.map((_, i) => [instants[2 * i] ?? 0, instants[2 * i + 1] ?? 0] as const);
}

/** Open ms of `spans` within `[from, to)`. */
function overlapMs(spans: readonly Span[], from: number, to: number): number {
  let sum = 0;
  for (const [s, e] of spans) sum += Math.max(0, Math.min(e, to) - Math.max(s, from));
  return sum;
}

function noOpeningError(cal: OfficeCalendar, at: number): Error {
  return new Error(
    `Calendar "${describeCalendar(cal)}" stays closed for ${MAX_CLOSED_DAYS} days after ${new Date(at).toISOString()}`,
  );
}

// ---------------------------------------------------------------------------
// Public API

export function isOpenAt(cal: Calendar, at: number): boolean {
  if (cal === '24x7') return true;
  return openSpans(cal, localDayOf(cal.timezone, at)).some(([s, e]) => s <= at && at < e);
}

/** The first open instant at or after `at` (`at` itself when open). */
export function nextOpening(cal: Calendar, at: number): number {
  if (cal === '24x7') return at;
  assertCanOpen(cal);
  let day = localDayOf(cal.timezone, at);
  for (let i = 0; i <= MAX_CLOSED_DAYS; i++, day += DAY) {
    for (const [s, e] of openSpans(cal, day)) if (e > at) return Math.max(s, at);
  }
  throw noOpeningError(cal, at);
}

/** The earliest instant `t >= from` with `businessMsBetween(cal, from, t) === ms`. */
export function addBusinessMs(cal: Calendar, from: number, ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`Business ms must be a finite number >= 0, got ${ms}`);
  if (cal === '24x7' || ms === 0) return from + ms;
  assertCanOpen(cal);
  let remaining = ms;
  let day = localDayOf(cal.timezone, from);
  for (let closed = 0; closed <= MAX_CLOSED_DAYS; day += DAY) {
    const spans = openSpans(cal, day);
    closed = spans.length === 0 ? closed + 1 : 0;
    for (const [s, e] of spans) {
      const start = Math.max(s, from);
      if (e <= start) continue;
      if (remaining <= e - start) return start + remaining;
      remaining -= e - start;
    }
  }
  throw noOpeningError(cal, from);
}

/** Adds `days` business days per the D semantics in the module comment. */
function addBusinessDays(cal: Calendar, from: number, days: number): number {
  if (cal === '24x7') return from + days * DAY;
  const start = nextOpening(cal, from);
  const startWall = wallAt(cal.timezone, start);
  const timeOfDay = startWall - Math.floor(startWall / DAY) * DAY;
  let day = startWall - timeOfDay;
  let left = days;
  for (let closed = 0; left > 0 && closed <= MAX_CLOSED_DAYS; ) {
    day += DAY;
    const open = openSpans(cal, day).length > 0;
    left -= open ? 1 : 0;
    closed = open ? 0 : closed + 1;
  }
  if (left > 0) throw noOpeningError(cal, from);
  return landOnDay(cal, day, timeOfDay);
}

/** The instant at `timeOfDay` on an open local day, carrying time the day lost to an early close. */
function landOnDay(cal: OfficeCalendar, dayWall: number, timeOfDay: number): number {
  const [target = 0] = wallsToInstants(cal.timezone, dayWall, [dayWall + timeOfDay]);
  const actual = openSpans(cal, dayWall);
  if (actual.some(([s, e]) => s <= target && target < e)) return target;
  const [midnight = 0] = wallsToInstants(cal.timezone, dayWall, [dayWall]);
  const lost = overlapMs(openSpans(cal, dayWall, true), midnight, target) - overlapMs(actual, midnight, target);
  return lost > 0 ? addBusinessMs(cal, target, lost) : nextOpening(cal, target);
}

/** Adds an ISO 8601 duration (or a parsed one): business days first, then open time. */
export function addBusinessTime(cal: Calendar, from: number, duration: string | BusinessDuration): number {
  const { days, ms } = toDuration(duration);
  const afterDays = days > 0 ? addBusinessDays(cal, from, days) : from;
  return addBusinessMs(cal, afterDays, ms);
}

/** Open milliseconds in `[from, to)`; 0 when `to <= from`. */
export function businessMsBetween(cal: Calendar, from: number, to: number): number {
  if (to <= from) return 0;
  if (cal === '24x7') return to - from;
  const last = localDayOf(cal.timezone, to);
  let sum = 0;
  for (let day = localDayOf(cal.timezone, from); day <= last; day += DAY) {
    sum += overlapMs(openSpans(cal, day), from, to);
  }
  return sum;
}

/**
 * Local days from `from`'s date to `to`'s date (inclusive) on which the
 * calendar is fully or partly closed. A public holiday is reported as
 * `holiday` even on a weekend; a half day only where it shortens the hours.
 */
export function closedDaysBetween(cal: Calendar, from: number, to: number): ClosedDay[] {
  if (cal === '24x7' || to < from) return [];
  const out: ClosedDay[] = [];
  const last = localDayOf(cal.timezone, to);
  for (let day = localDayOf(cal.timezone, from); day <= last; day += DAY) {
    const closed = closedDay(cal, day);
    if (closed) out.push(closed);
  }
  return out;
}

function closedDay(cal: OfficeCalendar, dayWall: number): ClosedDay | undefined {
  const date = isoDate(dayWall);
  const holiday = holidayName(cal, date);
  if (holiday !== undefined) return { date, reason: 'holiday', name: holiday };
  const weekday = weekdayOf(dayWall);
  const regular = weeklyHours(cal).get(weekday) ?? [];
  if (regular.length === 0) return { date, reason: weekday === 'sat' || weekday === 'sun' ? 'weekend' : 'closed' };
  const halfDay = halfDayName(cal, date);
  if (halfDay !== undefined && regular.some(([, e]) => e > HALF_DAY_CLOSE)) {
    return { date, reason: 'half-day', name: halfDay };
  }
  return undefined;
}

const DAY_LABELS: Readonly<Record<Weekday, string>> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};

function formatWall(ms: number): string {
  const h = Math.floor(ms / HOUR);
  const m = Math.floor((ms % HOUR) / MINUTE);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** Groups runs of consecutive weekdays with identical hours: "Mon–Fri 08:00–18:00". */
function describeHours(cal: OfficeCalendar): string[] {
  const week = weeklyHours(cal);
  const text = (d: Weekday): string =>
    (week.get(d) ?? []).map(([s, e]) => `${formatWall(s)}–${formatWall(e)}`).join(' & ');
  const groups: { first: Weekday; last: Weekday; hours: string }[] = [];
  for (const d of WEEKDAYS) {
    const hours = text(d);
    const prev = groups.at(-1);
    if (prev && prev.hours === hours && WEEKDAYS.indexOf(prev.last) === WEEKDAYS.indexOf(d) - 1) prev.last = d;
    else groups.push({ first: d, last: d, hours });
  }
  return groups
    .filter((g) => g.hours !== '')
    .map((g) => `${DAY_LABELS[g.first]}${g.first === g.last ? '' : `–${DAY_LABELS[g.last]}`} ${g.hours}`);
}

/** Short human text, e.g. "Europe/Berlin, Mon–Fri 08:00–18:00, holidays DE-HB, half days 24/31 Dec". */
export function describeCalendar(cal: Calendar): string {
  if (cal === '24x7') return '24x7';
  const hours = describeHours(cal);
  const parts = [cal.timezone, ...(hours.length > 0 ? hours : ['never open'])];
  if (cal.holidays) parts.push(`holidays ${cal.holidays}`);
  if (cal.holidays && cal.halfDays) parts.push('half days 24/31 Dec');
  return parts.join(', ');
}
