import { withdrawalOf } from '../dossier.ts';
import { loadCapacityUse } from './capacity.ts';
import { ClosingNotReadyError } from './errors.ts';
import type { RoundRecord } from './model.ts';
import { countUnsent, deliverMails, emptyTally, type PendingMail } from './notifications.ts';
import { rankDossiers, selectionTotals, type SelectionTotals } from './rank-dossiers.ts';
import { closingReadiness, describeMissing, type ClosingReadiness } from './review-progress.ts';
import { selectionReportMail } from './round-mails.ts';
import {
  audit, mailSummary, positionOrRefuse, resolveRound, writeRound,
  type RoundStepDependencies, type RoundStepRequest, type RoundStepResult, type RoundStepSummary,
} from './round-step.ts';
import { selectionReport } from './selection-report.ts';

/** The notification of the staff's report mail: one per round. */
export const STAFF_RECIPIENT = 'staff';
export const SELECTION_REPORT_KEY = 'selection_report';

/**
 * `close-selection`: `reviewing` → `closed` (default: the oldest reviewing round).
 *
 * 0. refuse (ClosingNotReadyError, `reviews_missing` or `before_deadline`) while an assigned
 *    reviewer has not submitted the review of a still reviewable dossier (a draft is missing, a
 *    declared conflict is done), or before the review deadline, unless `force`: closing ranks on
 *    the reviews there are, so closing early must be a decision, not a scheduler's accident. A
 *    dry run does not refuse: it lists what is missing and says whether the run would be refused;
 *    a forced run lists it too, and its audit record says `forced` with the counts;
 * 1. work out what the round may fill (capacity.ts: its capacity, and what the earlier closed
 *    rounds of the period left of the ceiling); rank the reviewable dossiers that staff did not
 *    exclude and decide, the committee's outcomes replacing the proposals (rank-dossiers.ts);
 *    write the decisions;
 * 2. write the report (JSON + CSV) to the report store;
 * 3. move the round to `closed`, conditional on the version read (a lost race reads it back);
 * 4. mail the staff once (`selection_report`, reviewer id `staff`).
 *
 * Asked of a round already `closed`, it changes nothing but sends the staff mail if a failed run
 * left it unsent (writing the report again from the stored decisions, same content).
 */
export async function closeSelection(request: RoundStepRequest, deps: RoundStepDependencies): Promise<RoundStepResult> {
  const round = await resolveRound(deps.rounds, request.step, request.roundId, 'reviewing');
  const position = positionOrRefuse(request.step, round, 'reviewing');
  const now = deps.clock.now();
  const dryRun = request.dryRun === true;
  const base = { step: request.step, roundId: round.id, dryRun };

  if (position === 'later') {
    // Closed: only the staff mail may be owed. Its report is rebuilt from the stored decisions.
    const mail = staffMail(deps, round, async () => {
      const [decisions, dossiers] = await Promise.all([deps.rounds.listDecisions(round.id), deps.dossiers.listRoundDossiers(round.id)]);
      const reportKeys = await deps.reports.putReport(round.id, selectionReport(round, decisions, dossiers, deps.eligibilityOf));
      return { totals: selectionTotals(decisions, round.capacityPosts), reportKeys };
    });
    if (dryRun) {
      return { ...base, changed: false, status: round.status, summary: { already: true }, plan: { mails: await countUnsent(deps.rounds, [mail], now) } };
    }
    const tally = await deliverMails(deps, [mail], now);
    const summary: RoundStepSummary = { already: true, ...mailSummary(tally) };
    await audit(deps, request, round.id, summary);
    return { ...base, changed: false, status: round.status, summary };
  }

  const [dossiers, reviews, assignments, exclusions, committee, capacity] = await Promise.all([
    deps.dossiers.listRoundDossiers(round.id), deps.rounds.listReviews(round.id), deps.rounds.listAssignments(round.id),
    deps.rounds.listExclusions(round.id), deps.rounds.listCommitteeDecisions(round.id), loadCapacityUse(deps.rounds, round, deps.config),
  ]);
  // An excluded dossier owes no review: its missing ones do not hold the closing.
  const excludedNumbers = new Set(exclusions.filter((e) => e.excluded).map((e) => e.dossierNumber));
  const readiness = closingReadiness(round, dossiers.filter((d) => !excludedNumbers.has(d.number)), assignments, reviews, now);
  const refusal = readiness.ready ? null : readiness.reviewsMissing > 0 ? 'reviews_missing' as const : 'before_deadline' as const;
  const forced = request.force === true && refusal !== null;
  if (refusal && !forced && !dryRun) {
    throw new ClosingNotReadyError(notReadyMessage(round, readiness), refusal, round.id, readiness.missing, readiness.deadlinePassed);
  }
  const { decisions, totals } = rankDossiers(dossiers, reviews, round, deps.config, {
    capacity,
    assigned: new Set(assignments.map((a) => a.dossierNumber)),
    exclusions,
    committee,
    withdrawalOf,
  });
  const next: RoundRecord = { ...round, status: 'closed', selectionClosedAt: now.toISOString(), capacityUse: capacity, version: round.version + 1 };
  const counts: RoundStepSummary = {
    roundDossiers: dossiers.length,
    reviews: reviews.length,
    conflictsDeclared: reviews.filter((r) => r.conflictOfInterest).length,
    reviewsMissing: readiness.reviewsMissing,
    dossiersMissingReviews: readiness.missing.length,
    deadlinePassed: readiness.deadlinePassed,
    forced,
    ...totals,
    // What the round could fill, and why (the report and the staff mail say it in French).
    ceilingPosts: capacity.ceilingPosts,
    ceilingPeriod: capacity.period,
    postsUsedBefore: capacity.usedBefore,
    ceilingLeft: capacity.ceilingLeft,
    postsAvailable: capacity.availablePosts,
  };

  if (dryRun) {
    const mail = staffMail(deps, next, () => ({ totals, reportKeys: { jsonKey: '', csvKey: '' } }));
    return {
      // `closingRefused`: why the same run, not dry, would be refused (null: it would close).
      ...base, changed: false, status: round.status, summary: { already: false, closingRefused: request.force === true ? null : refusal, ...counts },
      plan: { round: next, decisions, missingReviews: readiness.missing, mails: await countUnsent(deps.rounds, [mail], now) },
    };
  }

  // Deterministic records first (same reviews, same decisions and report), the round last.
  if (decisions.length > 0) await deps.rounds.putDecisions(decisions);
  const reportKeys = await deps.reports.putReport(round.id, selectionReport(next, decisions, dossiers, deps.eligibilityOf));
  const written = await writeRound(deps.rounds, next, round.version);
  let tally = emptyTally();
  if (written.round.status === 'closed') {
    tally = await deliverMails(deps, [staffMail(deps, written.round, () => ({ totals, reportKeys }))], now);
  }
  const summary: RoundStepSummary = { already: !written.changed, ...counts, ...mailSummary(tally) };
  await audit(deps, request, round.id, summary);
  return { ...base, changed: written.changed, status: written.round.status, summary, missingReviews: readiness.missing };
}

/** One line: how many reviews are missing, where (reviewer ids), and the deadline. */
export function notReadyMessage(round: Pick<RoundRecord, 'id' | 'reviewDeadline'>, readiness: ClosingReadiness): string {
  const deadline = round.reviewDeadline
    ? `the review deadline ${round.reviewDeadline} ${readiness.deadlinePassed ? 'has passed' : 'has not passed'}`
    : 'the round has no review deadline';
  if (readiness.reviewsMissing === 0) return `round ${round.id} cannot close yet: every review is in, but ${deadline}`;
  const count = `${readiness.reviewsMissing} review${readiness.reviewsMissing === 1 ? '' : 's'} missing`;
  return `round ${round.id} cannot close yet: ${count} (${describeMissing(readiness.missing)}), and ${deadline}`;
}

function staffMail(
  deps: RoundStepDependencies,
  round: RoundRecord,
  content: () => { totals: SelectionTotals; reportKeys: { jsonKey: string; csvKey: string } } | Promise<{ totals: SelectionTotals; reportKeys: { jsonKey: string; csvKey: string } }>,
): PendingMail {
  return {
    roundId: round.id,
    reviewerId: STAFF_RECIPIENT,
    key: SELECTION_REPORT_KEY,
    template: 'selection_report',
    message: async () => {
      const { totals, reportKeys } = await content();
      return selectionReportMail({
        staffEmails: deps.config.staffEmails, roundId: round.id, totals, reportKeys, ...(round.capacityUse ? { capacity: round.capacityUse } : {}),
      });
    },
  };
}
