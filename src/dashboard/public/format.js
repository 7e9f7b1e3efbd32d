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

/** Short ticket id for tables: the tail is what tells tickets apart. */
export const shortId = (id) => (id.length > 12 ? `…${id.slice(-8)}` : id);
