import type { BacklogLink } from '../../domain/backlog-policy.js';

/** The description of an item the recurring-problem window opened: how many tickets from how many Länder say the same. */
export const recurringDescription = (tickets: number, lands: number, windowDays: number): string =>
  `${tickets} ${tickets === 1 ? 'technisches Ticket' : 'technische Tickets'} aus ${lands} ${lands === 1 ? 'Land' : 'Ländern'} ` +
  `innerhalb von ${windowDays} ${windowDays === 1 ? 'Tag' : 'Tagen'} ${tickets === 1 ? 'meldet' : 'melden'} dasselbe.`;

const RECURRING = /^\d+ technisches? Tickets? aus \d+ (?:Land|Ländern) innerhalb von (\d+) Tag(?:en)? melde[nt] dasselbe\.$/;

/**
 * The description an item has once `incoming` joins its links: an item the
 * window opened says its counts, kept current as tickets join; any other
 * item's description (a suggestion's words) stays as it was written. Null
 * when nothing changes.
 */
export function describeAfterLinks(description: string, links: readonly BacklogLink[], incoming: readonly BacklogLink[]): string | null {
  const m = RECURRING.exec(description);
  if (!m) return null;
  const seen = new Set(links.map((l) => l.ticketId));
  const all = [...links, ...incoming.filter((l) => !seen.has(l.ticketId))];
  const next = recurringDescription(all.length, new Set(all.map((l) => l.land)).size, Number(m[1]));
  return next === description ? null : next;
}
