import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Ticket ids sort by creation time (a ULID with a `T` in front): the list
 * indexes page through them in lexical order. Never all digits, never a `:`.
 */
export function newTicketId(at: number): string {
  let time = '';
  for (let t = at, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  let rand = '';
  for (let i = 0; i < 10; i++) rand += CROCKFORD[nextRandomByte() % 32];
  return `T${time}${rand}`;
}

// One system call for many ids: randomBytes per id is a measurable cost at intake rates.
let pool = Buffer.alloc(0);
let offset = 0;
function nextRandomByte(): number {
  if (offset >= pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  return pool[offset++]!;
}

/** A ticket id: `T` and the ULID, and in a partition other than 0 its number (`-<p>`, src/domain/partitions.ts). */
export const TICKET_ID_PATTERN = /^T[0-9A-HJKMNP-TV-Z]{20}(?:-[1-9][0-9]?)?$/;
