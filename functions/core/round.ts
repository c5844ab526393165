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

/** The round after `roundId` (two months later): `2026-11` → `2027-01`. */
export function nextRoundId(roundId: string): string {
  const match = /^(\d{4})-(\d{2})$/.exec(roundId);
  if (!match) throw new RangeError(`not a round id: ${roundId}`);
  const months = Number(match[1]) * 12 + (Number(match[2]) - 1) + 2;
  return `${Math.floor(months / 12)}-${String((months % 12) + 1).padStart(2, '0')}`;
}

/** Where a dossier is reviewed: its deposit's round, or a later one when that one's submissions had closed. */
export interface RoundPlacement {
  round: string;
  /** The deposit's round, when the dossier was moved to a later one. */
  roundMovedFrom?: string;
}

/** What a stored version of the dossier says of its placement. */
export type StoredPlacement = { round: string; roundMovedFrom?: string | undefined; dateDepot: string | null };

/**
 * The placement a dossier keeps from its stored version: once placed (moved or not), a dossier
 * stays in that round whenever it is ingested again, even after that round's submissions close;
 * a later version must not pull it out of the round where it is assigned and reviewed. Only a
 * dossier never placed (not stored, stored before its deposit, or with another deposit date) is
 * placed anew.
 */
export function keptPlacement(stored: StoredPlacement | undefined, dateDepot: string | null): RoundPlacement | undefined {
  if (!stored || stored.round === UNASSIGNED_ROUND || !dateDepot || stored.dateDepot !== dateDepot) return undefined;
  return { round: stored.round, ...(stored.roundMovedFrom ? { roundMovedFrom: stored.roundMovedFrom } : {}) };
}

/** At most this many rounds are skipped (a year): beyond, something is wrong with the rounds, not the dossier. */
export const MAX_ROUNDS_SKIPPED = 6;

/**
 * The round a newly placed dossier goes to: its deposit's round while that round accepts
 * dossiers (no round record yet, or `open`), else the next one that does (two months later,
 * and so on). `submissionsClosed(id)` says whether the stored round `id` no longer accepts dossiers.
 */
export async function placeInRound(
  depositRound: string, submissionsClosed: (roundId: string) => Promise<boolean>,
): Promise<RoundPlacement> {
  if (depositRound === UNASSIGNED_ROUND) return { round: depositRound };
  let round = depositRound;
  for (let skipped = 0; skipped < MAX_ROUNDS_SKIPPED && await submissionsClosed(round); skipped++) round = nextRoundId(round);
  return round === depositRound ? { round } : { round, roundMovedFrom: depositRound };
}
