import type { AttachmentRef, DossierRecord } from '../dossier.ts';
import { isReviewable } from '../rounds/assign-reviewers.ts';
import { storedVersion, type ReviewRecord } from '../rounds/model.ts';
import type { RoundRepository } from '../rounds/ports.ts';
import { reviewStateOf, writePermission, type ReviewState, type ReviewerSession, type WritePermission } from './access.ts';
import { ReviewAccessError } from './errors.ts';

/**
 * What the review page shows, read for one authenticated reviewer: their list for the round and
 * one of their dossiers. Only assigned dossiers, only the reviewer's own review: nothing here
 * reads another reviewer's review.
 */

export interface PageDependencies {
  rounds: Pick<RoundRepository, 'listReviewerAssignments' | 'listReviewerReviews' | 'getReview'>;
  dossiers: { get(number: number): Promise<DossierRecord | undefined> };
}

export interface ReviewerListItem {
  dossierNumber: number;
  /** Absent when the dossier is no longer in the store's reviewable states. */
  title: string | null;
  administration: string | null;
  state: ReviewState;
  /** False when the dossier was withdrawn or became invalid after assignment. */
  reviewable: boolean;
}

export interface ReviewerListPage {
  session: ReviewerSession;
  items: ReviewerListItem[];
  /** Reviewable dossiers whose review is not submitted yet (drafts included). */
  remaining: number;
  /** Whether the round takes reviews now (the list says so once for all). */
  roundOpenForReviews: boolean;
}

export async function reviewerListPage(session: ReviewerSession, deps: PageDependencies): Promise<ReviewerListPage> {
  const { round, reviewer } = session;
  const [assignments, reviews] = await Promise.all([
    deps.rounds.listReviewerAssignments(round.id, reviewer.id),
    deps.rounds.listReviewerReviews(round.id, reviewer.id),
  ]);
  const reviewByDossier = new Map(reviews.map((r) => [r.dossierNumber, r]));
  const dossiers = await Promise.all(assignments.map((a) => deps.dossiers.get(a.dossierNumber)));
  const items = assignments.map((assignment, index): ReviewerListItem => {
    const dossier = dossiers[index];
    return {
      dossierNumber: assignment.dossierNumber,
      title: dossier?.project?.title ?? null,
      administration: dossier?.project?.administration?.name ?? null,
      state: reviewStateOf(reviewByDossier.get(assignment.dossierNumber)),
      reviewable: dossier !== undefined && isReviewable(dossier),
    };
  });
  return {
    session,
    items,
    remaining: items.filter((i) => i.reviewable && (i.state === 'to_do' || i.state === 'draft')).length,
    roundOpenForReviews: writePermission(round, undefined).canWrite,
  };
}

export interface ReviewerDossierPage {
  session: ReviewerSession;
  dossier: DossierRecord;
  review: ReviewRecord | undefined;
  state: ReviewState;
  /** The version the form carries for the stale-form check. */
  version: number;
  permission: WritePermission;
}

/** One assigned dossier with the reviewer's own review; `not_assigned` for any other (or a missing one). */
export async function reviewerDossierPage(session: ReviewerSession, dossierNumber: number, deps: PageDependencies): Promise<ReviewerDossierPage> {
  const { round, reviewer } = session;
  const [assignments, review, dossier] = await Promise.all([
    deps.rounds.listReviewerAssignments(round.id, reviewer.id),
    deps.rounds.getReview(round.id, dossierNumber, reviewer.id),
    deps.dossiers.get(dossierNumber),
  ]);
  if (!dossier || !assignments.some((a) => a.dossierNumber === dossierNumber)) throw new ReviewAccessError('not_assigned');
  return { session, dossier, review, state: reviewStateOf(review), version: storedVersion(review), permission: writePermission(round, review, dossier) };
}

/**
 * The file behind an attachment link of an assigned dossier: one of the dossier's attachments
 * (by its position in the list the page shows), or `not_assigned`.
 */
export async function reviewerAttachment(session: ReviewerSession, dossierNumber: number, index: number, deps: PageDependencies): Promise<AttachmentRef> {
  const page = await reviewerDossierPage(session, dossierNumber, deps);
  const attachment = Number.isInteger(index) && index >= 0 ? page.dossier.attachments[index] : undefined;
  if (!attachment) throw new ReviewAccessError('not_assigned');
  return attachment;
}
