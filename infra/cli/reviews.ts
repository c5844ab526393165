import type { Command } from 'commander';
import { reviewStateOf, type ReviewState } from '#core/reviews/access';
import { describeIssue, importReviews, ReviewImportError, ReviewImportRefusedError, type ImportReviewsResult } from '#core/reviews/import-reviews';
import type { AssignmentRecord, ReviewRecord, ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { reviewMean, round2 } from '#core/rounds/rank-dossiers';
import { readCsv, readInputFile } from './csv.ts';
import { NotFoundError, PartialFailureError, RefusedError, UsageError } from './errors.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { formatTable, plural, writeJson, writeLines } from './output.ts';
import { PHASE_LABELS, parseRoundId, pluralFr, staffActor } from './rounds.ts';

/**
 * Where the reviews of a round stand: one line per assignment (dossier × reviewer), with the
 * review when there is one, in the states the review page shows (reviewStateOf): `to_do` (no
 * review), `draft` (saved, not submitted, not counted), `submitted`, `conflict` (a declared
 * conflict of interest: kept, never counted). A submitted review is counted when it scores every
 * criterion of the round (what close-selection ranks on).
 *
 * `reviews import` records the scores of a committee that met (functions/core/reviews/import-reviews.ts).
 */

export type { ReviewState } from '#core/reviews/access';

/** One line of `reviews list --json`. */
export interface ReviewView {
  dossierNumber: number;
  reviewerId: string;
  /** Null when the reviewer's record is gone. */
  reviewerEmail: string | null;
  reviewerName: string | null;
  state: ReviewState;
  /** Whether close-selection counts it: submitted, no conflict, every criterion scored. */
  counted: boolean;
  conflictOfInterest: boolean;
  /** By criterion id; empty while to do (a draft may hold some). */
  scores: Record<string, number>;
  /** The review's weighted mean (2 decimals), null unless counted. */
  weightedMean: number | null;
  comment: string | null;
  assignedAt: string | null;
  /** The last submission; null for a draft never submitted. */
  submittedAt: string | null;
  /** The last write (a draft save included); null for reviews written before drafts existed. */
  updatedAt: string | null;
  /** `reviewer` (the page) or `staff:<name>` (reviews import); null when unknown. */
  writtenBy: string | null;
}

export function registerReviewCommands(program: Command, context: CommandContext): void {
  const reviews = program
    .command('reviews')
    .description('the reviews of a round: list them as reviewers wrote them, or import the scores of a committee that met');

  reviews
    .command('list')
    .description(
      'list the reviews of a round, one line per dossier and reviewer assigned: scores per criterion, weighted mean, '
      + 'state (to_do, draft, submitted, conflict; a submitted review that is not counted says so) and when it was submitted. '
      + 'Comments only with --json.',
    )
    .requiredOption('--round <round>', 'the round, e.g. 2026-03', parseRoundId)
    .option('--json', 'print a JSON array of { dossierNumber, reviewerId, reviewerEmail, reviewerName, state, counted, conflictOfInterest, scores, weightedMean, comment, assignedAt, submittedAt, updatedAt, writtenBy }')
    .addHelpText('after', examples(
      'ds-selection reviews list --round 2026-03',
      'ds-selection reviews list --round 2026-03 --json | jq \'.[] | select(.state == "to_do" or .state == "draft") | .reviewerEmail\'',
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

  reviews
    .command('import')
    .description(
      'record the scores of a committee that met: one CSV row per dossier and reviewer, with the header '
      + 'dossier,email,<one column per criterion id of the round>,comment,conflict (conflict: oui, non, true, false or empty). '
      + 'The whole file is checked first with the rules of the review page (every criterion scored 1 to 5 unless a conflict is '
      + 'declared, comment at most 5000 characters), a known reviewer, a dossier assigned to that reviewer in the round, a round that '
      + 'is reviewing, no row twice: if anything is wrong, nothing is written and every problem is named by line and column (exit 4). '
      + 'Then each row is submitted as you (staff:<OS user>), replacing a draft or an earlier review; a declared conflict assigns '
      + 'a replacement reviewer and mails them, as the page does. Audited (import-reviews, counts only).',
    )
    .argument('<file>', 'CSV: dossier,email,<criterion ids of the round>,comment,conflict')
    .requiredOption('--round <round>', 'the round, e.g. 2026-03 (it must be reviewing)', parseRoundId)
    .option('--dry-run', 'check the file and count what would be written: nothing written, no mail sent, no audit record')
    .option('--json', 'print { file, roundId, dryRun, rows, written, newReviews, replacedDrafts, replacedSubmitted, conflictsDeclared, replacementsAssigned, notWritten, mailsSent, mailFailures }')
    .addHelpText('after', `${examples(
      'ds-selection reviews import comite-2026-03.csv --round 2026-03 --dry-run',
      'ds-selection reviews import comite-2026-03.csv --round 2026-03',
    )}

CSV example (criteria of the default configuration):
  dossier,email,impact,faisabilite,engagement,numerique,comment,conflict
  2001,alice.martin@example.gouv.fr,4,3,5,4,"Équipe solide, données prêtes",non
  2002,alice.martin@example.gouv.fr,,,,,,oui`)
    .action(async (file: string, options: { round: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      const { text } = await readInputFile(context.io, file);
      const csv = readCsv(text);
      if (!csv.ok) throw new UsageError(`${file}: line ${csv.line}: ${csv.message}; nothing imported`);
      const [header, ...rows] = csv.records;
      if (!header) throw new UsageError(`${file}: empty: expected a header line dossier,email,<criterion ids>,comment,conflict`);
      await withConnection(context, command, async (connection) => {
        const deps = await connection.roundStepDependencies();
        let result: ImportReviewsResult;
        try {
          result = await importReviews(
            { roundId: options.round, table: { header, rows }, actor: staffActor(context.io), dryRun: options.dryRun === true },
            { rounds: deps.rounds, dossiers: connection.dossiers, mailer: deps.mailer, config: deps.config, clock: deps.clock, reviewLinks: deps.reviewLinks },
          );
        } catch (error) {
          if (error instanceof ReviewImportError) {
            throw new UsageError(`${file}: ${plural(error.issues.length, 'problem')}, nothing imported\n${error.issues.map((issue) => `  ${describeIssue(issue)}`).join('\n')}`);
          }
          if (error instanceof ReviewImportRefusedError) {
            if (error.reason === 'no_round') throw new NotFoundError(`${error.message}: no reviews to import`);
            throw new RefusedError(`refused: ${error.message}`);
          }
          throw error;
        }
        if (options.json) writeJson(context.io, { file, ...result });
        else context.io.stdout.write(`${describeReviewImport(file, result)}\n`);
        if (result.notWritten > 0 || result.mailFailures > 0) {
          throw new PartialFailureError(
            `reviews import: ${plural(result.notWritten, 'row')} not written (changed from the review page meanwhile, or the round closed), `
            + `${plural(result.mailFailures, 'mail')} to replacement reviewers not sent; the other rows were written (ds-selection reviews list --round ${result.roundId})`,
          );
        }
      });
    });
}

/** `reviews import : 5 lignes lues dans f.csv pour la session 2026-03 : 5 écrites (3 nouvelles, ...)`: for staff, in French. */
export function describeReviewImport(file: string, result: ImportReviewsResult): string {
  const verb = result.dryRun ? 'à écrire' : result.written > 1 ? 'écrites' : 'écrite';
  const head = `reviews import${result.dryRun ? " (simulation : rien n'est écrit, aucun mail envoyé)" : ''} : `
    + `${pluralFr(result.rows, 'ligne lue', 'lignes lues')} dans ${file} pour la session ${result.roundId} : ${result.written} ${verb} `
    + `(${pluralFr(result.newReviews, 'nouvelle', 'nouvelles')}, ${result.replacedDrafts} remplaçant un brouillon, `
    + `${result.replacedSubmitted} remplaçant une évaluation envoyée)`;
  const conflicts = result.conflictsDeclared === 0 ? '' : `, ${pluralFr(result.conflictsDeclared, "lien d'intérêt déclaré", "liens d'intérêt déclarés")}`
    + (result.dryRun ? '' : ` (${pluralFr(result.replacementsAssigned, 'remplaçant affecté', 'remplaçants affectés')}, `
      + `${pluralFr(result.mailsSent, 'mail envoyé', 'mails envoyés')})`);
  return `${head}${conflicts}${result.notWritten > 0 ? `, ${result.notWritten} non ${result.notWritten > 1 ? 'écrites' : 'écrite'}` : ''}`;
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
    return {
      dossierNumber,
      reviewerId,
      reviewerEmail: reviewer?.email ?? null,
      reviewerName: reviewer?.name ?? null,
      state: reviewStateOf(review),
      counted: mean !== undefined,
      conflictOfInterest: review?.conflictOfInterest ?? false,
      scores: review?.scores ?? {},
      weightedMean: mean === undefined ? null : round2(mean),
      comment: review?.comment ?? null,
      assignedAt: assignedAt.get(key) ?? null,
      submittedAt: review?.submittedAt ?? null,
      updatedAt: review?.updatedAt ?? null,
      writtenBy: review?.writtenBy ?? null,
    };
  });
  return views.sort((a, b) => a.dossierNumber - b.dossierNumber || (a.reviewerEmail ?? a.reviewerId).localeCompare(b.reviewerEmail ?? b.reviewerId));
}

/** One column per criterion of the round (its id), no comments: they can be long, and --json has them. */
export function reviewTable(round: Pick<RoundRecord, 'criteria'>, views: readonly ReviewView[]): string[] {
  return formatTable(
    [
      { header: 'DOSSIER', align: 'right' },
      { header: 'ÉVALUATEUR' },
      ...round.criteria.map((criterion) => ({ header: criterion.id.toUpperCase(), align: 'right' as const })),
      { header: 'MOYENNE', align: 'right' },
      { header: 'ÉTAT' },
      { header: 'ENVOYÉE LE' },
    ],
    views.map((view) => [
      String(view.dossierNumber),
      view.reviewerEmail ?? `(évaluateur inconnu ${view.reviewerId.slice(0, 8)})`,
      ...round.criteria.map((criterion) => (view.scores[criterion.id] === undefined ? '-' : String(view.scores[criterion.id]))),
      view.weightedMean === null ? '-' : view.weightedMean.toFixed(2).replace('.', ','),
      view.state === 'submitted' && !view.counted ? 'envoyée (non comptée : un critère sans note)' : STATE_LABELS[view.state],
      view.submittedAt ?? '-',
    ]),
  );
}

/** The states as staff read them (the codes stay in --json). */
export const STATE_LABELS: Readonly<Record<ReviewState, string>> = {
  to_do: 'à faire', draft: 'brouillon', submitted: 'envoyée', conflict: "lien d'intérêt",
};

export function describeReviews(round: Pick<RoundRecord, 'id' | 'status' | 'reviewDeadline'>, views: readonly ReviewView[]): string {
  const count = (state: ReviewState) => views.filter((view) => view.state === state).length;
  const deadline = round.reviewDeadline ? `, date limite ${round.reviewDeadline}` : '';
  const phase = PHASE_LABELS[round.status];
  if (views.length === 0) {
    return `session ${round.id} (${phase}) : aucune affectation${round.status === 'open' ? ' (elles sont faites à la clôture des dépôts)' : ''}`;
  }
  const counted = views.filter((view) => view.counted).length;
  return `session ${round.id} (${phase}${deadline}) : ${pluralFr(views.length, 'affectation', 'affectations')} : `
    + `${pluralFr(count('submitted'), 'envoyée', 'envoyées')} (${pluralFr(counted, 'comptée', 'comptées')}), `
    + `${pluralFr(count('conflict'), "lien d'intérêt", "liens d'intérêt")}, ${pluralFr(count('draft'), 'brouillon', 'brouillons')}, `
    + `${count('to_do')} à faire`;
}
