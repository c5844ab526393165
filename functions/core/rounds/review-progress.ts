import type { DossierRecord } from '../dossier.ts';
import { isReviewable } from './assign-reviewers.ts';
import { isSubmitted, type AssignmentRecord, type ReviewRecord, type RoundRecord } from './model.ts';

/**
 * Where the reviews of a round stand, computed from its records (pure): what close-selection
 * checks before closing, and what `rounds show` tells staff.
 *
 * - A review is **missing** when a reviewer is assigned a dossier that is still reviewable
 *   (stored, files_pending) and has not submitted a review of it. A draft is missing; a declared
 *   conflict of interest is done (the dossier went to a replacement, whose review is then owed).
 *   A dossier that stopped being reviewable (withdrawn, invalid) owes nothing: it gets no decision.
 * - The review deadline has **passed** when `now` is at or after `round.reviewDeadline`; a round
 *   without a deadline has not passed it.
 */

export interface MissingReviews {
  /** A dossier still owed at least one review. */
  dossierNumber: number;
  /** The assigned reviewers (ids) whose review is not submitted, by id. */
  reviewerIds: string[];
}

export interface ClosingReadiness {
  /** By dossier number. */
  missing: MissingReviews[];
  /** How many reviews are missing in all. */
  reviewsMissing: number;
  deadlinePassed: boolean;
  /** Nothing missing and the deadline past: the round may close without being forced. */
  ready: boolean;
}

const pairKey = (dossierNumber: number, reviewerId: string) => `${dossierNumber}:${reviewerId}`;

/** The reviews still owed in the round, by dossier (the rule above): what close-selection and `remind` both count. */
export function missingReviews(
  round: Pick<RoundRecord, 'id'>,
  dossiers: readonly DossierRecord[],
  assignments: readonly AssignmentRecord[],
  reviews: readonly ReviewRecord[],
): MissingReviews[] {
  const reviewable = new Set(dossiers.filter(isReviewable).map((d) => d.number));
  const done = new Set(reviews.filter((r) => r.roundId === round.id && isSubmitted(r)).map((r) => pairKey(r.dossierNumber, r.reviewerId)));
  const byDossier = new Map<number, string[]>();
  for (const a of assignments) {
    if (a.roundId !== round.id || !reviewable.has(a.dossierNumber) || done.has(pairKey(a.dossierNumber, a.reviewerId))) continue;
    byDossier.set(a.dossierNumber, [...(byDossier.get(a.dossierNumber) ?? []), a.reviewerId]);
  }
  return [...byDossier.entries()]
    .sort(([a], [b]) => a - b)
    .map(([dossierNumber, reviewerIds]) => ({ dossierNumber, reviewerIds: [...new Set(reviewerIds)].sort() }));
}

export function closingReadiness(
  round: Pick<RoundRecord, 'id' | 'reviewDeadline'>,
  dossiers: readonly DossierRecord[],
  assignments: readonly AssignmentRecord[],
  reviews: readonly ReviewRecord[],
  now: Date,
): ClosingReadiness {
  const missing = missingReviews(round, dossiers, assignments, reviews);
  const deadlineMs = round.reviewDeadline ? Date.parse(round.reviewDeadline) : Number.NaN;
  const deadlinePassed = !Number.isNaN(deadlineMs) && now.getTime() >= deadlineMs;
  const reviewsMissing = missing.reduce((sum, m) => sum + m.reviewerIds.length, 0);
  return { missing, reviewsMissing, deadlinePassed, ready: reviewsMissing === 0 && deadlinePassed };
}

/** `dossier 2003: 3f2a…, 9c01…; dossier 2004: 3f2a…`: what is missing, in one line (reviewer ids only, never names). */
export function describeMissing(missing: readonly MissingReviews[]): string {
  return missing.map((m) => `dossier ${m.dossierNumber}: ${m.reviewerIds.join(', ')}`).join('; ');
}

/** One reviewer's work in a round. */
export interface ReviewerProgress {
  reviewerId: string;
  /** Assigned reviewable dossiers without any review yet. */
  toDo: number;
  /** Saved, not submitted (not counted). */
  draft: number;
  /** Submitted without a conflict of interest. */
  submitted: number;
  /** Submitted declaring a conflict of interest (the dossier went to someone else). */
  conflictsDeclared: number;
  /** Assignments received as the replacement of a reviewer who declared a conflict. */
  replacementsReceived: number;
}

/** A dossier a reviewer withdrew from by declaring a conflict, and who took it over. */
export interface Reassignment {
  dossierNumber: number;
  withdrawnReviewerId: string;
  /** Null: nobody was eligible (the dossier has one reviewer fewer). */
  replacementReviewerId: string | null;
}

export interface ReviewProgress {
  /** Every reviewer with an assignment or a review in the round, by id. */
  reviewers: ReviewerProgress[];
  reassignments: Reassignment[];
}

export function reviewProgress(
  round: Pick<RoundRecord, 'id'>,
  dossiers: readonly DossierRecord[],
  assignments: readonly AssignmentRecord[],
  reviews: readonly ReviewRecord[],
): ReviewProgress {
  const reviewable = new Set(dossiers.filter(isReviewable).map((d) => d.number));
  const ofRound = reviews.filter((r) => r.roundId === round.id);
  const assigned = assignments.filter((a) => a.roundId === round.id);
  const reviewByPair = new Map(ofRound.map((r) => [pairKey(r.dossierNumber, r.reviewerId), r]));
  const progress = new Map<string, ReviewerProgress>();
  const of = (reviewerId: string) => {
    let entry = progress.get(reviewerId);
    if (!entry) {
      entry = { reviewerId, toDo: 0, draft: 0, submitted: 0, conflictsDeclared: 0, replacementsReceived: 0 };
      progress.set(reviewerId, entry);
    }
    return entry;
  };
  const pairs = new Map<string, { dossierNumber: number; reviewerId: string }>();
  for (const { dossierNumber, reviewerId } of [...assigned, ...ofRound]) pairs.set(pairKey(dossierNumber, reviewerId), { dossierNumber, reviewerId });
  for (const [key, { dossierNumber, reviewerId }] of pairs) {
    const entry = of(reviewerId);
    const review = reviewByPair.get(key);
    if (!review) {
      if (reviewable.has(dossierNumber)) entry.toDo++;
    } else if (!isSubmitted(review)) entry.draft++;
    else if (review.conflictOfInterest) entry.conflictsDeclared++;
    else entry.submitted++;
  }
  for (const a of assigned) if (a.replaces !== undefined) of(a.reviewerId).replacementsReceived++;

  const reassignments: Reassignment[] = ofRound
    .filter((r) => isSubmitted(r) && r.conflictOfInterest)
    .map((r) => ({
      dossierNumber: r.dossierNumber,
      withdrawnReviewerId: r.reviewerId,
      replacementReviewerId: assigned.find((a) => a.dossierNumber === r.dossierNumber && a.replaces === r.reviewerId)?.reviewerId ?? null,
    }))
    .sort((a, b) => a.dossierNumber - b.dossierNumber || a.withdrawnReviewerId.localeCompare(b.withdrawnReviewerId));
  return { reviewers: [...progress.values()].sort((a, b) => a.reviewerId.localeCompare(b.reviewerId)), reassignments };
}

