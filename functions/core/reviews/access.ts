import type { DossierRecord } from '../dossier.ts';
import { isReviewable } from '../rounds/assign-reviewers.ts';
import { ROUND_PHASES, isSubmitted, type ReviewRecord, type ReviewerRecord, type RoundRecord } from '../rounds/model.ts';
import { verifyFormToken, verifyReviewToken } from '../rounds/review-links.ts';
import { ReviewAccessError } from './errors.ts';

/**
 * Who may read or write what, in which phase: the pure decisions of the review page.
 *
 * - A link opens one round for one reviewer: a genuine, unexpired token for that round, a round
 *   that exists, a reviewer who exists and is active. Anything else is refused with a reason, and
 *   no data.
 * - A reviewer sees only the dossiers assigned to them in that round, and only their own review.
 * - Writing needs, on top of that, the form's anti-forgery token and a round whose phase allows
 *   reviews (`ROUND_PHASES[status].canReview`, i.e. `reviewing`); a review that declared a
 *   conflict of interest is final (the dossier went to someone else).
 */

/** A reviewer authenticated for one round by their personal link. */
export interface ReviewerSession {
  round: RoundRecord;
  reviewer: ReviewerRecord;
  /** The link's expiry: the anti-forgery token is bound to it. */
  linkExpiresAt: Date;
}

/** What a genuine, unexpired link names: checked without any read. */
export interface ReviewLink {
  reviewerId: string;
  /** The link's expiry: the anti-forgery token is bound to it. */
  expiresAt: Date;
}

/** The link's reviewer and expiry, or ReviewAccessError (forged, altered, other round, expired). No I/O. */
export function verifyLink(roundId: string, token: string | undefined, secret: string, now: Date): ReviewLink {
  const check = verifyReviewToken(secret, roundId, token, now);
  if (!check.valid) throw new ReviewAccessError(check.reason === 'expired' ? 'expired_link' : 'invalid_link');
  return { reviewerId: check.reviewerId, expiresAt: check.expiresAt };
}

/** The round and the reviewer a link names, as the store holds them (undefined: none). */
export interface SessionRecords {
  round: RoundRecord | undefined;
  reviewer: ReviewerRecord | undefined;
}

/** The session a verified link opens, or ReviewAccessError (unknown round, inactive or unknown reviewer). */
export function sessionOf(link: ReviewLink, { round, reviewer }: SessionRecords): ReviewerSession {
  // A genuine token for a round that does not exist (deleted, or a test stage): nothing to show.
  if (!round) throw new ReviewAccessError('unknown_round');
  if (!reviewer || !reviewer.active) throw new ReviewAccessError('inactive_reviewer');
  return { round, reviewer, linkExpiresAt: link.expiresAt };
}

/** Throws unless the POST carries the anti-forgery token of this session's pages. */
export function requireFormToken(session: ReviewerSession, given: string | undefined, secret: string): void {
  if (!verifyFormToken(secret, session.round.id, session.reviewer.id, session.linkExpiresAt, given)) {
    throw new ReviewAccessError('invalid_form_token');
  }
}

/** Where one of the reviewer's dossiers stands, as the list shows it. */
export type ReviewState = 'to_do' | 'draft' | 'submitted' | 'conflict';

export function reviewStateOf(review: ReviewRecord | undefined): ReviewState {
  if (!review) return 'to_do';
  if (isSubmitted(review) && review.conflictOfInterest) return 'conflict';
  return isSubmitted(review) ? 'submitted' : 'draft';
}

/**
 * Why a reviewer may read but not write: the round is not (or no longer) in review, they withdrew,
 * or the dossier left the selection after assignment (classé sans suite or deleted on DS, or invalid).
 */
export type ReadOnlyReason = 'round_not_reviewing_yet' | 'round_closed' | 'conflict_declared' | 'dossier_withdrawn';

export type WritePermission = { canWrite: true } | { canWrite: false; reason: ReadOnlyReason };

/**
 * Whether this reviewer may write their review of a dossier now (assignment checked by the
 * caller). Without `dossier`, only the round and the review are considered (the list's "can the
 * round take reviews at all").
 */
export function writePermission(round: Pick<RoundRecord, 'status'>, review: ReviewRecord | undefined, dossier?: Pick<DossierRecord, 'status' | 'state'>): WritePermission {
  if (!ROUND_PHASES[round.status].canReview) {
    return { canWrite: false, reason: round.status === 'closed' ? 'round_closed' : 'round_not_reviewing_yet' };
  }
  if (reviewStateOf(review) === 'conflict') return { canWrite: false, reason: 'conflict_declared' };
  if (dossier && !isReviewable(dossier)) return { canWrite: false, reason: 'dossier_withdrawn' };
  return { canWrite: true };
}
