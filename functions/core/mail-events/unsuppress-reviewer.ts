import type { SuppressionReason } from '../rounds/model.ts';
import type { RoundRepository } from '../rounds/ports.ts';
import { MAIL_EVENTS_ROUND, normalizeAddress } from './handle-mail-event.ts';

/**
 * `ds-selection reviewers unsuppress EMAIL`: staff fixed a reviewer's address (or checked it with
 * them) and lift the suppression a bounce or complaint set. Audited under the pseudo-round
 * `mail-events` with the reviewer id and the reason lifted, never the address. An address that is
 * no reviewer's is refused; one that is not suppressed changes nothing.
 */

export class UnknownReviewerError extends Error {
  override name = 'UnknownReviewerError';
}

export interface UnsuppressResult {
  reviewerId: string;
  /** False: the reviewer was not suppressed, nothing changed. */
  changed: boolean;
  /** What was lifted (null: not suppressed, or a flag from before reasons were kept). */
  previousReason: SuppressionReason | null;
  previousAt: string | null;
}

export async function unsuppressReviewer(
  request: { email: string; actor: string },
  deps: { rounds: RoundRepository; clock: { now(): Date } },
): Promise<UnsuppressResult> {
  const email = normalizeAddress(request.email);
  const reviewer = (await deps.rounds.listReviewers()).find((r) => normalizeAddress(r.email) === email);
  if (!reviewer) throw new UnknownReviewerError('no reviewer has this email (ds-selection reviewers list)');
  // The index may lag: the reviewer's own item says whether it is suppressed.
  const current = (await deps.rounds.getReviewer(reviewer.id)) ?? reviewer;
  const base = { reviewerId: reviewer.id, previousReason: current.suppressedReason ?? null, previousAt: current.suppressedAt ?? null };
  if (!current.suppressed) return { ...base, changed: false };
  const changed = await deps.rounds.unsuppressReviewer(reviewer.id);
  if (changed) {
    await deps.rounds.putAudit({
      roundId: MAIL_EVENTS_ROUND, step: 'unsuppress-reviewer', at: deps.clock.now().toISOString(), actor: request.actor,
      summary: { reviewerId: reviewer.id, previousReason: base.previousReason, previousAt: base.previousAt },
    });
  }
  return { ...base, changed };
}
