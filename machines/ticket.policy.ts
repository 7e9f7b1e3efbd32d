import type { LandCode } from '../src/domain/ids.js';
import type { Role } from '../src/domain/topology.js';

/** Who sent an event: a caller with a key, or Lotse itself (timers, policies). */
export type Actor =
  | { type: 'principal'; orgId: string; role: Role; land?: LandCode | undefined }
  | { type: 'system' };

export const SYSTEM: Actor = { type: 'system' };
