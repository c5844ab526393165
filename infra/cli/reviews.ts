import type { Command } from 'commander';
import type { AssignmentRecord, ReviewRecord, ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { reviewMean, round2 } from '#core/rounds/rank-dossiers';
import { NotFoundError } from './errors.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { formatTable, plural, writeJson, writeLines } from './output.ts';
import { parseRoundId } from './rounds.ts';

/**
 * Where the reviews of a round stand: one line per assignment (dossier × reviewer), with the
 * review when there is one. A review is `counted` when it declares no conflict of interest and
 * scores every criterion of the round (what close-selection ranks on), `conflict` when it
 * declares one, `incomplete` when a criterion is unscored; an assignment without review is `pending`.
 */

export type ReviewState = 'counted' | 'conflict' | 'incomplete' | 'pending';

/** One line of `reviews list --json`. */
export interface ReviewView {
  dossierNumber: number;
  reviewerId: string;
  /** Null when the reviewer's record is gone. */
  reviewerEmail: string | null;
  reviewerName: string | null;
  state: ReviewState;
  /** Whether close-selection counts it. */
  counted: boolean;
  conflictOfInterest: boolean;
  /** By criterion id; empty while pending. */
  scores: Record<string, number>;
  /** The review's weighted mean (2 decimals), null unless counted. */
  weightedMean: number | null;
  comment: string | null;
  assignedAt: string | null;
  submittedAt: string | null;
}

export function registerReviewCommands(program: Command, context: CommandContext): void {
  const reviews = program
    .command('reviews')
    .description('the reviews of a round, as reviewers submitted them');

  reviews
    .command('list')
    .description(
      'list the reviews of a round, one line per dossier and reviewer assigned: scores per criterion, weighted mean, '
      + 'state (counted, conflict, incomplete, pending) and when it was submitted. Comments only with --json.',
    )
    .requiredOption('--round <round>', 'the round, e.g. 2026-03', parseRoundId)
    .option('--json', 'print a JSON array of { dossierNumber, reviewerId, reviewerEmail, reviewerName, state, counted, conflictOfInterest, scores, weightedMean, comment, assignedAt, submittedAt }')
    .addHelpText('after', examples(
      'ds-selection reviews list --round 2026-03',
      'ds-selection reviews list --round 2026-03 --json | jq \'.[] | select(.state == "pending") | .reviewerEmail\'',
    ))
    .action(async (options: { round: string; json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ rounds }) => {
        const round = await rounds.getRound(options.round);
        if (!round) throw new NotFoundError(`round ${options.round} has not been opened: no reviews`);
        const [assignments, records, reviewers] = await Promise.all([
          rounds.listAssignments(round.id), rounds.listReviews(round.id), rounds.listReviewers(),
        ]);
        const views = reviewViews(round, assignments, records, reviewers);
        if (options.json) {
          writeJson(context.io, views);
          return;
        }
        if (views.length > 0) writeLines(context.io.stdout, reviewTable(round, views));
        context.io.stderr.write(`${describeReviews(round, views)}\n`);
      });
    });
}

const pairKey = (dossierNumber: number, reviewerId: string) => `${dossierNumber}:${reviewerId}`;

/** Assignments with their reviews (and any review without assignment), by dossier then reviewer email. */
export function reviewViews(
  round: Pick<RoundRecord, 'criteria'>,
  assignments: readonly AssignmentRecord[],
  reviews: readonly ReviewRecord[],
  reviewers: readonly ReviewerRecord[],
): ReviewView[] {
  const reviewerById = new Map(reviewers.map((reviewer) => [reviewer.id, reviewer]));
  const reviewByPair = new Map(reviews.map((review) => [pairKey(review.dossierNumber, review.reviewerId), review]));
  const assignedAt = new Map(assignments.map((assignment) => [pairKey(assignment.dossierNumber, assignment.reviewerId), assignment.assignedAt]));
  const pairs = new Map<string, { dossierNumber: number; reviewerId: string }>();
  for (const { dossierNumber, reviewerId } of [...assignments, ...reviews]) pairs.set(pairKey(dossierNumber, reviewerId), { dossierNumber, reviewerId });
  const views = [...pairs.entries()].map(([key, { dossierNumber, reviewerId }]): ReviewView => {
    const reviewer = reviewerById.get(reviewerId);
    const review = reviewByPair.get(key);
    const mean = review ? reviewMean(review, round.criteria) : undefined;
    const state: ReviewState = !review ? 'pending' : review.conflictOfInterest ? 'conflict' : mean === undefined ? 'incomplete' : 'counted';
    return {
      dossierNumber,
      reviewerId,
      reviewerEmail: reviewer?.email ?? null,
      reviewerName: reviewer?.name ?? null,
      state,
      counted: state === 'counted',
      conflictOfInterest: review?.conflictOfInterest ?? false,
      scores: review?.scores ?? {},
      weightedMean: mean === undefined ? null : round2(mean),
      comment: review?.comment ?? null,
      assignedAt: assignedAt.get(key) ?? null,
      submittedAt: review?.submittedAt ?? null,
    };
  });
  return views.sort((a, b) => a.dossierNumber - b.dossierNumber || (a.reviewerEmail ?? a.reviewerId).localeCompare(b.reviewerEmail ?? b.reviewerId));
}

/** One column per criterion of the round (its id), no comments: they can be long, and --json has them. */
export function reviewTable(round: Pick<RoundRecord, 'criteria'>, views: readonly ReviewView[]): string[] {
  return formatTable(
    [
      { header: 'DOSSIER', align: 'right' },
      { header: 'REVIEWER' },
      ...round.criteria.map((criterion) => ({ header: criterion.id.toUpperCase(), align: 'right' as const })),
      { header: 'MEAN', align: 'right' },
      { header: 'STATE' },
      { header: 'SUBMITTED' },
    ],
    views.map((view) => [
      String(view.dossierNumber),
      view.reviewerEmail ?? `(unknown reviewer ${view.reviewerId.slice(0, 8)})`,
      ...round.criteria.map((criterion) => (view.scores[criterion.id] === undefined ? '-' : String(view.scores[criterion.id]))),
      view.weightedMean === null ? '-' : view.weightedMean.toFixed(2),
      view.state,
      view.submittedAt ?? '-',
    ]),
  );
}

export function describeReviews(round: Pick<RoundRecord, 'id' | 'status' | 'reviewDeadline'>, views: readonly ReviewView[]): string {
  const count = (state: ReviewState) => views.filter((view) => view.state === state).length;
  const submitted = views.length - count('pending');
  const deadline = round.reviewDeadline ? `, due ${round.reviewDeadline}` : '';
  if (views.length === 0) {
    return `round ${round.id} (${round.status}): no assignment yet${round.status === 'open' ? ' (they are made when submissions close)' : ''}`;
  }
  return `round ${round.id} (${round.status}${deadline}): ${plural(views.length, 'assignment')}, ${submitted} reviewed `
    + `(${count('counted')} counted, ${count('conflict')} conflict, ${count('incomplete')} incomplete), ${count('pending')} pending`;
}
