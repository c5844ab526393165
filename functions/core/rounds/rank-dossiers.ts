import type { Criterion, RoundsConfig } from '#schemas/rounds';
import type { DossierRecord } from '../dossier.ts';
import { isReviewable } from './assign-reviewers.ts';
import { isSubmitted, type DecisionReasonCode, type DecisionRecord, type ReviewRecord, type RoundRecord } from './model.ts';

/**
 * Ranking and selection.
 *
 * - A review counts when it was submitted (not a draft), has no declared conflict of interest
 *   and scores every criterion of the round; its mean is weighted by the criteria's weights.
 * - A dossier's score is the mean of its counted reviews' means, rounded to 2 decimals.
 * - Order: score (desc), then more counted reviews, then earlier deposit, then dossier number.
 * - In that order a dossier is `selected` when its score is at least `minimumScore` and its EIG
 *   posts fit the capacity left; one that does not fit is skipped and a later, smaller one may
 *   still fit. The next `waitlistSize` dossiers at or above `minimumScore` are `waitlisted`, the
 *   rest `not_selected`. Only reviewable dossiers (stored, files_pending) get a decision.
 */

export type SelectionRules = Pick<RoundsConfig, 'minimumScore' | 'waitlistSize'>;

export interface SelectionTotals {
  capacityPosts: number;
  postsSelected: number;
  dossiers: number;
  ranked: number;
  selected: number;
  waitlisted: number;
  notSelected: number;
  countedReviews: number;
}

export interface Ranking {
  /** Ranked dossiers by rank, then the unranked ones by number. */
  decisions: DecisionRecord[];
  totals: SelectionTotals;
}

/** `4.5` → `4,5`: the reasons are French sentences. */
export function frenchNumber(value: number): string {
  return String(value).replace('.', ',');
}

/** `1 poste`, `0 poste`, `3 postes` (French: the plural starts at 2). */
const postsText = (count: number) => `${count} ${count > 1 ? 'postes' : 'poste'}`;

export function round2(value: number): number {
  return Math.round((value + Number.EPSILON) * 100) / 100;
}

/** The weighted mean of one review, or undefined when it does not count (a draft, a conflict, a criterion unscored). */
export function reviewMean(review: ReviewRecord, criteria: readonly Criterion[]): number | undefined {
  if (!isSubmitted(review) || review.conflictOfInterest || criteria.length === 0) return undefined;
  let sum = 0;
  let weights = 0;
  for (const criterion of criteria) {
    const score = review.scores[criterion.id];
    if (typeof score !== 'number' || !Number.isFinite(score)) return undefined;
    sum += criterion.weight * score;
    weights += criterion.weight;
  }
  return sum / weights;
}

const depositMs = (dossier: DossierRecord) => {
  const ms = dossier.dateDepot ? Date.parse(dossier.dateDepot) : Number.NaN;
  return Number.isNaN(ms) ? Infinity : ms;
};

export const postsRequested = (dossier: DossierRecord): number => dossier.project?.eigPostsRequested ?? 0;

interface Scored {
  dossier: DossierRecord;
  score: number | null;
  reviewCount: number;
}

export function rankDossiers(
  dossiers: readonly DossierRecord[],
  reviews: readonly ReviewRecord[],
  round: Pick<RoundRecord, 'id' | 'criteria' | 'capacityPosts'>,
  rules: SelectionRules,
): Ranking {
  const means = new Map<number, number[]>();
  for (const review of reviews) {
    if (review.roundId !== round.id) continue;
    const mean = reviewMean(review, round.criteria);
    if (mean === undefined) continue;
    means.set(review.dossierNumber, [...(means.get(review.dossierNumber) ?? []), mean]);
  }

  const scored: Scored[] = dossiers.filter(isReviewable).map((dossier) => {
    const counted = means.get(dossier.number) ?? [];
    const score = counted.length === 0 ? null : round2(counted.reduce((a, b) => a + b, 0) / counted.length);
    return { dossier, score, reviewCount: counted.length };
  });
  const ranked = scored
    .filter((s): s is Scored & { score: number } => s.score !== null)
    .sort((a, b) => b.score - a.score
      || b.reviewCount - a.reviewCount
      || depositMs(a.dossier) - depositMs(b.dossier)
      || a.dossier.number - b.dossier.number);

  let remaining = round.capacityPosts;
  let waitlisted = 0;
  const decisions: DecisionRecord[] = [];
  const decide = (s: Scored, rank: number | null, outcome: DecisionRecord['outcome'], reasonCode: DecisionReasonCode, reason: string) => decisions.push({
    roundId: round.id, dossierNumber: s.dossier.number, outcome, rank, score: s.score, reviewCount: s.reviewCount,
    eigPostsRequested: postsRequested(s.dossier), reasonCode, reason,
  });

  ranked.forEach((s, index) => {
    const rank = index + 1;
    const posts = postsRequested(s.dossier);
    const ranking = `Rang ${rank}, score ${frenchNumber(s.score)}`;
    if (s.score < rules.minimumScore) {
      decide(s, rank, 'not_selected', 'below_minimum_score', `${ranking} : en dessous du score minimum (${frenchNumber(rules.minimumScore)}).`);
      return;
    }
    if (posts <= remaining) {
      remaining -= posts;
      decide(s, rank, 'selected', 'selected_within_capacity',
        `${ranking} : ${postsText(posts)} demandé${posts > 1 ? 's' : ''}, dans la capacité (il reste ${postsText(remaining)} sur ${round.capacityPosts}).`);
      return;
    }
    const overCapacity = `${postsText(posts)} demandé${posts > 1 ? 's' : ''}, plus que la capacité restante (${postsText(remaining)} sur ${round.capacityPosts})`;
    if (waitlisted < rules.waitlistSize) {
      waitlisted++;
      decide(s, rank, 'waitlisted', 'waitlisted_over_capacity',
        `${ranking} : liste d'attente, position ${waitlisted} ; ${overCapacity}. Un dossier classé après, plus petit, peut encore être sélectionné.`);
    } else {
      decide(s, rank, 'not_selected', 'over_capacity_waitlist_full', `${ranking} : ${overCapacity}, et la liste d'attente est complète.`);
    }
  });
  // Waiting-list positions follow the rank: a dossier skipped for capacity comes before lower-ranked ones.
  for (const s of scored.filter((x) => x.score === null).sort((a, b) => a.dossier.number - b.dossier.number)) {
    decide(s, null, 'not_selected', 'no_counted_review', 'Aucune évaluation comptée : dossier non classé.');
  }

  return { decisions, totals: selectionTotals(decisions, round.capacityPosts) };
}

/** The counts of a set of decisions (also for decisions read back from the store). */
export function selectionTotals(decisions: readonly DecisionRecord[], capacityPosts: number): SelectionTotals {
  const count = (outcome: DecisionRecord['outcome']) => decisions.filter((d) => d.outcome === outcome).length;
  return {
    capacityPosts,
    postsSelected: decisions.filter((d) => d.outcome === 'selected').reduce((sum, d) => sum + d.eigPostsRequested, 0),
    dossiers: decisions.length,
    ranked: decisions.filter((d) => d.rank !== null).length,
    selected: count('selected'),
    waitlisted: count('waitlisted'),
    notSelected: count('not_selected'),
    countedReviews: decisions.reduce((sum, d) => sum + d.reviewCount, 0),
  };
}
