import { z } from 'zod';

/**
 * Organisation, service and ticket ids end up in BullMQ queue names and job
 * ids, which must not contain `:` and must not be all digits.
 */
export const IdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'letters, digits, - and _ only (at most 63), starting with a letter or digit')
  .refine((s) => !/^\d+$/.test(s), 'must not be all digits');

export const LAND_CODES = [
  'SH', 'HH', 'NI', 'HB', 'NW', 'HE', 'RP', 'BW', 'BY', 'SL', 'BE', 'BB', 'MV', 'SN', 'ST', 'TH',
] as const;
export const LandCodeSchema = z.enum(LAND_CODES);
export type LandCode = z.infer<typeof LandCodeSchema>;
