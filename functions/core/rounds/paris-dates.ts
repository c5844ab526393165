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

/** `mardi 31 mars 2026 à 14:00 (heure de Paris)`. */
export function readableParisDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${READABLE.format(date)} (heure de Paris)`;
}
