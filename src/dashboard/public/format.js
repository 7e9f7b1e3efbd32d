const dateTime = new Intl.DateTimeFormat('de-DE', { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
const compact = (s) => s.replace(',', '');
const time = new Intl.DateTimeFormat('de-DE', { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'Europe/Berlin' });
const number = new Intl.NumberFormat('de-DE');

export const fmtDateTime = (iso) => (iso ? compact(dateTime.format(new Date(iso))) : '–');
export const fmtTime = (d) => time.format(d);
export const fmtNumber = (n) => number.format(n);

/** Business milliseconds as "2 h 05 min" / "12 min". */
export function fmtBusiness(ms) {
  const minutes = Math.max(0, Math.round(ms / 60000));
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return hours > 0 ? `${hours} h ${String(rest).padStart(2, '0')} min` : `${rest} min`;
}

/**
 * A clock's business time left, as the at-risk panel shows it: none left while its due time is still
 * ahead means the office is closed until then (a ticket due at 08:00, seen at night), which reads
 * `atOpening` and is no breach; none left at or after the due time is one.
 */
export function businessLeft(msLeft, dueAt, now, atOpening) {
  const waitsForOpening = msLeft === 0 && Date.parse(dueAt) > now;
  return { text: waitsForOpening ? atOpening : fmtBusiness(msLeft), due: msLeft === 0 && !waitsForOpening };
}

/** Short ticket id for tables: the tail is what tells tickets apart. */
export const shortId = (id) => (id.length > 12 ? `…${id.slice(-8)}` : id);
