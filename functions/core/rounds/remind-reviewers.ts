import { canReceiveAssignments } from './assign-reviewers.ts';
import { ROUND_PHASES, type RoundRecord } from './model.ts';
import { countUnsent, deliverMails, type PendingMail } from './notifications.ts';
import { DAY_MS, parisDay } from './paris-dates.ts';
import { linkExpiry, reviewLink } from './review-links.ts';
import { reminderMail } from './round-mails.ts';
import { missingReviews } from './review-progress.ts';
import {
  audit, mailSummary, positionOrRefuse, resolveRound,
  type RoundStepDependencies, type RoundStepRequest, type RoundStepResult, type RoundStepSummary,
} from './round-step.ts';

/**
 * `remind`: `reviewing`, no change (default: every reviewing round). Mails each reviewer who has
 * an assigned (still reviewable) dossier without their submitted review (a draft is unfinished), at most once per reviewer and
 * Paris day (`reminder:<YYYY-MM-DD>`). Never for a closed round (pkp-lib #10568), nor once the
 * deadline is more than REMIND_AFTER_DEADLINE_DAYS past.
 */

export const REMIND_AFTER_DEADLINE_DAYS = 7;

export async function remindReviewers(request: RoundStepRequest, deps: RoundStepDependencies): Promise<RoundStepResult> {
  if (request.roundId !== undefined) {
    const round = await resolveRound(deps.rounds, request.step, request.roundId, 'reviewing');
    return remindRound(request, deps, round);
  }
  const rounds = await deps.rounds.listRoundsByStatus('reviewing');
  const current = async (round: RoundRecord) => (await deps.rounds.getRound(round.id)) ?? round;
  if (rounds.length === 1) return remindRound(request, deps, await current(rounds[0]!));
  const results: RoundStepResult[] = [];
  for (const round of rounds) results.push(await remindRound(request, deps, await current(round)));
  const sum = (key: string) => results.reduce((total, r) => total + (typeof r.summary[key] === 'number' ? (r.summary[key] as number) : 0), 0);
  const dryRun = request.dryRun === true;
  return {
    step: request.step,
    roundId: null,
    dryRun,
    changed: false,
    status: null,
    summary: {
      rounds: results.length,
      reviewersToRemind: sum('reviewersToRemind'),
      ...(dryRun ? {} : { mailsSent: sum('mailsSent'), mailsAlreadySent: sum('mailsAlreadySent'), mailFailures: sum('mailFailures') }),
    },
    ...(dryRun ? { plan: { mails: results.reduce((total, r) => total + (r.plan?.mails ?? 0), 0) } } : {}),
    rounds: results,
  };
}

async function remindRound(request: RoundStepRequest, deps: RoundStepDependencies, round: RoundRecord): Promise<RoundStepResult> {
  const position = positionOrRefuse(request.step, round, 'reviewing');
  const now = deps.clock.now();
  const dryRun = request.dryRun === true;
  const base = { step: request.step, roundId: round.id, dryRun, changed: false, status: round.status };
  const finish = async (summary: RoundStepSummary, mails: number): Promise<RoundStepResult> => {
    if (dryRun) return { ...base, summary, plan: { mails } };
    await audit(deps, request, round.id, summary);
    return { ...base, summary };
  };

  if (position === 'later' || !ROUND_PHASES[round.status].canRemind) return finish({ already: true, reviewersToRemind: 0 }, 0);
  const deadlineMs = round.reviewDeadline ? Date.parse(round.reviewDeadline) : Number.NaN;
  if (!Number.isNaN(deadlineMs) && now.getTime() - deadlineMs > REMIND_AFTER_DEADLINE_DAYS * DAY_MS) {
    return finish({ already: false, deadlinePassed: true, reviewersToRemind: 0 }, 0);
  }

  const [dossiers, reviewers, assignments, reviews] = await Promise.all([
    deps.dossiers.listRoundDossiers(round.id),
    deps.rounds.listReviewers(),
    deps.rounds.listAssignments(round.id),
    deps.rounds.listReviews(round.id),
  ]);
  // The reviews close-selection would wait for: a draft is unfinished; a submitted review (a declared conflict is one) is done.
  const unfinished = new Map<string, number>();
  for (const { reviewerIds } of missingReviews(round, dossiers, assignments, reviews)) {
    for (const reviewerId of reviewerIds) unfinished.set(reviewerId, (unfinished.get(reviewerId) ?? 0) + 1);
  }
  const byId = new Map(reviewers.map((r) => [r.id, r]));
  const key = `reminder:${parisDay(now)}`;
  const mails: PendingMail[] = [...unfinished.keys()].sort().flatMap((reviewerId) => {
    const reviewer = byId.get(reviewerId);
    if (!reviewer || !canReceiveAssignments(reviewer)) return [];
    return [{
      roundId: round.id, reviewerId, key, template: 'reminder' as const,
      message: () => reminderMail({
        reviewer, roundId: round.id, unfinished: unfinished.get(reviewerId)!, deadline: round.reviewDeadline, now,
        link: reviewLink(deps.reviewLinks, round.id, reviewerId, linkExpiry(round, deps.config, now)),
      }),
    }];
  });
  const counts: RoundStepSummary = {
    already: false,
    reviewersToRemind: mails.length,
    reviewersUnreachable: unfinished.size - mails.length,
    unfinishedReviews: [...unfinished.values()].reduce((a, b) => a + b, 0),
    reminderDay: key.slice('reminder:'.length),
  };
  if (dryRun) return finish(counts, await countUnsent(deps.rounds, mails, now));
  const tally = await deliverMails(deps, mails, now);
  return finish({ ...counts, ...mailSummary(tally) }, tally.sent);
}
