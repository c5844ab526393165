import { createHmac, timingSafeEqual } from 'node:crypto';
import { DAY_MS } from './paris-dates.ts';

/**
 * Personal review links. The token is `<reviewerId>.<expiresAt>.<signature>`, where `expiresAt`
 * is in epoch seconds and the signature is the base64url HMAC-SHA256 of
 * `review:<roundId>:<reviewerId>:<expiresAt>` under the deployment's secret: checking it needs no
 * lookup, and no part of it can be changed without the secret. The link opens pages (GET never
 * changes anything); a review is only written by the POST of a page (HotCRP: no magic links),
 * which must also carry the anti-forgery token of `formToken`.
 */

export interface ReviewLinkSettings {
  /** The public origin of the review page, e.g. `https://selection.example.gouv.fr`. */
  baseUrl: string;
  /** The HMAC key (a secret of the deployment). */
  secret: string;
}

/** Reviewer ids are short random or hex ids; anything else in a token is refused before any HMAC. */
const REVIEWER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const EXPIRES_AT = /^\d{1,12}$/;

function hmac(secret: string, message: string): string {
  if (!secret) throw new RangeError('the review link secret is empty');
  return createHmac('sha256', secret).update(message, 'utf8').digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const given = Buffer.from(a, 'utf8');
  const expected = Buffer.from(b, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const epochSeconds = (instant: Date) => Math.floor(instant.getTime() / 1000);

export function reviewToken(secret: string, roundId: string, reviewerId: string, expiresAt: Date): string {
  if (!REVIEWER_ID.test(reviewerId)) throw new RangeError('a reviewer id is 1-64 characters of [A-Za-z0-9_-]');
  if (Number.isNaN(expiresAt.getTime())) throw new RangeError('a review link needs a valid expiry');
  const exp = epochSeconds(expiresAt);
  return `${reviewerId}.${exp}.${hmac(secret, `review:${roundId}:${reviewerId}:${exp}`)}`;
}

/** The page of one round for one reviewer: `<baseUrl>/review/<round>?token=...`. */
export function reviewLink(settings: ReviewLinkSettings, roundId: string, reviewerId: string, expiresAt: Date): string {
  const base = settings.baseUrl.replace(/\/+$/, '');
  return `${base}/review/${encodeURIComponent(roundId)}?token=${reviewToken(settings.secret, roundId, reviewerId, expiresAt)}`;
}

export type ReviewTokenCheck =
  | { valid: true; reviewerId: string; expiresAt: Date }
  /**
   * `invalid`: forged, altered, truncated or for another round (nothing can be told apart
   * without the secret, and nothing is). `expired`: genuine but past its expiry.
   */
  | { valid: false; reason: 'invalid' | 'expired' };

/** Checks a token for `roundId` at `now`, in constant time. Expiry is only told for a genuine token. */
export function verifyReviewToken(secret: string, roundId: string, token: string | null | undefined, now: Date): ReviewTokenCheck {
  if (typeof token !== 'string' || token.length > 200) return { valid: false, reason: 'invalid' };
  const [reviewerId, exp, signature, ...rest] = token.split('.');
  if (rest.length > 0 || !reviewerId || !exp || !signature || !REVIEWER_ID.test(reviewerId) || !EXPIRES_AT.test(exp)) {
    return { valid: false, reason: 'invalid' };
  }
  if (!sameText(signature, hmac(secret, `review:${roundId}:${reviewerId}:${exp}`))) return { valid: false, reason: 'invalid' };
  const expiresAt = new Date(Number(exp) * 1000);
  if (expiresAt.getTime() <= now.getTime()) return { valid: false, reason: 'expired' };
  return { valid: true, reviewerId, expiresAt };
}

/**
 * When a round's links stop working: the review deadline plus `graceDays` (staff may close the
 * selection a little late, and reviewers read their scores after). Before the deadline is known
 * (it is set when submissions close), from now plus the review days.
 */
export function linkExpiry(round: { reviewDeadline: string | null }, config: { reviewDays: number; reviewLinkGraceDays: number }, now: Date): Date {
  const deadlineMs = round.reviewDeadline ? Date.parse(round.reviewDeadline) : Number.NaN;
  const base = Number.isNaN(deadlineMs) ? now.getTime() + config.reviewDays * DAY_MS : deadlineMs;
  return new Date(base + config.reviewLinkGraceDays * DAY_MS);
}

/**
 * The anti-forgery token every POST of the review page carries (a hidden field): bound to the
 * reviewer, the round and the link's expiry, so a form from another link or round is refused.
 * A page served from a genuine link is the only place it comes from.
 */
export function formToken(secret: string, roundId: string, reviewerId: string, expiresAt: Date): string {
  return hmac(secret, `form:${roundId}:${reviewerId}:${epochSeconds(expiresAt)}`);
}

export function verifyFormToken(secret: string, roundId: string, reviewerId: string, expiresAt: Date, given: string | null | undefined): boolean {
  if (typeof given !== 'string' || given.length === 0 || given.length > 100) return false;
  return sameText(given, formToken(secret, roundId, reviewerId, expiresAt));
}
