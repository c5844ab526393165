/** Errors of the selection workflow. Their messages name rounds, steps and lines, never people. */

export type RoundStepRefusal =
  /** No round with this id, or no round in the phase the step starts from. */
  | 'no_round'
  /** The round is in a phase before the one the step starts from. */
  | 'earlier_phase'
  /** `open` while another round still accepts dossiers. */
  | 'another_round_open'
  /** The round id is not `YYYY-MM` with an odd month. */
  | 'invalid_round_id'
  /** `close-selection` while assigned reviewers have not submitted their review (not forced). */
  | 'reviews_missing'
  /** `close-selection` before the review deadline, every review in (not forced). */
  | 'before_deadline'
  /** `open` of a round whose period (its two months, Paris time) has ended (not forced). */
  | 'round_past'
  /** `dossiers exclude|include`, `rounds decide` on a round whose selection is closed: its decisions are final. */
  | 'round_closed'
  /** `rounds decide` on a round still `open`: the committee decides once there is a review to decide against. */
  | 'round_not_reviewing'
  /** `rounds decide` on a dossier staff excluded (include it first). */
  | 'dossier_excluded'
  /** `rounds decide` on a dossier that is not reviewable (withdrawn, invalid). */
  | 'dossier_not_reviewable'
  /** `rounds decide --outcome selected` whose posts do not fit the round's capacity... */
  | 'over_capacity'
  /** ...or what is left of the period's ceiling. */
  | 'over_ceiling';

/** A step asked of a round that cannot take it (missing, or in an earlier phase): nothing was written. */
export class RoundStepRefusedError extends Error {
  override name = 'RoundStepRefusedError';
  constructor(message: string, readonly reason: RoundStepRefusal, readonly roundId: string | null) {
    super(message);
  }
}

/**
 * `close-selection` refused because reviews are missing or the deadline has not passed: the
 * message lists, per dossier, the reviewer ids whose review is not submitted (ids are
 * pseudonymous: no name or email), and the deadline. `force` closes anyway.
 */
export class ClosingNotReadyError extends RoundStepRefusedError {
  override name = 'ClosingNotReadyError';
  constructor(
    message: string,
    reason: 'reviews_missing' | 'before_deadline',
    roundId: string,
    readonly missing: { dossierNumber: number; reviewerIds: string[] }[],
    readonly deadlinePassed: boolean,
  ) {
    super(message, reason, roundId);
  }
}

/**
 * `open` refused: the round's period has ended (a typo, or last year's id), so dossiers deposited
 * now would not belong to it. The message names the current round (the default) and why.
 * `force` opens it anyway (staff only; the schedule opens the current round and never forces).
 */
export class RoundPastError extends RoundStepRefusedError {
  override name = 'RoundPastError';
  constructor(message: string, roundId: string, readonly currentRoundId: string) {
    super(message, 'round_past', roundId);
  }
}

/** A dossier named for a round it does not belong to (exclude, include, decide): nothing was written. */
export class DossierNotInRoundError extends Error {
  override name = 'DossierNotInRoundError';
  constructor(readonly roundId: string, readonly dossierNumber: number) {
    super(`dossier ${dossierNumber} is not in round ${roundId} (ds-selection dossiers list --round ${roundId})`);
  }
}

export interface ReviewerImportIssue {
  /** The line (or entry) of the file, 1-based as the caller counts them. */
  line: number;
  message: string;
}

/** A reviewer file with invalid entries or duplicate emails: nothing was imported (all or nothing). */
export class ReviewerImportError extends Error {
  override name = 'ReviewerImportError';
  constructor(readonly issues: ReviewerImportIssue[]) {
    super(`reviewer file rejected, nothing imported:\n${issues.map((i) => `  line ${i.line}: ${i.message}`).join('\n')}`);
  }
}

/** Some mails of the step could not be sent (SES refused or failed): the next run of the step sends them. */
export class RoundStepIncompleteError extends Error {
  override name = 'RoundStepIncompleteError';
}
