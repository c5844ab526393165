/**
 * Why the review page refuses a request. The page says, in French, what to do (ask staff for a new
 * link), with a 4xx status, and shows no data. Messages never name the reviewer or the dossier.
 */
export const REVIEW_REFUSALS = {
  /** Forged, altered, truncated, or for another round. */
  invalid_link: 403,
  /** A genuine link past its expiry. */
  expired_link: 403,
  /** A genuine link to a round that does not exist. */
  unknown_round: 404,
  /** The reviewer was made inactive (or removed). */
  inactive_reviewer: 403,
  /** The dossier is not assigned to this reviewer in this round (or does not exist). */
  not_assigned: 404,
  /** A POST without the page's anti-forgery token, or with another one. */
  invalid_form_token: 403,
} as const;
export type ReviewRefusal = keyof typeof REVIEW_REFUSALS;

export class ReviewAccessError extends Error {
  override name = 'ReviewAccessError';
  readonly status: number;
  constructor(readonly reason: ReviewRefusal) {
    super(`review page refused: ${reason}`);
    this.status = REVIEW_REFUSALS[reason];
  }
}
