import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Personal review links. The token is `<reviewerId>.<base64url HMAC-SHA256(secret, roundId:reviewerId)>`:
 * checking it needs no lookup. The link opens a page (GET never changes anything); a review is
 * only written by the POST of that page (HotCRP: no magic links).
 */

export interface ReviewLinkSettings {
  /** The public origin of the review page, e.g. `https://selection.example.gouv.fr`. */
  baseUrl: string;
  /** The HMAC key (a secret of the deployment). */
  secret: string;
}

/** Reviewer ids are hex digests (reviewerIdOf); anything else in a token is refused before any HMAC. */
const REVIEWER_ID = /^[A-Za-z0-9_-]{1,64}$/;

function signature(secret: string, roundId: string, reviewerId: string): string {
  if (!secret) throw new RangeError('the review link secret is empty');
  return createHmac('sha256', secret).update(`${roundId}:${reviewerId}`, 'utf8').digest('base64url');
}

export function reviewToken(secret: string, roundId: string, reviewerId: string): string {
  if (!REVIEWER_ID.test(reviewerId)) throw new RangeError('a reviewer id is 1-64 characters of [A-Za-z0-9_-]');
  return `${reviewerId}.${signature(secret, roundId, reviewerId)}`;
}

export function reviewLink(settings: ReviewLinkSettings, roundId: string, reviewerId: string): string {
  const base = settings.baseUrl.replace(/\/+$/, '');
  return `${base}/review/${encodeURIComponent(roundId)}?token=${reviewToken(settings.secret, roundId, reviewerId)}`;
}

/** The reviewer id the token was issued to for this round, or undefined (forged, altered, other round). Constant-time. */
export function verifyReviewToken(secret: string, roundId: string, token: string | null | undefined): string | undefined {
  if (typeof token !== 'string') return undefined;
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const reviewerId = token.slice(0, dot);
  if (!REVIEWER_ID.test(reviewerId)) return undefined;
  const given = Buffer.from(token.slice(dot + 1), 'utf8');
  const expected = Buffer.from(signature(secret, roundId, reviewerId), 'utf8');
  if (given.length !== expected.length) return undefined;
  return timingSafeEqual(given, expected) ? reviewerId : undefined;
}
