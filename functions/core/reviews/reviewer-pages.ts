import type { AttachmentRef, DossierRecord } from '../dossier.ts';
import { isReviewable } from '../rounds/assign-reviewers.ts';
import { storedVersion, type AssignmentRecord, type ReviewRecord } from '../rounds/model.ts';
import type { RoundRepository } from '../rounds/ports.ts';
import {
  reviewStateOf, sessionOf, verifyLink, writePermission,
  type ReviewState, type ReviewerSession, type SessionRecords, type WritePermission,
} from './access.ts';
import { ReviewAccessError } from './errors.ts';

/**
 * What the review page shows, read for one authenticated reviewer: their list for the round and
 * one of their dossiers. Only assigned dossiers, only the reviewer's own review: nothing here
 * reads another reviewer's review.
 *
 * Each page reads what it needs in one call of `ReviewPageReads`, right after the link's
 * signature is checked (no I/O), and before the round, the reviewer and the assignment are
 * checked: the store can then answer a page in one round trip instead of one per item. What was
 * read for a request that is then refused is dropped; the refusal shows no data.
 */

/** One assigned dossier with the reviewer's review of it and the dossier as stored (undefined: none). */
export interface AssignedDossierRecords {
  assignment: AssignmentRecord;
  review: ReviewRecord | undefined;
  dossier: DossierRecord | undefined;
}

/** What the list reads: the session's records and the reviewer's assignments in the round, ordered by dossier. */
export interface ReviewerListRecords extends SessionRecords {
  assigned: AssignedDossierRecords[];
}

/** What a dossier of the reviewer is, as read: whether it is assigned to them, their review, the dossier. */
export interface DossierAccessRecords {
  /** Whether the dossier is assigned to this reviewer in this round (a replacement's assignment included). */
  assigned: boolean;
  review: ReviewRecord | undefined;
  dossier: DossierRecord | undefined;
}

/** What a dossier page (its form, its attachment links) reads. */
export type ReviewerDossierRecords = SessionRecords & DossierAccessRecords;

/**
 * The review page's reads, one call per page, so that a store answers each in as few round trips
 * as it can (DynamoDB: a Query and one BatchGetItem for the list, one BatchGetItem for a dossier;
 * functions/adapters/dynamodb/review-page-reads.ts). Reads are consistent where the single reads
 * of RoundRepository are; `reviewPageReadsFrom` is the reference, built on those single reads.
 */
export interface ReviewPageReads {
  readReviewerList(roundId: string, reviewerId: string): Promise<ReviewerListRecords>;
  readReviewerDossier(roundId: string, reviewerId: string, dossierNumber: number): Promise<ReviewerDossierRecords>;
}

/**
 * The page's reads from the single reads of the ports, the independent ones concurrently: what
 * stores without a batch read (the in-memory ones of the tests) use, and the reference the
 * DynamoDB adapter is checked against.
 */
export function reviewPageReadsFrom(
  rounds: Pick<RoundRepository, 'getRound' | 'getReviewer' | 'listReviewerAssignments' | 'getReview'>,
  dossiers: { get(number: number): Promise<DossierRecord | undefined> },
): ReviewPageReads {
  return {
    async readReviewerList(roundId, reviewerId) {
      const [round, reviewer, assignments] = await Promise.all([
        rounds.getRound(roundId), rounds.getReviewer(reviewerId), rounds.listReviewerAssignments(roundId, reviewerId),
      ]);
      const assigned = await Promise.all(assignments.map(async (assignment) => {
        const [review, dossier] = await Promise.all([
          rounds.getReview(roundId, assignment.dossierNumber, reviewerId), dossiers.get(assignment.dossierNumber),
        ]);
        return { assignment, review, dossier };
      }));
      return { round, reviewer, assigned };
    },
    async readReviewerDossier(roundId, reviewerId, dossierNumber) {
      const [round, reviewer, assignments, review, dossier] = await Promise.all([
        rounds.getRound(roundId), rounds.getReviewer(reviewerId), rounds.listReviewerAssignments(roundId, reviewerId),
        rounds.getReview(roundId, dossierNumber, reviewerId), dossiers.get(dossierNumber),
      ]);
      return { round, reviewer, assigned: assignments.some((a) => a.dossierNumber === dossierNumber), review, dossier };
    },
  };
}

export interface PageDependencies {
  reads: ReviewPageReads;
  /** The review link key. */
  secret: string;
  clock: { now(): Date };
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

/** The list a link opens, or ReviewAccessError (link, round, reviewer). */
export async function openListPage(roundId: string, token: string | undefined, deps: PageDependencies): Promise<ReviewerListPage> {
  const link = verifyLink(roundId, token, deps.secret, deps.clock.now());
  const records = await deps.reads.readReviewerList(roundId, link.reviewerId);
  return listPageOf(sessionOf(link, records), records.assigned);
}

export function listPageOf(session: ReviewerSession, assigned: AssignedDossierRecords[]): ReviewerListPage {
  const items = assigned.map(({ assignment, review, dossier }): ReviewerListItem => ({
    dossierNumber: assignment.dossierNumber,
    title: dossier?.project?.title ?? null,
    administration: dossier?.project?.administration?.name ?? null,
    state: reviewStateOf(review),
    reviewable: dossier !== undefined && isReviewable(dossier),
  }));
  return {
    session,
    items,
    remaining: items.filter((i) => i.reviewable && (i.state === 'to_do' || i.state === 'draft')).length,
    roundOpenForReviews: writePermission(session.round, undefined).canWrite,
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

/** A session and what was read of one dossier for it, not yet checked for assignment (the POST checks its form token first). */
export interface OpenedDossier {
  session: ReviewerSession;
  records: DossierAccessRecords;
}

/** The session a link opens and one dossier's records, in one read; ReviewAccessError for the link, the round, the reviewer. */
export async function openDossier(roundId: string, token: string | undefined, dossierNumber: number, deps: PageDependencies): Promise<OpenedDossier> {
  const link = verifyLink(roundId, token, deps.secret, deps.clock.now());
  const { round, reviewer, ...records } = await deps.reads.readReviewerDossier(roundId, link.reviewerId, dossierNumber);
  return { session: sessionOf(link, { round, reviewer }), records };
}

/** One assigned dossier with the reviewer's own review; `not_assigned` for any other (or a missing one). */
export function dossierPageOf(session: ReviewerSession, { assigned, review, dossier }: DossierAccessRecords): ReviewerDossierPage {
  if (!dossier || !assigned) throw new ReviewAccessError('not_assigned');
  return { session, dossier, review, state: reviewStateOf(review), version: storedVersion(review), permission: writePermission(session.round, review, dossier) };
}

/** The dossier page a link opens; ReviewAccessError for the link, the round, the reviewer, a dossier not assigned. */
export async function openDossierPage(roundId: string, token: string | undefined, dossierNumber: number, deps: PageDependencies): Promise<ReviewerDossierPage> {
  const { session, records } = await openDossier(roundId, token, dossierNumber, deps);
  return dossierPageOf(session, records);
}

/**
 * The file behind an attachment link of an assigned dossier: one of the dossier's attachments
 * (by its position in the list the page shows), or `not_assigned`.
 */
export function attachmentOf(page: ReviewerDossierPage, index: number): AttachmentRef {
  const attachment = Number.isInteger(index) && index >= 0 ? page.dossier.attachments[index] : undefined;
  if (!attachment) throw new ReviewAccessError('not_assigned');
  return attachment;
}
