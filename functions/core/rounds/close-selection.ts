import type { RoundRecord } from './model.ts';
import { countUnsent, deliverMails, emptyTally, type PendingMail } from './notifications.ts';
import { rankDossiers, selectionTotals, type SelectionTotals } from './rank-dossiers.ts';
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
 * 1. rank the reviewable dossiers and decide (rank-dossiers.ts), write the decisions;
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
      const reportKeys = await deps.reports.putReport(round.id, selectionReport(round, decisions, dossiers));
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

  const [dossiers, reviews] = await Promise.all([deps.dossiers.listRoundDossiers(round.id), deps.rounds.listReviews(round.id)]);
  const { decisions, totals } = rankDossiers(dossiers, reviews, round, deps.config);
  const next: RoundRecord = { ...round, status: 'closed', selectionClosedAt: now.toISOString(), version: round.version + 1 };
  const counts: RoundStepSummary = {
    roundDossiers: dossiers.length,
    reviews: reviews.length,
    conflictsDeclared: reviews.filter((r) => r.conflictOfInterest).length,
    ...totals,
  };

  if (dryRun) {
    const mail = staffMail(deps, next, () => ({ totals, reportKeys: { jsonKey: '', csvKey: '' } }));
    return {
      ...base, changed: false, status: round.status, summary: { already: false, ...counts },
      plan: { round: next, decisions, mails: await countUnsent(deps.rounds, [mail], now) },
    };
  }

  // Deterministic records first (same reviews, same decisions and report), the round last.
  if (decisions.length > 0) await deps.rounds.putDecisions(decisions);
  const reportKeys = await deps.reports.putReport(round.id, selectionReport(next, decisions, dossiers));
  const written = await writeRound(deps.rounds, next, round.version);
  let tally = emptyTally();
  if (written.round.status === 'closed') {
    tally = await deliverMails(deps, [staffMail(deps, written.round, () => ({ totals, reportKeys }))], now);
  }
  const summary: RoundStepSummary = { already: !written.changed, ...counts, ...mailSummary(tally) };
  await audit(deps, request, round.id, summary);
  return { ...base, changed: written.changed, status: written.round.status, summary };
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
      return selectionReportMail({ staffEmails: deps.config.staffEmails, roundId: round.id, totals, reportKeys });
    },
  };
}
