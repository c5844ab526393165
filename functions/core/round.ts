/**
 * Rounds are bimonthly: a round opens on the first of January, March, May, July, September
 * and November, Paris time, and is named after its opening month (`2026-03`). A dossier
 * belongs to the round in which it was deposited.
 */
export const UNASSIGNED_ROUND = 'unassigned';

const parisParts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit' });

export function roundOf(dateDepot: string | null | undefined): string {
  if (!dateDepot) return UNASSIGNED_ROUND;
  const date = new Date(dateDepot);
  if (Number.isNaN(date.getTime())) return UNASSIGNED_ROUND;
  const parts = Object.fromEntries(parisParts.formatToParts(date).map((p) => [p.type, p.value]));
  const month = Number(parts.month);
  const opening = month % 2 === 1 ? month : month - 1;
  return `${parts.year}-${String(opening).padStart(2, '0')}`;
}
