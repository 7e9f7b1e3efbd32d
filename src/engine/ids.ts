import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Ticket ids sort by creation time (a ULID with a `T` in front): the list
 * indexes page through them in lexical order. Never all digits, never a `:`.
 */
export function newTicketId(at: number): string {
  let time = '';
  for (let t = at, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  const bytes = randomBytes(10);
  let rand = '';
  for (let i = 0; i < 10; i++) rand += CROCKFORD[bytes[i]! % 32];
  return `T${time}${rand}`;
}

export const TICKET_ID_PATTERN = /^T[0-9A-HJKMNP-TV-Z]{20}$/;
