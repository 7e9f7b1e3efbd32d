/**
 * The demo's simulated office time. Only office hours are simulated: a
 * workday runs from 08:00 to 18:00, Monday to Friday, and the clock jumps from
 * one evening to the next morning (nobody calls the 115 at night, and the
 * dashboard should not stand still for fourteen hours). `--speed N` makes one
 * simulated office hour pass in 1/N of a real hour. Pure: real time comes in
 * as an argument.
 */

export const OFFICE_START_HOUR = 8;
export const OFFICE_HOURS = 10;
export const HOUR_MS = 3_600_000;
export const WORKDAY_MS = OFFICE_HOURS * HOUR_MS;
const WEEKDAYS = ['Mo', 'Di', 'Mi', 'Do', 'Fr'] as const;

/** Simulated office time (ms since the first morning) after `realElapsedMs` at `speed`. */
export function officeTimeAt(realElapsedMs: number, speed: number): number {
  return Math.max(0, realElapsedMs) * speed;
}

/** Real milliseconds a span of simulated office time takes at `speed`. */
export function realMsFor(officeMs: number, speed: number): number {
  return officeMs / speed;
}

export interface OfficeClock {
  /** Workdays since the start, 0 on the first (a Monday). */
  day: number;
  weekday: (typeof WEEKDAYS)[number];
  hour: number;
  minute: number;
}

/** Where in the working week an office-time offset falls: day 0 is a Monday, 08:00 is offset 0. */
export function officeClock(officeMs: number): OfficeClock {
  const day = Math.floor(officeMs / WORKDAY_MS);
  const intoDay = officeMs - day * WORKDAY_MS;
  const minutes = Math.floor(intoDay / 60_000);
  return { day, weekday: WEEKDAYS[day % 5]!, hour: OFFICE_START_HOUR + Math.floor(minutes / 60), minute: minutes % 60 };
}

/** `Mo 09:05` (week 1), `Tag 6 Mo 09:05` from the second week on. */
export function formatOfficeClock(c: OfficeClock): string {
  const hhmm = `${String(c.hour).padStart(2, '0')}:${String(c.minute).padStart(2, '0')}`;
  return c.day < 5 ? `${c.weekday} ${hhmm}` : `Tag ${c.day + 1} ${c.weekday} ${hhmm}`;
}

/**
 * How busy the desks are in each office hour (08–09 … 17–18), relative to an
 * average hour: a morning peak, a dip at lunch, a quieter late afternoon.
 * The factors average 1, so a day's volume is what was asked for.
 */
const HOURLY_LOAD = [0.8, 1.35, 1.4, 1.2, 0.75, 1.0, 1.15, 0.95, 0.75, 0.65];

export function loadFactorAt(officeMs: number): number {
  const hour = Math.floor((officeMs % WORKDAY_MS) / HOUR_MS);
  return HOURLY_LOAD[hour] ?? 1;
}

/**
 * The next arrival after `officeMs` of a Poisson process whose rate follows
 * the day's load curve (`perWorkday` arrivals a day on average), drawn with
 * `u` in [0, 1). Thinning against the busiest hour keeps the draw exact.
 */
export function nextArrival(officeMs: number, perWorkday: number, random: () => number): number {
  const peak = Math.max(...HOURLY_LOAD);
  const peakRatePerMs = (perWorkday / WORKDAY_MS) * peak;
  let t = officeMs;
  for (;;) {
    t += -Math.log(1 - random()) / peakRatePerMs;
    if (random() < loadFactorAt(t) / peak) return t;
  }
}
