import type { College, Criterion } from '#schemas/rounds';

/**
 * Rounds, reviewers, assignments, reviews, notifications, decisions and audit records: the
 * records of the selection workflow. Pure types; the DynamoDB adapter stores them
 * (docs/data-model.md), the use cases in this folder decide what to write.
 */

/**
 * The phases of a round. What each allows is data (ROUND_PHASES), not code scattered in
 * handlers, after pretalx's review phases.
 */
export const ROUND_STATUSES = ['open', 'reviewing', 'closed'] as const;
export type RoundStatus = (typeof ROUND_STATUSES)[number];

export interface PhasePermissions {
  /** Dossiers deposited now belong to this round. */
  acceptsDossiers: boolean;
  /** Reviewers may submit or change reviews. */
  canReview: boolean;
  /** Reviewers with unfinished reviews may be reminded. */
  canRemind: boolean;
  /** The status the next step moves the round to, or null at the end. */
  next: RoundStatus | null;
}

export const ROUND_PHASES: Readonly<Record<RoundStatus, PhasePermissions>> = {
  open: { acceptsDossiers: true, canReview: false, canRemind: false, next: 'reviewing' },
  reviewing: { acceptsDossiers: false, canReview: true, canRemind: true, next: 'closed' },
  closed: { acceptsDossiers: false, canReview: false, canRemind: false, next: null },
};

export interface RoundRecord {
  /** `YYYY-MM`, the opening month (core/round.ts roundOf). */
  id: string;
  status: RoundStatus;
  openedAt: string;
  submissionsClosedAt: string | null;
  /** Reviews are due by then (set when submissions close). */
  reviewDeadline: string | null;
  selectionClosedAt: string | null;
  /** Copied from the configuration when the round opens, so later config edits do not change a running round. */
  capacityPosts: number;
  /**
   * The ceiling of the period (yearlyCeilingPosts) and the month its period starts, copied when
   * the round opens; absent on rounds opened before the ceiling existed (the configuration's then).
   */
  yearlyCeilingPosts?: number;
  ceilingPeriodStartMonth?: number;
  /** Set by close-selection: the posts it could fill and why (the report shows them). */
  capacityUse?: CapacityUse;
  reviewersPerDossier: number;
  criteria: Criterion[];
  /** Incremented on every change: the conditional writes compare it. */
  version: number;
}

/**
 * What a round could fill when its selection closed: the lower of its own capacity and what the
 * earlier closed rounds of the same period left of the ceiling.
 */
export interface CapacityUse {
  /** The round's own capacity in EIG posts. */
  roundCapacityPosts: number;
  ceilingPosts: number;
  /** `2026` (calendar year) or `2026-09/2027-07` (a period starting in September): the rounds counted together. */
  period: string;
  /** Posts selected in earlier closed rounds of the period (from their stored decisions). */
  usedBefore: number;
  /** Ids of those rounds. */
  earlierRounds: string[];
  /** ceilingPosts - usedBefore, never below 0. */
  ceilingLeft: number;
  /** min(roundCapacityPosts, ceilingLeft): what this round may fill. */
  availablePosts: number;
}

export interface ReviewerRecord {
  /** Stable id derived from the email (reviewerIdOf). */
  id: string;
  email: string;
  name: string;
  conflicts: string[];
  active: boolean;
  /** The reviewer's college in the jury (COLLEGES); absent for reviewers imported before colleges. */
  college?: College;
  /** Set when SES reports a bounce or complaint: no more mail to this address. */
  suppressed?: boolean;
  /** Why (handle-mail-events): a permanent bounce or a complaint. Absent on flags set before reasons were kept. */
  suppressedReason?: SuppressionReason;
  /** When the suppression was recorded (ISO instant, UTC): the first event that suppressed the address. */
  suppressedAt?: string;
}

/** What made SES report an address: a permanent bounce, or the recipient marking a mail as spam. */
export type SuppressionReason = 'bounce' | 'complaint';

export interface AssignmentRecord {
  roundId: string;
  dossierNumber: number;
  reviewerId: string;
  assignedAt: string;
  /**
   * Set on an assignment made because that reviewer declared a conflict of interest with the
   * dossier: the replacement of that reviewer. A re-run finds it instead of assigning another.
   */
  replaces?: string;
}

/**
 * `draft`: saved by the reviewer, not counted, still theirs to finish. `submitted`: sent, counted
 * (unless it declares a conflict of interest), still editable while the round is `reviewing`.
 */
export const REVIEW_STATUSES = ['draft', 'submitted'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export interface ReviewRecord {
  roundId: string;
  dossierNumber: number;
  reviewerId: string;
  /** Criterion id -> 1..5. A draft may hold only some criteria. */
  scores: Record<string, number>;
  comment: string;
  /** A declared conflict of interest: the review is kept, never counted, and the dossier goes to another reviewer. */
  conflictOfInterest: boolean;
  /** Records written before drafts existed have none: they were submitted. */
  status?: ReviewStatus;
  /** 1 for the first write, then +1 on each: the page's stale-form check compares it. Absent on old records (0). */
  version?: number;
  /** The last write. */
  updatedAt?: string;
  /** The last submission; null for a draft never submitted. */
  submittedAt: string | null;
  /** `reviewer` (the page) or `staff:<name>` (`reviews import`): who wrote this version. */
  writtenBy?: string;
}

/** A review that was sent (old records without a status were). */
export function isSubmitted(review: Pick<ReviewRecord, 'status'>): boolean {
  return (review.status ?? 'submitted') === 'submitted';
}

/** The version a stale-form check compares: 0 for no review (or one written before versions existed). */
export const storedVersion = (review: Pick<ReviewRecord, 'version'> | undefined): number => review?.version ?? 0;

/**
 * `assignment`: the dossiers of a round, once per reviewer; `reassignment`: one more dossier, after
 * another reviewer declared a conflict (key `reassignment:<dossier>`); `reminder`; `link`: a new
 * link staff sent (key `link:<Paris day>`); `selection_report`: to staff.
 */
export type NotificationTemplate = 'assignment' | 'reassignment' | 'reminder' | 'link' | 'selection_report' | 'suppression';

/**
 * What SES said became of a mail (handle-mail-events), matched by its message tags and message id.
 * A later event replaces a milder one only (delivered < rejected, bounced < complained).
 */
export type MailOutcome = 'delivered' | 'bounced' | 'complained' | 'rejected';

export interface NotificationRecord {
  roundId: string;
  reviewerId: string;
  /** The template and, for repeatable ones, its occasion (`reminder:2026-05-14`). */
  key: string;
  template: NotificationTemplate;
  status: 'sending' | 'sent';
  updatedAt: string;
  messageId?: string;
  /** What SES reported of this mail (handle-mail-events); absent until an event arrives. */
  outcome?: MailOutcome;
  /** When that event happened (SES's timestamp, ISO). */
  outcomeAt?: string;
}

export type DecisionOutcome = 'selected' | 'waitlisted' | 'not_selected';

/**
 * Why a dossier got its outcome, for tools (the report's JSON, scripts): stable, never
 * translated. `reason` says the same in a French sentence, for staff.
 */
export type DecisionReasonCode =
  /** Ranked, score at least the minimum, its EIG posts fit the capacity left. */
  | 'selected_within_capacity'
  /** Ranked, score at least the minimum, its posts do not fit the capacity left; on the waiting list. */
  | 'waitlisted_over_capacity'
  /** Same, but the waiting list was full. */
  | 'over_capacity_waitlist_full'
  /** Ranked, score below `minimumScore`. */
  | 'below_minimum_score'
  /** Not ranked: no review counted (none submitted, drafts, conflicts, or a criterion unscored). */
  | 'no_counted_review'
  /** Ranked, score at least the minimum, its posts fit the round but not what is left of the period's ceiling. */
  | 'waitlisted_over_ceiling'
  /** Same, waiting list full. */
  | 'over_ceiling_waitlist_full'
  /** Taken out of the round by staff (`dossiers exclude`): no rank; `reason` holds staff's words. */
  | 'excluded'
  /** Withdrawn on DS (sans suite, deleted) after reviewers were assigned: no rank. */
  | 'withdrawn'
  /** Reviewers were assigned, then the dossier stopped being reviewable for another cause (invalid, not found): no rank. */
  | 'not_reviewable'
  /** The committee set the outcome (`rounds decide`), against or along the ranking's proposal. */
  | 'committee_decision'
  /** The committee selected it, but at closing its posts no longer fit (capacity or ceiling changed): waitlisted instead. */
  | 'committee_selection_over_capacity';

export interface DecisionRecord {
  roundId: string;
  dossierNumber: number;
  outcome: DecisionOutcome;
  /** 1-based, among ranked dossiers; null when the dossier had no counted review. */
  rank: number | null;
  /** Weighted mean score, 1-5, rounded to 2 decimals; null without counted review. */
  score: number | null;
  reviewCount: number;
  eigPostsRequested: number;
  /** Stable code of the reason (tools read it, never `reason`). */
  reasonCode: DecisionReasonCode;
  /** The reason in French, for staff (the report, the CLI). */
  reason: string;
  /**
   * What the ranking proposed, before the committee's word (`rounds decide`); equal to `outcome`
   * when the committee said nothing. Absent on decisions written before committees decided.
   */
  proposedOutcome?: DecisionOutcome;
  /** The committee's reason and who recorded it (`staff:<name>`), when it decided this dossier. */
  committeeReason?: string;
  committeeActor?: string;
}

/**
 * Staff took a dossier out of a round's review and ranking (an ineligible administration, a
 * duplicate...), or put it back: the latest word per dossier; the audit keeps every change.
 */
export interface ExclusionRecord {
  roundId: string;
  dossierNumber: number;
  excluded: boolean;
  /** Why, as staff wrote it (shown in the report). */
  reason: string;
  /** `staff:<name>`. */
  actor: string;
  at: string;
}

/**
 * The committee's outcome for a dossier, set by staff before the selection closes, against the
 * ranking's proposal: the latest word per dossier; the audit keeps every change.
 */
export interface CommitteeDecisionRecord {
  roundId: string;
  dossierNumber: number;
  outcome: DecisionOutcome;
  reason: string;
  actor: string;
  at: string;
}

export type RoundStep = 'open' | 'close-submissions' | 'remind' | 'close-selection';

/**
 * What else is audited in a round: a conflict of interest declared on the page, reviews imported
 * by staff, a dossier excluded from (or put back in) the round, a committee's outcome.
 */
export type RoundAction = 'declare-conflict' | 'import-reviews' | 'exclude-dossier' | 'include-dossier' | 'decide' | 'write-back'
  /** Under the pseudo-round `mail-events` (functions/core/mail-events): an address SES reported, and staff lifting it. */
  | 'suppress-reviewer' | 'unsuppress-reviewer';

export interface AuditRecord {
  roundId: string;
  step: RoundStep | RoundAction;
  at: string;
  /** `schedule` or `staff:<name>`: who asked. */
  actor: string;
  /** What the step did (counts, statuses): never personal data. */
  summary: Record<string, unknown>;
}
