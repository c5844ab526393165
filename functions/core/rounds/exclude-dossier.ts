import type { Clock } from '../ports.ts';
import { DossierNotInRoundError, RoundStepRefusedError } from './errors.ts';
import type { ExclusionRecord, RoundRecord } from './model.ts';
import type { RoundDossiers, RoundRepository } from './ports.ts';

/**
 * Staff take a dossier out of a round (`ds-selection dossiers exclude`), or put it back
 * (`include`). Eligibility rules only flag dossiers (core/eligibility.ts): a flagged dossier is
 * still reviewed until staff exclude it, with their reason, here. Reversible: the latest word
 * per dossier wins (ExclusionRecord); the audit keeps every change.
 *
 * - Allowed while the round is `open` or `reviewing`; refused once it is `closed` (`round_closed`):
 *   its decisions are final.
 * - The dossier must be one of the round's (DossierNotInRoundError otherwise).
 * - An excluded dossier gets no rank at close-selection (`not_selected`, `excluded`, staff's
 *   reason); excluded before close-submissions, it gets no reviewer; excluded later, its missing
 *   reviews no longer hold the closing.
 * - Excluding an excluded dossier (or including an included one) writes nothing new
 *   (`changed: false`) unless the reason changed; it is still audited, as every non-dry run.
 * - The audit record holds the dossier number and the flags, not the reason (staff's free text).
 */

export interface DossierExclusionRequest {
  roundId: string;
  dossierNumber: number;
  /** true: exclude; false: include (put back). */
  excluded: boolean;
  reason: string;
  /** `staff:<name>`. */
  actor: string;
  dryRun?: boolean;
}

export interface DossierExclusionResult {
  roundId: string;
  dossierNumber: number;
  excluded: boolean;
  dryRun: boolean;
  /** Whether the dossier's state (excluded or not) changed, or would change (dry run). */
  changed: boolean;
  /** The round's phase. */
  status: RoundRecord['status'];
  /** The record written (or that would be). */
  record: ExclusionRecord;
  /** The latest word before this one, if any. */
  previous: ExclusionRecord | null;
}

export interface DossierExclusionDependencies {
  rounds: Pick<RoundRepository, 'getRound' | 'listExclusions' | 'putExclusion' | 'putAudit'>;
  dossiers: RoundDossiers;
  clock: Clock;
}

export const MAX_REASON_LENGTH = 2000;

/** A staff reason: trimmed, not empty, bounded (it goes to the report). */
export function checkReason(reason: string): string {
  const text = reason.trim();
  if (text === '') throw new RangeError('a reason is required: say why (it is shown in the report)');
  if (text.length > MAX_REASON_LENGTH) throw new RangeError(`the reason is too long: ${MAX_REASON_LENGTH} characters at most`);
  return text;
}

/** The round, refused when missing or closed. */
export async function roundOpenForStaff(rounds: Pick<RoundRepository, 'getRound'>, roundId: string, what: string): Promise<RoundRecord> {
  const round = await rounds.getRound(roundId);
  if (!round) throw new RoundStepRefusedError(`round ${roundId} does not exist`, 'no_round', roundId);
  if (round.status === 'closed') {
    throw new RoundStepRefusedError(`round ${roundId} is closed: its decisions are final, ${what} is no longer possible`, 'round_closed', roundId);
  }
  return round;
}

export async function setDossierExclusion(request: DossierExclusionRequest, deps: DossierExclusionDependencies): Promise<DossierExclusionResult> {
  const reason = checkReason(request.reason);
  const verb = request.excluded ? 'excluding a dossier' : 'including a dossier';
  const round = await roundOpenForStaff(deps.rounds, request.roundId, verb);
  const dossiers = await deps.dossiers.listRoundDossiers(round.id);
  if (!dossiers.some((d) => d.number === request.dossierNumber)) throw new DossierNotInRoundError(round.id, request.dossierNumber);

  const previous = (await deps.rounds.listExclusions(round.id)).find((e) => e.dossierNumber === request.dossierNumber) ?? null;
  const wasExcluded = previous?.excluded === true;
  const changed = wasExcluded !== request.excluded;
  const now = deps.clock.now().toISOString();
  const record: ExclusionRecord = {
    roundId: round.id, dossierNumber: request.dossierNumber, excluded: request.excluded, reason, actor: request.actor, at: now,
  };
  const dryRun = request.dryRun === true;
  const result = { roundId: round.id, dossierNumber: request.dossierNumber, excluded: request.excluded, dryRun, changed, status: round.status, record, previous };
  if (dryRun) return result;

  // Nothing to record when neither the state nor the reason changes (a repeated command); an
  // include with no earlier exclusion records nothing either: there is nothing to put back.
  const sameWord = previous !== null && previous.excluded === request.excluded && previous.reason === reason;
  const nothingToUndo = previous === null && !request.excluded;
  if (!sameWord && !nothingToUndo) await deps.rounds.putExclusion(record);
  await deps.rounds.putAudit({
    roundId: round.id, step: request.excluded ? 'exclude-dossier' : 'include-dossier', at: now, actor: request.actor,
    summary: { dossierNumber: request.dossierNumber, excluded: request.excluded, changed, phase: round.status },
  });
  return result;
}

/** The dossiers of a round staff excluded (their latest word), by number. */
export async function excludedDossiers(rounds: Pick<RoundRepository, 'listExclusions'>, roundId: string): Promise<Map<number, ExclusionRecord>> {
  return new Map((await rounds.listExclusions(roundId)).filter((e) => e.excluded).map((e) => [e.dossierNumber, e]));
}
