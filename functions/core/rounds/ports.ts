import type { DossierRecord } from '../dossier.ts';
import type {
  AssignmentRecord, AuditRecord, CommitteeDecisionRecord, DecisionRecord, ExclusionRecord, MailOutcome, NotificationRecord, ReviewRecord, ReviewerRecord, RoundRecord, RoundStatus,
  SuppressionReason,
} from './model.ts';

/** The ports of the round use cases. The DynamoDB adapter implements RoundRepository; SES the Mailer. */

export type RoundWrite =
  | { written: true }
  /** The round changed under us (or exists already): what the store holds now. */
  | { written: false; current: RoundRecord | undefined };

export type ReviewWrite =
  | { written: true }
  | { written: false; current: ReviewRecord | undefined };

export interface RoundRepository {
  getRound(id: string): Promise<RoundRecord | undefined>;
  /** All rounds with this status (index query), oldest first. */
  listRoundsByStatus(status: RoundStatus): Promise<RoundRecord[]>;
  listRounds(): Promise<RoundRecord[]>;
  /** Creates the round only if it does not exist (a double fire creates one round). */
  createRound(round: RoundRecord): Promise<RoundWrite>;
  /** Replaces the round only if the stored version is `expectedVersion` (then stores version + 1). */
  updateRound(round: RoundRecord, expectedVersion: number): Promise<RoundWrite>;

  putReviewers(reviewers: ReviewerRecord[]): Promise<void>;
  listReviewers(): Promise<ReviewerRecord[]>;
  /** One reviewer, read consistently (the review page checks `active` on every request). */
  getReviewer(id: string): Promise<ReviewerRecord | undefined>;

  /** Idempotent: the key is (round, dossier, reviewer). */
  putAssignments(assignments: AssignmentRecord[]): Promise<void>;
  listAssignments(roundId: string): Promise<AssignmentRecord[]>;

  /** One reviewer's assignments in one round (the review page's list), ordered by dossier. */
  listReviewerAssignments(roundId: string, reviewerId: string): Promise<AssignmentRecord[]>;

  /** One review per (round, dossier, reviewer): a later submission replaces the earlier one. */
  putReview(review: ReviewRecord): Promise<void>;
  /**
   * Writes the review only if the stored one is at `expectedVersion` (0: none, or one written
   * before versions existed). A form opened in two tabs cannot silently overwrite the other's
   * save: the second write gets `written: false` and what the store holds.
   */
  putReviewIfVersion(review: ReviewRecord, expectedVersion: number): Promise<ReviewWrite>;
  /** One review, read consistently. */
  getReview(roundId: string, dossierNumber: number, reviewerId: string): Promise<ReviewRecord | undefined>;
  listReviews(roundId: string): Promise<ReviewRecord[]>;

  /**
   * Claims a notification before sending it: creates the record with status `sending` only if
   * none exists, or if one is stuck in `sending` since before `staleBefore` (a crash between
   * claim and send). Returns false when it was sent, or is being sent, already.
   */
  claimNotification(record: NotificationRecord, staleBefore: Date): Promise<boolean>;
  markNotificationSent(record: NotificationRecord, messageId: string): Promise<void>;
  /** Gives a claim back after a failed send, so the next run tries again. */
  releaseNotification(record: NotificationRecord): Promise<void>;
  listNotifications(roundId: string): Promise<NotificationRecord[]>;
  /**
   * Records what SES said of a sent mail, only on the notification whose `messageId` is this one,
   * and only over no outcome or one of `replaces` (a milder one): `recorded`; `unchanged` when the
   * stored outcome stays; `unmatched` when there is no such notification or another message id.
   */
  recordNotificationOutcome(
    notification: Pick<NotificationRecord, 'roundId' | 'reviewerId' | 'key'>,
    change: { messageId: string; outcome: MailOutcome; at: string; replaces: readonly MailOutcome[] },
  ): Promise<'recorded' | 'unchanged' | 'unmatched'>;

  /**
   * Marks a reviewer suppressed (reason, instant) unless they already are: the first suppression
   * is kept. Returns the reviewer as stored after it (read consistently) and whether this call
   * wrote it, or undefined for an unknown id.
   */
  suppressReviewer(id: string, reason: SuppressionReason, at: string): Promise<{ written: boolean; reviewer: ReviewerRecord } | undefined>;
  /** Lifts a suppression (staff fixed the address); false when the reviewer is unknown or was not suppressed. */
  unsuppressReviewer(id: string): Promise<boolean>;

  putDecisions(decisions: DecisionRecord[]): Promise<void>;
  listDecisions(roundId: string): Promise<DecisionRecord[]>;

  /** Replaces the dossier's exclusion record of the round (the latest word wins). */
  putExclusion(record: ExclusionRecord): Promise<void>;
  /** Consistent, ordered by dossier number; excluded and re-included ones alike. */
  listExclusions(roundId: string): Promise<ExclusionRecord[]>;

  /** Replaces the committee's decision on the dossier in the round (the latest word wins). */
  putCommitteeDecision(record: CommitteeDecisionRecord): Promise<void>;
  /** Consistent, ordered by dossier number. */
  listCommitteeDecisions(roundId: string): Promise<CommitteeDecisionRecord[]>;

  putAudit(record: AuditRecord): Promise<void>;
  listAudit(roundId: string): Promise<AuditRecord[]>;
}

/** The dossiers of a round (DynamoDossierRepository.listByRound, all pages). */
export interface RoundDossiers {
  listRoundDossiers(roundId: string): Promise<DossierRecord[]>;
}

export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  html?: string;
  /** Attachments are not needed: reports are linked, not attached. */
  /**
   * Which notification this mail is (set by deliverMails): the mailer sends them as SES message
   * tags, which come back in SES's events (handle-mail-events). Ids and keys only, no personal data.
   */
  tags?: MailTags;
}

export interface MailTags {
  roundId: string;
  reviewerId: string;
  key: string;
}

export interface Mailer {
  /** Sends one mail; resolves with the provider's message id. */
  send(message: MailMessage): Promise<string>;
}

/** Where the selection report goes (S3 `reports/<round>/selection.{json,csv}`). */
export interface ReportStore {
  putReport(roundId: string, report: { json: string; csv: string }): Promise<{ jsonKey: string; csvKey: string }>;
}
