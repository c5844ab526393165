import type { Criterion, RoundsConfig } from '#schemas/rounds';
import { isReviewable, type DossierRecord } from '../dossier.ts';
import { postsText } from './capacity.ts';
import {
  isSubmitted,
  type CapacityUse, type CommitteeDecisionRecord, type DecisionOutcome, type DecisionReasonCode, type DecisionRecord, type ExclusionRecord,
  type ReviewRecord, type RoundRecord,
} from './model.ts';

/**
 * Ranking and selection (README.md "The selection rules").
 *
 * - A review counts when it was submitted (not a draft), has no declared conflict of interest
 *   and scores every criterion of the round; its mean is weighted by the criteria's weights.
 * - A dossier's score is the mean of its counted reviews' means, rounded to 2 decimals.
 * - Order: score (desc), then more counted reviews, then earlier deposit, then dossier number.
 * - The posts to fill are the lower of the round's capacity and what is left of the period's
 *   ceiling (capacity.ts). In rank order a dossier is `selected` when its score is at least
 *   `minimumScore` and its EIG posts fit what is left; one that does not fit is skipped and a
 *   later, smaller one may still fit. The next `waitlistSize` dossiers at or above
 *   `minimumScore` are `waitlisted`, the rest `not_selected`.
 * - Who takes part: reviewable dossiers (stored, files_pending) that staff did not exclude.
 *   An excluded dossier gets `not_selected`, no rank, `excluded` and staff's reason. A dossier
 *   no longer reviewable gets a decision only when reviewers were assigned to it (it was in the
 *   review: its leaving must be explained): `withdrawn` (sans suite, deleted on DS) or
 *   `not_reviewable`, no rank. One never assigned (invalid at closing of submissions) was never
 *   in the selection and gets none.
 * - The committee decides, the ranking proposes: the ranking is computed once without the
 *   committee (`proposedOutcome`), then the committee's outcomes replace the proposals: its
 *   `selected` take their posts first (in rank order; one that no longer fits is waitlisted,
 *   `committee_selection_over_capacity`), its `waitlisted` take waiting-list places, and the
 *   other dossiers are decided again in rank order with what is left.
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
  /** Excluded by staff, withdrawn on DS (or otherwise no longer reviewable after assignment). */
  excluded: number;
  withdrawn: number;
  /** Dossiers whose outcome the committee set. */
  committeeDecisions: number;
}

export interface Ranking {
  /** Ranked dossiers by rank, then the unranked ones by number. */
  decisions: DecisionRecord[];
  totals: SelectionTotals;
}

/** Why a dossier left the round on DS (core/dossier.ts withdrawalOf). */
export interface Withdrawal {
  reasonCode: string;
  reason: string;
}

export interface SelectionInputs {
  /** What the round may fill (capacity.ts); absent: the round's capacity, no ceiling. */
  capacity?: Pick<CapacityUse, 'roundCapacityPosts' | 'ceilingLeft' | 'availablePosts' | 'period' | 'ceilingPosts'>;
  /** Dossiers that had reviewers assigned in the round. */
  assigned?: ReadonlySet<number>;
  /** Staff's exclusions (the latest word per dossier: `excluded` false is an inclusion). */
  exclusions?: readonly ExclusionRecord[];
  /** The committee's outcomes (`rounds decide`). */
  committee?: readonly CommitteeDecisionRecord[];
  /** Whether a dossier was withdrawn on DS, and why. */
  withdrawalOf?: (dossier: DossierRecord) => Withdrawal | undefined;
}

/** The outcomes as staff read them. */
export const OUTCOME_LABELS: Readonly<Record<DecisionOutcome, string>> = {
  selected: 'sélectionné',
  waitlisted: "liste d'attente",
  not_selected: 'non sélectionné',
};

/** `4.5` → `4,5`: the reasons are French sentences. */
export function frenchNumber(value: number): string {
  return String(value).replace('.', ',');
}

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

export const postsRequested = (dossier: Pick<DossierRecord, 'project'>): number => dossier.project?.eigPostsRequested ?? 0;

const requested = (posts: number) => `${postsText(posts)} demandé${posts > 1 ? 's' : ''}`;

interface Scored {
  dossier: DossierRecord;
  score: number | null;
  reviewCount: number;
}

interface Verdict {
  outcome: DecisionOutcome;
  reasonCode: DecisionReasonCode;
  reason: string;
}

/** Where capacity stands while deciding in rank order. */
interface Budget {
  /** Posts left in the round's own capacity. */
  round: number;
  /** Posts left under the period's ceiling. */
  ceiling: number;
}

/**
 * Decides the participants in rank order (the unranked ones last), with the committee's outcomes
 * when given. Returns one verdict per dossier number.
 */
function decideInOrder(
  ranked: readonly (Scored & { score: number })[],
  unranked: readonly Scored[],
  capacity: NonNullable<SelectionInputs['capacity']>,
  rules: SelectionRules,
  committee: ReadonlyMap<number, CommitteeDecisionRecord>,
): Map<number, Verdict> {
  const verdicts = new Map<number, Verdict>();
  const budget: Budget = { round: capacity.roundCapacityPosts, ceiling: capacity.ceilingLeft };
  const available = () => Math.min(budget.round, budget.ceiling);
  const take = (posts: number) => {
    budget.round -= posts;
    budget.ceiling -= posts;
  };
  const ordered: Scored[] = [...ranked, ...unranked];
  const rankOf = new Map(ranked.map((s, index) => [s.dossier.number, index + 1]));
  const prefix = (s: Scored) => (rankOf.has(s.dossier.number) ? `Rang ${rankOf.get(s.dossier.number)}, score ${frenchNumber(s.score!)}` : 'Non classé');

  // The committee's `selected` take their posts first, in rank order.
  const committeeFits = new Set<number>();
  for (const s of ordered) {
    if (committee.get(s.dossier.number)?.outcome !== 'selected') continue;
    const posts = postsRequested(s.dossier);
    if (posts <= available()) {
      take(posts);
      committeeFits.add(s.dossier.number);
    }
  }
  const committeeWaitlisted = ordered.filter((s) => {
    const word = committee.get(s.dossier.number);
    return word?.outcome === 'waitlisted' || (word?.outcome === 'selected' && !committeeFits.has(s.dossier.number));
  }).length;
  const slots = Math.max(0, rules.waitlistSize - committeeWaitlisted);
  let computedWaitlisted = 0;
  let position = 0;

  for (const s of ordered) {
    const number = s.dossier.number;
    const posts = postsRequested(s.dossier);
    const word = committee.get(number);
    const head = prefix(s);
    if (word) {
      const committeeReason = `décision du comité : ${word.reason}`;
      if (word.outcome === 'selected' && committeeFits.has(number)) {
        verdicts.set(number, { outcome: 'selected', reasonCode: 'committee_decision', reason: `${head} : ${committeeReason} (${requested(posts)}).` });
      } else if (word.outcome === 'selected') {
        position++;
        verdicts.set(number, {
          outcome: 'waitlisted', reasonCode: 'committee_selection_over_capacity',
          reason: `${head} : ${committeeReason} ; mais ${requested(posts)}, plus que les postes restants à la clôture (${postsText(available())}) : liste d'attente, position ${position}.`,
        });
      } else {
        if (word.outcome === 'waitlisted') position++;
        const where = word.outcome === 'waitlisted' ? ` : liste d'attente, position ${position}` : '';
        verdicts.set(number, { outcome: word.outcome, reasonCode: 'committee_decision', reason: `${head} : ${committeeReason}${where}.` });
      }
      continue;
    }
    if (s.score === null) {
      verdicts.set(number, { outcome: 'not_selected', reasonCode: 'no_counted_review', reason: 'Aucune évaluation comptée : dossier non classé.' });
      continue;
    }
    if (s.score < rules.minimumScore) {
      verdicts.set(number, { outcome: 'not_selected', reasonCode: 'below_minimum_score', reason: `${head} : en dessous du score minimum (${frenchNumber(rules.minimumScore)}).` });
      continue;
    }
    if (posts <= available()) {
      take(posts);
      const of = capacity.availablePosts < capacity.roundCapacityPosts
        ? `${capacity.availablePosts} à pourvoir, plafond ${capacity.period} atteint au-delà`
        : `${capacity.roundCapacityPosts}`;
      verdicts.set(number, {
        outcome: 'selected', reasonCode: 'selected_within_capacity',
        reason: `${head} : ${requested(posts)}, dans la capacité (il reste ${postsText(available())} sur ${of}).`,
      });
      continue;
    }
    // Which limit stops it: the round's own capacity, or the period's ceiling.
    const ceilingBinds = posts <= budget.round;
    const over = ceilingBinds
      ? `${requested(posts)}, plus que ce qu'il reste du plafond ${capacity.period} (${postsText(Math.max(0, budget.ceiling))} sur ${capacity.ceilingPosts})`
      : `${requested(posts)}, plus que la capacité restante (${postsText(budget.round)} sur ${capacity.roundCapacityPosts})`;
    if (computedWaitlisted < slots) {
      computedWaitlisted++;
      position++;
      verdicts.set(number, {
        outcome: 'waitlisted', reasonCode: ceilingBinds ? 'waitlisted_over_ceiling' : 'waitlisted_over_capacity',
        reason: `${head} : liste d'attente, position ${position} ; ${over}. Un dossier classé après, plus petit, peut encore être sélectionné.`,
      });
    } else {
      verdicts.set(number, {
        outcome: 'not_selected', reasonCode: ceilingBinds ? 'over_ceiling_waitlist_full' : 'over_capacity_waitlist_full',
        reason: `${head} : ${over}, et la liste d'attente est complète.`,
      });
    }
  }
  return verdicts;
}

export function rankDossiers(
  dossiers: readonly DossierRecord[],
  reviews: readonly ReviewRecord[],
  round: Pick<RoundRecord, 'id' | 'criteria' | 'capacityPosts'>,
  rules: SelectionRules,
  inputs: SelectionInputs = {},
): Ranking {
  const capacity = inputs.capacity ?? {
    roundCapacityPosts: round.capacityPosts, ceilingLeft: Number.POSITIVE_INFINITY, availablePosts: round.capacityPosts, period: '-', ceilingPosts: Number.POSITIVE_INFINITY,
  };
  const excluded = new Map((inputs.exclusions ?? []).filter((e) => e.excluded && e.roundId === round.id).map((e) => [e.dossierNumber, e]));
  const assigned = inputs.assigned ?? new Set<number>();

  const means = new Map<number, number[]>();
  for (const review of reviews) {
    if (review.roundId !== round.id) continue;
    const mean = reviewMean(review, round.criteria);
    if (mean === undefined) continue;
    means.set(review.dossierNumber, [...(means.get(review.dossierNumber) ?? []), mean]);
  }

  const scored: Scored[] = dossiers.filter((d) => isReviewable(d) && !excluded.has(d.number)).map((dossier) => {
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
  const unranked = scored.filter((s) => s.score === null).sort((a, b) => a.dossier.number - b.dossier.number);
  const participants = new Set(scored.map((s) => s.dossier.number));
  const committee = new Map((inputs.committee ?? []).filter((c) => c.roundId === round.id && participants.has(c.dossierNumber)).map((c) => [c.dossierNumber, c]));

  const proposals = decideInOrder(ranked, unranked, capacity, rules, new Map());
  const finals = committee.size > 0 ? decideInOrder(ranked, unranked, capacity, rules, committee) : proposals;

  const decisions: DecisionRecord[] = [];
  const record = (s: Scored, rank: number | null, verdict: Verdict, proposed: DecisionOutcome) => {
    const word = committee.get(s.dossier.number);
    decisions.push({
      roundId: round.id, dossierNumber: s.dossier.number, outcome: verdict.outcome, rank, score: s.score, reviewCount: s.reviewCount,
      eigPostsRequested: postsRequested(s.dossier), reasonCode: verdict.reasonCode,
      reason: word && verdict.outcome !== proposed ? `${verdict.reason} Le classement proposait : ${OUTCOME_LABELS[proposed]}.` : verdict.reason,
      proposedOutcome: proposed,
      ...(word ? { committeeReason: word.reason, committeeActor: word.actor } : {}),
    });
  };
  ranked.forEach((s, index) => record(s, index + 1, finals.get(s.dossier.number)!, proposals.get(s.dossier.number)!.outcome));
  for (const s of unranked) record(s, null, finals.get(s.dossier.number)!, proposals.get(s.dossier.number)!.outcome);

  // Those out of the ranking, with why: excluded by staff, or gone from the review after assignment.
  for (const dossier of [...dossiers].sort((a, b) => a.number - b.number)) {
    if (participants.has(dossier.number)) continue;
    const exclusion = excluded.get(dossier.number);
    let verdict: Verdict | undefined;
    if (exclusion) {
      verdict = { outcome: 'not_selected', reasonCode: 'excluded', reason: `Exclu de la session par l'équipe : ${exclusion.reason}` };
    } else if (assigned.has(dossier.number)) {
      const withdrawal = inputs.withdrawalOf?.(dossier);
      verdict = withdrawal
        ? { outcome: 'not_selected', reasonCode: 'withdrawn', reason: `Retiré après l'affectation des évaluateurs (${withdrawal.reason}) : dossier non classé.` }
        : { outcome: 'not_selected', reasonCode: 'not_reviewable', reason: `N'est plus évaluable depuis l'affectation des évaluateurs (statut ${dossier.status}) : dossier non classé.` };
    }
    if (!verdict) continue;
    decisions.push({
      roundId: round.id, dossierNumber: dossier.number, outcome: verdict.outcome, rank: null, score: null, reviewCount: 0,
      eigPostsRequested: postsRequested(dossier), reasonCode: verdict.reasonCode, reason: verdict.reason, proposedOutcome: verdict.outcome,
    });
  }
  const order = (d: DecisionRecord) => (d.rank ?? Number.MAX_SAFE_INTEGER);
  decisions.sort((a, b) => order(a) - order(b) || a.dossierNumber - b.dossierNumber);
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
    excluded: decisions.filter((d) => d.reasonCode === 'excluded').length,
    withdrawn: decisions.filter((d) => d.reasonCode === 'withdrawn' || d.reasonCode === 'not_reviewable').length,
    committeeDecisions: decisions.filter((d) => d.committeeReason !== undefined).length,
  };
}
