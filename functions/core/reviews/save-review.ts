import type { JuryConfig } from '#schemas/jury';
import type { RoundsConfig } from '#schemas/rounds';
import type { DossierRecord } from '../dossier.ts';
import { chooseReplacement } from '../rounds/assign-reviewers.ts';
import { storedVersion, type AssignmentRecord, type ReviewRecord, type ReviewerRecord, type RoundRecord } from '../rounds/model.ts';
import { deliverMails, type MailTally } from '../rounds/notifications.ts';
import type { Mailer, RoundRepository } from '../rounds/ports.ts';
import { linkExpiry, reviewLink, type ReviewLinkSettings } from '../rounds/review-links.ts';
import { reassignmentMail } from '../rounds/round-mails.ts';
import { writePermission, type ReadOnlyReason } from './access.ts';
import { ReviewAccessError } from './errors.ts';
import type { ValidReviewForm } from './review-form.ts';
import type { DossierAccessRecords } from './reviewer-pages.ts';

/**
 * Saving a review, from the page (the reviewer) or from `reviews import` (staff): one use case,
 * so both go through the same checks.
 *
 * 1. The dossier must exist and be assigned to the reviewer in the round (else `not_assigned`),
 *    and the round must allow reviews, the review not be a declared conflict, the dossier still
 *    be reviewable (else `read_only`).
 * 2. The form was opened on version `expectedVersion` of the review; if the store holds another
 *    one (another tab saved meanwhile), nothing is written (`stale`).
 * 3. A submission that declares a conflict of interest withdraws the reviewer: the dossier is
 *    first assigned to a replacement (`chooseReplacement`, recorded with `replaces`, so a retry
 *    after a crash finds the same one instead of adding another), then the review is written
 *    (kept, never counted), the audit record written, and the replacement mailed once
 *    (`reassignment:<dossier>`, claimed before sending).
 */

export interface SaveReviewDependencies {
  rounds: RoundRepository;
  dossiers: { get(number: number): Promise<DossierRecord | undefined> };
  mailer: Mailer;
  config: Pick<RoundsConfig, 'reviewDays' | 'reviewLinkGraceDays'>;
  clock: { now(): Date };
  reviewLinks: ReviewLinkSettings;
  /** Conflict rules (SIREN, email domains); the defaults of schemas/jury.ts when absent. */
  jury?: JuryConfig;
}

export interface SaveReviewRequest {
  round: RoundRecord;
  reviewer: ReviewerRecord;
  dossierNumber: number;
  form: ValidReviewForm;
  /** The review's version when the form was shown (0: there was none). */
  expectedVersion: number;
  /** `reviewer` (the page) or `staff:<name>` (an import). */
  actor: string;
  /**
   * What the caller read of this dossier for this request already (the page's one read): used
   * instead of reading the assignments, the review and the dossier again. The write stays
   * conditional on the review's version, so a change since then is still answered `stale`.
   */
  known?: DossierAccessRecords;
}

export type SaveReviewResult =
  | {
    outcome: 'saved';
    review: ReviewRecord;
    /** Set when the submission declared a conflict of interest. */
    conflict?: { replacementId: string | null; mails: MailTally };
  }
  /** The review changed since the form was shown: `current` is what the store holds. */
  | { outcome: 'stale'; current: ReviewRecord | undefined }
  | { outcome: 'read_only'; reason: ReadOnlyReason };

export async function saveReview(request: SaveReviewRequest, deps: SaveReviewDependencies): Promise<SaveReviewResult> {
  const { round, reviewer, dossierNumber, form } = request;
  const { assigned, review: current, dossier } = request.known ?? await readDossierAccess(request, deps);
  if (!dossier || !assigned) throw new ReviewAccessError('not_assigned');
  const permission = writePermission(round, current, dossier);
  if (!permission.canWrite) return { outcome: 'read_only', reason: permission.reason };
  if (storedVersion(current) !== request.expectedVersion) return { outcome: 'stale', current };

  const now = deps.clock.now().toISOString();
  const submitted = form.intent === 'submit';
  const declaresConflict = submitted && form.conflictOfInterest;
  const review: ReviewRecord = {
    roundId: round.id,
    dossierNumber,
    reviewerId: reviewer.id,
    // A declared conflict keeps no score: nothing of it may count, or be read as an opinion.
    scores: declaresConflict ? {} : form.scores,
    comment: form.comment,
    conflictOfInterest: form.conflictOfInterest,
    status: submitted ? 'submitted' : 'draft',
    version: request.expectedVersion + 1,
    updatedAt: now,
    submittedAt: submitted ? now : (current?.submittedAt ?? null),
    writtenBy: request.actor,
  };

  const replacement = declaresConflict ? await assignReplacement(request, deps, dossier, now) : undefined;
  const write = await deps.rounds.putReviewIfVersion(review, request.expectedVersion);
  if (!write.written) return { outcome: 'stale', current: write.current };
  if (!declaresConflict) return { outcome: 'saved', review };

  await deps.rounds.putAudit({
    roundId: round.id, step: 'declare-conflict', at: now, actor: request.actor === 'reviewer' ? `reviewer:${reviewer.id}` : request.actor,
    summary: { dossier: dossierNumber, withdrawnReviewer: reviewer.id, replacementReviewer: replacement?.reviewerId ?? null, replaced: replacement !== undefined },
  });
  const mails = replacement ? await mailReplacement(request, deps, replacement) : { sent: 0, alreadySent: 0, failed: 0 };
  return { outcome: 'saved', review, conflict: { replacementId: replacement?.reviewerId ?? null, mails } };
}

async function readDossierAccess({ round, reviewer, dossierNumber }: SaveReviewRequest, deps: SaveReviewDependencies): Promise<DossierAccessRecords> {
  const [assignments, review, dossier] = await Promise.all([
    deps.rounds.listReviewerAssignments(round.id, reviewer.id),
    deps.rounds.getReview(round.id, dossierNumber, reviewer.id),
    deps.dossiers.get(dossierNumber),
  ]);
  return { assigned: assignments.some((a) => a.dossierNumber === dossierNumber), review, dossier };
}

/** The replacement already recorded for this reviewer on this dossier, or a new one (written), or undefined when nobody is eligible. */
async function assignReplacement(request: SaveReviewRequest, deps: SaveReviewDependencies, dossier: DossierRecord, now: string): Promise<AssignmentRecord | undefined> {
  const { round, reviewer, dossierNumber } = request;
  const roundAssignments = await deps.rounds.listAssignments(round.id);
  const earlier = roundAssignments.find((a) => a.dossierNumber === dossierNumber && a.replaces === reviewer.id);
  if (earlier) return earlier;
  const chosen = chooseReplacement(dossier, await deps.rounds.listReviewers(), roundAssignments, {
    ...(deps.jury ? { jury: deps.jury } : {}), withdrawn: [reviewer.id],
  });
  if (!chosen) return undefined;
  const assignment: AssignmentRecord = { roundId: round.id, dossierNumber, reviewerId: chosen.id, assignedAt: now, replaces: reviewer.id };
  await deps.rounds.putAssignments([assignment]);
  return assignment;
}

async function mailReplacement(request: SaveReviewRequest, deps: SaveReviewDependencies, replacement: AssignmentRecord): Promise<MailTally> {
  const { round } = request;
  const reviewer = await deps.rounds.getReviewer(replacement.reviewerId);
  if (!reviewer) return { sent: 0, alreadySent: 0, failed: 0 };
  const now = deps.clock.now();
  return deliverMails(deps, [{
    roundId: round.id,
    reviewerId: reviewer.id,
    key: `reassignment:${replacement.dossierNumber}`,
    template: 'reassignment',
    message: () => reassignmentMail({
      reviewer, roundId: round.id, dossierNumber: replacement.dossierNumber, deadline: round.reviewDeadline,
      link: reviewLink(deps.reviewLinks, round.id, reviewer.id, linkExpiry(round, deps.config, now)),
    }),
  }], now);
}
