import type { JuryConfig } from '#schemas/jury';
import type { RoundsConfig } from '#schemas/rounds';
import type { Clock } from '../ports.ts';
import type { CollegeShortfall, Shortfall } from './assign-reviewers.ts';
import type { MissingReviews } from './review-progress.ts';
import { RoundStepRefusedError } from './errors.ts';
import { ROUND_STATUSES, type DecisionRecord, type RoundRecord, type RoundStatus, type RoundStep } from './model.ts';
import type { MailTally } from './notifications.ts';
import type { Mailer, ReportStore, RoundDossiers, RoundRepository } from './ports.ts';
import type { ReviewLinkSettings } from './review-links.ts';
import type { EligibilityOf } from './selection-report.ts';

/** What every round step shares: its request, dependencies, result, and the phase rules. */

export interface RoundStepRequest {
  step: RoundStep;
  /** Absent: the step's default round (README.md). */
  roundId?: string;
  /** Compute and return the plan; write nothing, send nothing, no audit record. */
  dryRun?: boolean;
  /** `schedule` or `staff:<name>`: recorded in the audit record. */
  actor: string;
  /**
   * `close-selection` only: close even though reviews are missing or the review deadline has not
   * passed (refused otherwise). Staff decide it; the schedule never forces.
   */
  force?: boolean;
}

export interface RoundStepDependencies {
  rounds: RoundRepository;
  dossiers: RoundDossiers;
  mailer: Mailer;
  reports: ReportStore;
  config: RoundsConfig;
  clock: Clock;
  reviewLinks: ReviewLinkSettings;
  /**
   * The eligibility flag of a dossier under the deployment's rules (the report shows it; it
   * decides nothing). Absent: the report has no eligibility column values.
   */
  eligibilityOf?: EligibilityOf;
  /** The jury's conflict rules (schemas/jury-config.json); the defaults of schemas/jury.ts when absent. */
  jury?: JuryConfig;
}

/** Counts, flags and instants: never personal data (it goes to the audit record and the logs). */
export type RoundStepSummary = Record<string, number | string | boolean | null>;

/** What a dry run would write and send. Reviewer ids are pseudonymous hashes, no names or emails. */
export interface RoundStepPlan {
  /** The round as the step would write it (absent when the step does not change it). */
  round?: RoundRecord;
  /** New assignments, by reviewer id: the dossier numbers. */
  assignments?: Record<string, number[]>;
  shortfalls?: Shortfall[];
  /** `close-submissions`: dossiers whose reviewers could not all be of distinct colleges (docs/jury.md). */
  collegeShortfalls?: CollegeShortfall[];
  decisions?: DecisionRecord[];
  /** `close-selection`: the reviews not submitted yet, per dossier (reviewer ids). */
  missingReviews?: MissingReviews[];
  /** Mails the run would send (those not sent yet). */
  mails: number;
}

export interface RoundStepResult {
  step: RoundStep;
  /** Null only for `remind` without `roundId` when not exactly one round is reviewing (see `rounds`). */
  roundId: string | null;
  dryRun: boolean;
  /** True when this run changed the round (created it, or moved it to its next phase). */
  changed: boolean;
  /** The round's status after the run (null when there is no single round). */
  status: RoundStatus | null;
  summary: RoundStepSummary;
  plan?: RoundStepPlan;
  /** `close-selection` (real run, forced or not): the reviews that were missing when it closed, per dossier. */
  missingReviews?: MissingReviews[];
  /** `remind` without `roundId` over zero or several reviewing rounds: one result each. */
  rounds?: RoundStepResult[];
}

/** Where a round stands with respect to the phase a step starts from. */
export type PhasePosition = 'earlier' | 'current' | 'later';

export function phasePosition(status: RoundStatus, from: RoundStatus): PhasePosition {
  const delta = ROUND_STATUSES.indexOf(status) - ROUND_STATUSES.indexOf(from);
  return delta < 0 ? 'earlier' : delta === 0 ? 'current' : 'later';
}

export function refuseEarlier(step: RoundStep, round: RoundRecord, from: RoundStatus): RoundStepRefusedError {
  return new RoundStepRefusedError(
    `round ${round.id} is ${round.status}: ${step} applies to a round that is ${from}`, 'earlier_phase', round.id,
  );
}

/** Where `round` stands for a step starting from `from`; a round in an earlier phase is refused. */
export function positionOrRefuse(step: RoundStep, round: RoundRecord, from: RoundStatus): Exclude<PhasePosition, 'earlier'> {
  const position = phasePosition(round.status, from);
  if (position === 'earlier') throw refuseEarlier(step, round, from);
  return position;
}

/**
 * The round a step works on: `roundId`'s (refused when missing), or else the oldest one in
 * `from`. When no round is in `from`, the newest round already past it: the step then does
 * nothing (`already`) but send the mails it still owes, so a scheduler's double fire, or a
 * staff re-run without `--round`, is a no-op rather than an error. Refused only when there is no
 * such round either.
 */
export async function resolveRound(rounds: RoundRepository, step: RoundStep, roundId: string | undefined, from: RoundStatus): Promise<RoundRecord> {
  if (roundId !== undefined) {
    const round = await rounds.getRound(roundId);
    if (!round) throw new RoundStepRefusedError(`round ${roundId} does not exist`, 'no_round', roundId);
    return round;
  }
  const [oldest] = await rounds.listRoundsByStatus(from);
  const past = oldest ? undefined : (await rounds.listRounds()).filter((r) => phasePosition(r.status, from) === 'later').at(-1);
  const found = oldest ?? past;
  if (!found) throw new RoundStepRefusedError(`no round is ${from}: nothing to ${step}`, 'no_round', null);
  // The status index may lag (eventually consistent): the conditional write needs the current version.
  return (await rounds.getRound(found.id)) ?? found;
}

export function mailSummary(tally: MailTally): RoundStepSummary {
  return { mailsSent: tally.sent, mailsAlreadySent: tally.alreadySent, mailFailures: tally.failed };
}

/** The audit record of a non-dry run. */
export async function audit(deps: RoundStepDependencies, request: RoundStepRequest, roundId: string, summary: RoundStepSummary): Promise<void> {
  await deps.rounds.putAudit({ roundId, step: request.step, at: deps.clock.now().toISOString(), actor: request.actor, summary: { ...summary } });
}

/**
 * Writes the round's next version, conditional on the version read. On a lost race, reads the
 * round back: `changed: false` and what the store holds now.
 */
export async function writeRound(rounds: RoundRepository, next: RoundRecord, expectedVersion: number): Promise<{ changed: boolean; round: RoundRecord }> {
  const write = await rounds.updateRound(next, expectedVersion);
  if (write.written) return { changed: true, round: next };
  const current = write.current ?? (await rounds.getRound(next.id));
  if (!current) throw new Error(`round ${next.id} vanished during the step`);
  return { changed: false, round: current };
}
