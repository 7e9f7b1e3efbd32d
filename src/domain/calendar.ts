import { z } from 'zod';

/** Weekday keys of a calendar's opening hours, Monday first. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HHMM = '([01]\\d|2[0-3]):[0-5]\\d';
/** An opening interval in local time, `08:00-18:00`; `24:00` may end a day. */
export const OpeningIntervalSchema = z
  .string()
  .regex(new RegExp(`^${HHMM}-(${HHMM}|24:00)$`), 'expected an interval like 08:00-18:00')
  .refine((s) => s.slice(0, 5) < s.slice(6), 'the interval must end after it starts');

export const OpeningHoursSchema = z.strictObject(
  Object.fromEntries(WEEKDAYS.map((d) => [d, z.array(OpeningIntervalSchema).max(8).optional()])) as Record<
    Weekday,
    z.ZodOptional<z.ZodArray<typeof OpeningIntervalSchema>>
  >,
);
export type OpeningHours = z.infer<typeof OpeningHoursSchema>;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * An organisation's business calendar: the hours it is open in its time zone,
 * closed on the public holidays of a date-holidays region (`DE-HB`), and, with
 * such a region and `halfDays` on (the default), closed from 14:00 on 24 and
 * 31 December.
 * The literal `24x7` is always open.
 */
export const OfficeCalendarSchema = z.strictObject({
  timezone: z.string().refine(isTimeZone, 'unknown IANA time zone').default('Europe/Berlin'),
  hours: OpeningHoursSchema,
  holidays: z
    .string()
    .regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, 'expected a date-holidays region like DE-HB')
    .optional(),
  halfDays: z.boolean().default(true),
});
export type OfficeCalendar = z.infer<typeof OfficeCalendarSchema>;

export const CalendarSchema = z.union([z.literal('24x7'), OfficeCalendarSchema]);
export type Calendar = z.infer<typeof CalendarSchema>;
