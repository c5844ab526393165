import { DEFAULT_JURY_CONFIG } from '#schemas/jury';
import { assignReviewers, canReceiveAssignments, isReviewable, type AssignmentPair, type CollegeShortfall } from './assign-reviewers.ts';
import type { AssignmentRecord, ReviewerRecord, RoundRecord } from './model.ts';
import { countUnsent, deliverMails, emptyTally, type PendingMail } from './notifications.ts';
import { DAY_MS } from './paris-dates.ts';
import { linkExpiry, reviewLink } from './review-links.ts';
import { assignmentMail } from './round-mails.ts';
import {
  audit, mailSummary, positionOrRefuse, resolveRound, writeRound,
  type RoundStepDependencies, type RoundStepPlan, type RoundStepRequest, type RoundStepResult, type RoundStepSummary,
} from './round-step.ts';

/** The step's dependencies (the jury's conflict rules are part of RoundStepDependencies). */
export type CloseSubmissionsDependencies = RoundStepDependencies;

/** A dry run's plan: the common plan, with the college shortfalls always present. */
export type CloseSubmissionsPlan = RoundStepPlan & { collegeShortfalls: CollegeShortfall[] };

/**
 * `close-submissions`: `open` → `reviewing` (default: the oldest open round).
 *
 * 1. assign reviewers to every reviewable dossier not excluded by staff at that time (its latest
 *    exclusion record), from distinct colleges whenever possible, never on a conflict
 *    (assign-reviewers.ts, docs/jury.md; deterministic; assignments a crashed run already wrote
 *    are kept and counted), write the new assignments;
 * 2. move the round to `reviewing` with `reviewDeadline` = now + `reviewDays`, conditional on the
 *    version read (a lost race reads the round back: changed false);
 * 3. mail each reviewer once (`assignment`), from the stored assignments.
 *
 * Asked of a round already `reviewing`, it changes nothing but sends the assignment mails a
 * failed or crashed run left unsent. Asked of a `closed` round, it does nothing.
 */
export async function closeSubmissions(request: RoundStepRequest, deps: CloseSubmissionsDependencies): Promise<RoundStepResult> {
  const round = await resolveRound(deps.rounds, request.step, request.roundId, 'open');
  const position = positionOrRefuse(request.step, round, 'open');
  const now = deps.clock.now();
  const dryRun = request.dryRun === true;
  const base = { step: request.step, roundId: round.id, dryRun };

  if (position === 'later') {
    const resume = round.status === 'reviewing';
    const [reviewers, assignments] = resume
      ? await Promise.all([deps.rounds.listReviewers(), deps.rounds.listAssignments(round.id)])
      : [[], []];
    const mails = assignmentMails(deps, round, reviewers, assignments);
    if (dryRun) {
      return { ...base, changed: false, status: round.status, summary: { already: true }, plan: { mails: await countUnsent(deps.rounds, mails, now) } };
    }
    const tally = resume ? await deliverMails(deps, mails, now) : emptyTally();
    const summary: RoundStepSummary = { already: true, ...mailSummary(tally) };
    await audit(deps, request, round.id, summary);
    return { ...base, changed: false, status: round.status, summary };
  }

  const [dossiers, reviewers, existing, exclusions] = await Promise.all([
    deps.dossiers.listRoundDossiers(round.id), deps.rounds.listReviewers(), deps.rounds.listAssignments(round.id),
    deps.rounds.listExclusions(round.id),
  ]);
  // Staff's latest word per dossier: an excluded dossier is neither assigned nor mailed about.
  const excluded = new Set(exclusions.filter((e) => e.excluded).map((e) => e.dossierNumber));
  const inRound = dossiers.filter((d) => !excluded.has(d.number));
  const plan = assignReviewers(inRound, reviewers, round.reviewersPerDossier, existing, deps.jury ?? DEFAULT_JURY_CONFIG);
  const records: AssignmentRecord[] = plan.assignments.map((a) => ({ roundId: round.id, ...a, assignedAt: now.toISOString() }));
  const next: RoundRecord = {
    ...round,
    status: 'reviewing',
    submissionsClosedAt: now.toISOString(),
    reviewDeadline: new Date(now.getTime() + deps.config.reviewDays * DAY_MS).toISOString(),
    version: round.version + 1,
  };
  const counts: RoundStepSummary = {
    dossiers: dossiers.length,
    excludedDossiers: dossiers.filter((d) => excluded.has(d.number)).length,
    reviewableDossiers: inRound.filter(isReviewable).length,
    eligibleReviewers: reviewers.filter(canReceiveAssignments).length,
    reviewersPerDossier: round.reviewersPerDossier,
    assignmentsWritten: records.length,
    assignmentsKept: existing.length,
    shortfalls: plan.shortfalls.length,
    collegeShortfalls: plan.collegeShortfalls.length,
    reviewDeadline: next.reviewDeadline,
  };

  if (dryRun) {
    const mails = assignmentMails(deps, next, reviewers, [...existing, ...records]);
    const dryPlan: CloseSubmissionsPlan = {
      round: next,
      assignments: byReviewer(plan.assignments),
      shortfalls: plan.shortfalls,
      collegeShortfalls: plan.collegeShortfalls,
      mails: await countUnsent(deps.rounds, mails, now),
    };
    return { ...base, changed: false, status: round.status, summary: { already: false, ...counts }, plan: dryPlan };
  }

  // Deterministic records first, the round last: a crash in between leaves a round a re-run completes.
  if (records.length > 0) await deps.rounds.putAssignments(records);
  const written = await writeRound(deps.rounds, next, round.version);
  let tally = emptyTally();
  if (written.round.status === 'reviewing') {
    const stored = await deps.rounds.listAssignments(round.id);
    tally = await deliverMails(deps, assignmentMails(deps, written.round, reviewers, stored), now);
  }
  const summary: RoundStepSummary = {
    already: !written.changed,
    ...counts,
    reviewDeadline: written.round.reviewDeadline,
    ...mailSummary(tally),
  };
  await audit(deps, request, round.id, summary);
  return { ...base, changed: written.changed, status: written.round.status, summary };
}

function byReviewer(pairs: readonly AssignmentPair[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const pair of [...pairs].sort((a, b) => (a.reviewerId < b.reviewerId ? -1 : a.reviewerId > b.reviewerId ? 1 : a.dossierNumber - b.dossierNumber))) {
    (out[pair.reviewerId] ??= []).push(pair.dossierNumber);
  }
  return out;
}

/** One `assignment` mail per reviewer with assignments in the round (suppressed or inactive reviewers get none). */
function assignmentMails(
  deps: RoundStepDependencies,
  round: RoundRecord,
  reviewers: readonly ReviewerRecord[],
  assignments: readonly AssignmentPair[],
): PendingMail[] {
  const byId = new Map(reviewers.map((r) => [r.id, r]));
  const counts = new Map<string, number>();
  for (const a of assignments) counts.set(a.reviewerId, (counts.get(a.reviewerId) ?? 0) + 1);
  return [...counts.keys()].sort().flatMap((reviewerId) => {
    const reviewer = byId.get(reviewerId);
    if (!reviewer || !canReceiveAssignments(reviewer)) return [];
    return [{
      roundId: round.id,
      reviewerId,
      key: 'assignment',
      template: 'assignment' as const,
      message: () => assignmentMail({
        reviewer, roundId: round.id, dossierCount: counts.get(reviewerId)!, deadline: round.reviewDeadline,
        link: reviewLink(deps.reviewLinks, round.id, reviewerId, linkExpiry(round, deps.config, deps.clock.now())),
      }),
    }];
  });
}
