/** Calendar days and readable dates in Paris time (the programme's time zone). */

const DAY_PARTS = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });
const READABLE = new Intl.DateTimeFormat('fr-FR', {
  timeZone: 'Europe/Paris', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit',
});

export const DAY_MS = 86_400_000;

/** `YYYY-MM-DD`, the Paris calendar day of an instant. */
export function parisDay(at: Date): string {
  const parts = Object.fromEntries(DAY_PARTS.formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

const CALENDAR_DAY = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** French writes the first day of a month "1er" (Intl says "1"). */
const firstOfMonth = (text: string) => text.replace(/(^|\s)1 (?=\p{L})/u, '$11er ');

/** `mardi 31 mars 2026 à 14:00 (heure de Paris)`; `mercredi 1er avril ...`. */
export function readableParisDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${firstOfMonth(READABLE.format(date))} (heure de Paris)`;
}

/** A calendar date (`2026-10-01`) as `1er octobre 2026`; undefined when it is not a date. */
export function readableCalendarDay(isoDay: string): string | undefined {
  const date = new Date(`${isoDay.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? undefined : firstOfMonth(CALENDAR_DAY.format(date));
}
