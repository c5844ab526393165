import type { RoundsConfig } from '#schemas/rounds';
import { isReviewable } from '../dossier.ts';
import type { Clock } from '../ports.ts';
import { loadCapacityUse, postsText } from './capacity.ts';
import { DossierNotInRoundError, RoundStepRefusedError } from './errors.ts';
import { checkReason, roundOpenForStaff } from './exclude-dossier.ts';
import type { CapacityUse, CommitteeDecisionRecord, DecisionOutcome, RoundRecord } from './model.ts';
import type { RoundDossiers, RoundRepository } from './ports.ts';
import { postsRequested } from './rank-dossiers.ts';

/**
 * The committee decides; the ranking proposes (`ds-selection rounds decide`). Staff record the
 * committee's outcome for one dossier before the selection closes; close-selection then applies
 * it in place of the ranking's proposal and decides the other dossiers in rank order with what
 * is left (rank-dossiers.ts). The latest word per dossier wins (CommitteeDecisionRecord); the
 * audit keeps every change, with who asked, never the reason's text.
 *
 * - Phase: `reviewing` only. Refused on an `open` round (`round_not_reviewing`): there is no
 *   review yet to decide against, and taking a dossier out early is what `dossiers exclude` is
 *   for. Refused on a `closed` one (`round_closed`): its decisions are final.
 * - The dossier must be one of the round's, reviewable (not withdrawn nor invalid:
 *   `dossier_not_reviewable`) and not excluded (`dossier_excluded`: include it first).
 * - Capacity and the yearly ceiling still hold: a `selected` is refused when the committee's
 *   selections of the round, with this one, would exceed the round's capacity (`over_capacity`)
 *   or what the earlier closed rounds of the period left of the ceiling (`over_ceiling`); the
 *   message gives the numbers. `waitlisted` and `not_selected` always fit.
 */

export interface DecideDossierRequest {
  roundId: string;
  dossierNumber: number;
  outcome: DecisionOutcome;
  reason: string;
  actor: string;
  dryRun?: boolean;
}

export interface DecideDossierResult {
  roundId: string;
  dossierNumber: number;
  outcome: DecisionOutcome;
  dryRun: boolean;
  /** The record written (or that would be). */
  record: CommitteeDecisionRecord;
  previous: CommitteeDecisionRecord | null;
  eigPostsRequested: number;
  /** The posts the committee's selections of the round take, this one included when `selected`. */
  committeePosts: number;
  capacity: CapacityUse;
}

export interface DecideDossierDependencies {
  rounds: Pick<RoundRepository, 'getRound' | 'listRoundsByStatus' | 'listDecisions' | 'listExclusions' | 'listCommitteeDecisions' | 'putCommitteeDecision' | 'putAudit'>;
  dossiers: RoundDossiers;
  config: Pick<RoundsConfig, 'yearlyCeilingPosts' | 'ceilingPeriodStartMonth'>;
  clock: Clock;
}

/** Whether `posts` more fit beside `committeePosts` already selected: null when they do, else the refusal. */
export function committeeSelectionRefusal(
  round: Pick<RoundRecord, 'id'>, dossierNumber: number, posts: number, committeePosts: number, capacity: CapacityUse,
): RoundStepRefusedError | null {
  const total = committeePosts + posts;
  const what = `dossier ${dossierNumber} asks for ${posts} post${posts > 1 ? 's' : ''} and the committee has selected ${committeePosts} in round ${round.id} already`;
  if (total > capacity.roundCapacityPosts) {
    return new RoundStepRefusedError(
      `${what}: ${total} would exceed the round capacity of ${capacity.roundCapacityPosts} posts`, 'over_capacity', round.id,
    );
  }
  if (total > capacity.ceilingLeft) {
    return new RoundStepRefusedError(
      `${what}: ${total} would exceed the yearly ceiling: ${capacity.ceilingPosts} posts for ${capacity.period}, ${capacity.usedBefore} selected in `
      + `earlier closed rounds (${capacity.earlierRounds.join(', ') || 'none'}), ${capacity.ceilingLeft} left`,
      'over_ceiling', round.id,
    );
  }
  return null;
}

export async function decideDossier(request: DecideDossierRequest, deps: DecideDossierDependencies): Promise<DecideDossierResult> {
  const reason = checkReason(request.reason);
  const round = await roundOpenForStaff(deps.rounds, request.roundId, 'a committee decision');
  if (round.status !== 'reviewing') {
    throw new RoundStepRefusedError(
      `round ${round.id} is ${round.status}: the committee decides once reviewers are assigned (rounds close-submissions); `
      + 'to take a dossier out of the round now, use dossiers exclude',
      'round_not_reviewing', round.id,
    );
  }
  const [dossiers, exclusions, committee, capacity] = await Promise.all([
    deps.dossiers.listRoundDossiers(round.id), deps.rounds.listExclusions(round.id), deps.rounds.listCommitteeDecisions(round.id),
    loadCapacityUse(deps.rounds, round, deps.config),
  ]);
  const dossier = dossiers.find((d) => d.number === request.dossierNumber);
  if (!dossier) throw new DossierNotInRoundError(round.id, request.dossierNumber);
  if (exclusions.some((e) => e.dossierNumber === dossier.number && e.excluded)) {
    throw new RoundStepRefusedError(
      `dossier ${dossier.number} is excluded from round ${round.id}: include it first (dossiers include ${dossier.number} --round ${round.id})`,
      'dossier_excluded', round.id,
    );
  }
  if (!isReviewable(dossier)) {
    throw new RoundStepRefusedError(
      `dossier ${dossier.number} is ${dossier.status}: it is no longer reviewable, the ranking leaves it out with its reason`, 'dossier_not_reviewable', round.id,
    );
  }

  const postsOf = new Map(dossiers.map((d) => [d.number, postsRequested(d)]));
  const excluded = new Set(exclusions.filter((e) => e.excluded).map((e) => e.dossierNumber));
  const reviewable = new Set(dossiers.filter(isReviewable).map((d) => d.number));
  // Only selections that close-selection will apply count (not those on excluded or withdrawn dossiers).
  const otherSelected = committee.filter((c) => c.outcome === 'selected' && c.dossierNumber !== dossier.number
    && !excluded.has(c.dossierNumber) && reviewable.has(c.dossierNumber));
  const committeePostsBefore = otherSelected.reduce((sum, c) => sum + (postsOf.get(c.dossierNumber) ?? 0), 0);
  const posts = postsRequested(dossier);
  if (request.outcome === 'selected') {
    const refusal = committeeSelectionRefusal(round, dossier.number, posts, committeePostsBefore, capacity);
    if (refusal) throw refusal;
  }

  const previous = committee.find((c) => c.dossierNumber === dossier.number) ?? null;
  const now = deps.clock.now().toISOString();
  const record: CommitteeDecisionRecord = { roundId: round.id, dossierNumber: dossier.number, outcome: request.outcome, reason, actor: request.actor, at: now };
  const dryRun = request.dryRun === true;
  const result: DecideDossierResult = {
    roundId: round.id, dossierNumber: dossier.number, outcome: request.outcome, dryRun, record, previous, eigPostsRequested: posts,
    committeePosts: committeePostsBefore + (request.outcome === 'selected' ? posts : 0), capacity,
  };
  if (dryRun) return result;
  await deps.rounds.putCommitteeDecision(record);
  await deps.rounds.putAudit({
    roundId: round.id, step: 'decide', at: now, actor: request.actor,
    summary: { dossierNumber: dossier.number, outcome: request.outcome, previousOutcome: previous?.outcome ?? null, committeePosts: result.committeePosts },
  });
  return result;
}

/** One French line: what the committee's selections take against the capacity and the ceiling. */
export function committeeCapacityText(result: Pick<DecideDossierResult, 'committeePosts' | 'capacity'>): string {
  const c = result.capacity;
  return `le comité a sélectionné ${postsText(result.committeePosts)} dans cette session ; capacité ${c.roundCapacityPosts}, `
    + `plafond ${c.period} ${c.ceilingPosts} (${c.usedBefore} déjà pourvus, ${c.ceilingLeft} restants)`;
}
