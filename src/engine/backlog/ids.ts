import { createHash } from 'node:crypto';

/** Item ids from what made them (a suggestion job, a split), so a retry makes the same item, never a second. */
export const itemIdFor = (origin: string) => `B${createHash('sha256').update(origin).digest('base64url').replace(/[-_]/g, '').slice(0, 20)}`;
