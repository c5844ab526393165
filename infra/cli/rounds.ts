import { userInfo } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { DOSSIER_STATUSES, withdrawalOf, type DossierRecord, type DossierStatus } from '#core/dossier';
import { nextRoundId, UNASSIGNED_ROUND } from '#core/round';
import { committeeCapacityText, decideDossier, type DecideDossierResult } from '#core/rounds/decide-dossier';
import {
  ROUND_PHASES, ROUND_STATUSES, type CommitteeDecisionRecord, type DecisionOutcome, type DecisionRecord, type ExclusionRecord, type ReviewerRecord, type RoundRecord, type RoundStatus, type RoundStep,
} from '#core/rounds/model';
import type { Mailer } from '#core/rounds/ports';
import { reviewProgress, type MissingReviews, type Reassignment, type ReviewerProgress } from '#core/rounds/review-progress';
import { RoundStepRefusedError, runRoundStep, type RoundStepResult } from '#core/rounds/run-round-step';
import { RoundIdSchema } from '#schemas/rounds';
import { NotFoundError, PartialFailureError } from './errors.ts';
import { OUTCOME_LABELS } from '#core/rounds/selection-report';
import { examples, parseDossierNumber, withConnection, type CommandContext } from './context.ts';
import { dossierTable, type DossierSummaryView } from './dossier-views.ts';
import { collectPages, listDossiers, summarize } from './dossiers.ts';
import { formatTable, plural, truncate, writeJson, writeLines, type CliIo } from './output.ts';
import { staffCommandError } from './dossier-exclusions.ts';
import { ProgressBar } from './progress.ts';
import type { Connection } from './connect.ts';

/*
 * Rounds: `list` and `show` read the dossiers deposited in each round (DossierRecord.round,
 * through the status index, never a Scan) with the round's record when it has been opened; the
 * four steps (open, close-submissions, remind, close-selection) run functions/core/rounds
 * runRoundStep, the very use case the scheduled run-round-step Lambda runs, on the same records.
 */

export type StatusCounts = Record<DossierStatus, number>;

export interface RoundView {
  round: string;
  total: number;
  byStatus: StatusCounts;
  /** The round's phase (open, reviewing, closed) once it has been opened; absent before. */
  phase?: RoundStatus;
}

export interface RoundDetailView extends RoundView {
  /** The round's record (dates, capacity, criteria) once it has been opened. */
  record?: RoundRecord;
  /** Once reviewers are assigned: each reviewer's work, and the dossiers reassigned after a conflict. */
  reviewProgress?: ReviewProgressView;
  /** Once reviewers are assigned: dossiers withdrawn on DS after it (they leave the ranking with this reason). */
  withdrawnAfterAssignment?: WithdrawnView[];
  /** Dossiers deposited here after submissions closed, reviewed in the next round (`roundMovedFrom`). */
  movedToNextRound?: MovedView[];
  /** Dossiers staff excluded (their latest word), and the committee's outcomes so far. */
  exclusions?: ExclusionRecord[];
  committeeDecisions?: CommitteeDecisionRecord[];
  dossiers: DossierSummaryView[];
}

export interface WithdrawnView {
  dossierNumber: number;
  title: string | null;
  status: DossierStatus;
  state: string | null;
  reasonCode: string;
  reason: string;
}

export interface MovedView {
  dossierNumber: number;
  title: string | null;
  dateDepot: string | null;
  /** The round where it is reviewed. */
  round: string;
}

/** `rounds show --json`: the review progress, reviewers named for staff. */
export interface ReviewProgressView {
  reviewers: (ReviewerProgress & { name: string | null; email: string | null })[];
  reassignments: (Reassignment & { withdrawnReviewerEmail: string | null; replacementReviewerEmail: string | null })[];
}

export const ROUND_STEPS: readonly RoundStep[] = ['open', 'close-submissions', 'remind', 'close-selection'];

/** `--round`: the year and an odd opening month (a round id), checked before anything runs (exit 4). */
export function parseRoundId(value: string): string {
  const parsed = RoundIdSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError('must be a round id: the year and an opening month (01, 03, 05, 07, 09, 11), e.g. 2026-03');
  return parsed.data;
}

/** Who asks, for the audit record: `staff:<OS user>` (whitespace replaced, as the Lambda's actor rule wants). */
export function staffActor(io: Pick<CliIo, 'env'>): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment may still say.
  }
  name ||= io.env.USER || io.env.LOGNAME || io.env.USERNAME || 'unknown';
  return `staff:${name.replace(/\s+/g, '_').slice(0, 200)}`;
}

interface StepDescription {
  summary: string;
  description: string;
  examples: string[];
}

const STEP_HELP: Record<RoundStep, StepDescription> = {
  open: {
    summary: 'open a round: create its record with the capacity, reviewers per dossier and criteria of the configuration',
    description: 'open a round: create its record (phase open) with the capacity in EIG posts, reviewers per dossier and criteria of '
      + 'schemas/rounds-config.json, copied so that later edits do not change it. Default round: the current one (Paris time). '
      + 'Refused (exit 6) while another round is still open, and for a round whose period has ended (2026-03 in December 2026: '
      + 'dossiers deposited now belong to the current round) unless --force. Opening a round that exists changes nothing (exit 0).',
    examples: ['ds-selection rounds open --dry-run', 'ds-selection rounds open --round 2026-03', 'ds-selection --stage prod rounds open --json'],
  },
  'close-submissions': {
    summary: 'close submissions: assign reviewers to every valid dossier and mail each reviewer their link',
    description: 'close submissions: open → reviewing. Assigns reviewersPerDossier active reviewers to every valid dossier of the round '
      + '(stored or files_pending), balancing the load and never a reviewer whose conflicts hold the administration\'s SIRET; sets the '
      + 'review deadline (now + reviewDays); mails each reviewer once with a personal link to the review page. Default round: the oldest open one. '
      + 'Run again, it sends only the mails a failed run left unsent.',
    examples: [
      'ds-selection rounds close-submissions --round 2026-03 --dry-run',
      'ds-selection rounds close-submissions --round 2026-03',
      'ds-selection rounds close-submissions --dry-run --json | jq .plan.shortfalls',
    ],
  },
  remind: {
    summary: 'remind reviewers who have unfinished reviews (at most once per reviewer and day)',
    description: 'remind: mails every reviewer who has assigned dossiers without their review, at most once per reviewer and Paris day; '
      + 'the round stays reviewing. Default: every reviewing round. Nothing is sent once the deadline is more than 7 days past.',
    examples: ['ds-selection rounds remind --dry-run', 'ds-selection rounds remind --round 2026-03'],
  },
  'close-selection': {
    summary: 'close the selection: rank, decide, write the report to S3 and mail it to staff',
    description: 'close the selection: reviewing → closed. Ranks the dossiers by weighted mean score (reviews with a declared conflict not '
      + 'counted), selects in rank order while the capacity in EIG posts allows and the score reaches minimumScore, waitlists the next '
      + 'waitlistSize, marks the rest not_selected; writes the decisions and the report (JSON + CSV, reports/<round>/ in the bucket) and '
      + 'mails the staff once. Default round: the oldest reviewing one. See the decisions with `ds-selection report --round R`.\n\n'
      + 'Refused (exit 6) before the review deadline, or while an assigned reviewer has not submitted the review of a dossier '
      + 'that is still reviewable (a draft is not submitted; a declared conflict counts as done): the message lists them per '
      + 'dossier. --force closes anyway (audited as forced, with the counts). --dry-run lists what is missing and says whether '
      + 'the run would be refused.',
    examples: [
      'ds-selection rounds close-selection --round 2026-03 --dry-run',
      'ds-selection rounds close-selection --round 2026-03',
      'ds-selection rounds close-selection --round 2026-03 --force',
      'ds-selection report --round 2026-03 --out ./selection-2026-03',
    ],
  },
};

export function registerRoundCommands(program: Command, context: CommandContext): void {
  const rounds = program
    .command('rounds')
    .description('the bimonthly rounds: their dossiers and phases, and the four steps that move them (open, close-submissions, remind, close-selection)');

  rounds
    .command('list')
    .description('list the rounds (those with dossiers, and those opened), with their phase and their dossiers per status')
    .option('--json', 'print a JSON array of { round, total, byStatus, phase? }')
    .addHelpText('after', examples('ds-selection rounds list', 'ds-selection rounds list --json'))
    .action(async (options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ dossiers: repository, rounds: roundRepository }) => {
        const [perStatus, records] = await Promise.all([
          Promise.all(DOSSIER_STATUSES.map((status) => collectPages((page) => repository.listByStatus(status, page)))),
          roundRepository.listRounds(),
        ]);
        const views = withPhases(roundViews(perStatus.flat()), records);
        if (options.json) {
          writeJson(context.io, views);
          return;
        }
        if (views.length > 0) writeLines(context.io.stdout, roundTable(views));
        context.io.stderr.write(`${plural(views.length, 'round')}\n`);
      });
    });

  rounds
    .command('show')
    .description('show one round: its phase, dates and settings once opened, the review progress of each reviewer and the dossiers '
      + 'reassigned after a conflict of interest once reviewers are assigned, and its dossiers grouped by status')
    .argument('<round>', 'the round, e.g. 2026-03 (rounds open in January, March, May, July, September, November), or "unassigned"')
    .option('--json', 'print { round, total, byStatus, phase?, record?, reviewProgress?, dossiers }')
    .addHelpText('after', examples('ds-selection rounds show 2026-03', 'ds-selection rounds show 2026-03 --json | jq \'.dossiers[] | select(.status == "invalid")\''))
    .action(async (round: string, options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ dossiers: repository, rounds: roundRepository }) => {
        const [records, record] = await Promise.all([
          listDossiers(repository, { round }),
          round === UNASSIGNED_ROUND ? undefined : roundRepository.getRound(round),
        ]);
        if (records.length === 0 && !record) throw new NotFoundError(`no dossier in round ${round}, and the round has not been opened`);
        const [view] = records.length > 0
          ? withPhases(roundViews(records), record ? [record] : [])
          : [{ round, total: 0, byStatus: emptyCounts(), ...(record ? { phase: record.status } : {}) }];
        const rows = await summarize(repository, records);
        const progress = record && record.status !== 'open' ? await progressView(roundRepository, record, records) : undefined;
        const movements = round === UNASSIGNED_ROUND ? undefined : await roundMovements(roundRepository, repository, round, records, record);
        const detail: RoundDetailView = {
          ...(view as RoundView), ...(record ? { record } : {}), ...(progress ? { reviewProgress: progress } : {}), ...(movements ?? {}), dossiers: rows,
        };
        if (options.json) {
          writeJson(context.io, detail);
          return;
        }
        writeLines(context.io.stdout, [...roundDetailLines(view as RoundView, rows, record, progress), ...movementLines(movements)]);
      });
    });

  for (const step of ROUND_STEPS) registerStepCommand(rounds, context, step);
  registerDecideCommand(rounds, context);
}

const OUTCOMES: readonly DecisionOutcome[] = ['selected', 'waitlisted', 'not_selected'];

function parseOutcome(value: string): DecisionOutcome {
  if (!(OUTCOMES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${OUTCOMES.join(', ')}`);
  return value as DecisionOutcome;
}

/** `rounds decide`: the committee's outcome for one dossier, against the ranking (functions/core/rounds/decide-dossier.ts). */
function registerDecideCommand(rounds: Command, context: CommandContext): void {
  rounds
    .command('decide')
    .summary("record the committee's outcome for a dossier (selected, waitlisted, not_selected), against the ranking's proposal")
    .description("record the committee's outcome for one dossier of a reviewing round. At close-selection it replaces the ranking's proposal "
      + '(the report shows both), and the other dossiers are decided again in rank order with the posts left. The latest decision per '
      + 'dossier wins; run it again to change it. Capacity and the yearly ceiling still hold: a selected that does not fit is refused '
      + '(exit 6, the message says which limit and the numbers). Refused on an open round (no review yet: dossiers exclude takes a '
      + 'dossier out) and on a closed one. Audited (decide) with you as the actor.')
    .requiredOption('--round <round>', 'the round, e.g. 2026-03', parseRoundId)
    .requiredOption('--dossier <number>', 'the dossier number', parseDossierNumber)
    .requiredOption('--outcome <outcome>', `the committee's outcome: ${OUTCOMES.join(', ')}`, parseOutcome)
    .requiredOption('--reason <text>', "the committee's reason (shown in the report, in French for staff)")
    .option('--dry-run', 'check it and say what would be recorded: nothing written, no audit record')
    .option('--json', 'print { roundId, dossierNumber, outcome, dryRun, record, previous, eigPostsRequested, committeePosts, capacity }')
    .addHelpText('after', examples(
      'ds-selection rounds decide --round 2026-03 --dossier 2002 --outcome selected --reason "Priorité ministérielle, équipe prête" --dry-run',
      'ds-selection rounds decide --round 2026-03 --dossier 2001 --outcome waitlisted --reason "Financement à confirmer"',
    ))
    .action(async (options: { round: string; dossier: number; outcome: DecisionOutcome; reason: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ rounds: repository, roundDossiers, roundsConfig }) => {
        let result: DecideDossierResult;
        try {
          result = await decideDossier(
            { roundId: options.round, dossierNumber: options.dossier, outcome: options.outcome, reason: options.reason, actor: staffActor(context.io), dryRun: options.dryRun === true },
            { rounds: repository, dossiers: roundDossiers, config: roundsConfig, clock: { now: () => new Date() } },
          );
        } catch (error) {
          throw staffCommandError(error, options.round);
        }
        if (options.json) writeJson(context.io, result);
        else writeLines(context.io.stdout, decideLines(result));
      });
    });
}

/** What `rounds decide` recorded, in French for staff. */
export function decideLines(result: DecideDossierResult): string[] {
  const before = result.previous ? ` (remplace : ${OUTCOME_LABELS[result.previous.outcome]})` : '';
  return [
    `rounds decide : session ${result.roundId}, dossier ${result.dossierNumber} : ${OUTCOME_LABELS[result.outcome]}${before}`
      + `${result.dryRun ? " (simulation : rien n'est écrit)" : ''}`,
    `  motif du comité   ${result.record.reason}`,
    `  postes            ${committeeCapacityText(result)}`,
    "  la clôture de la sélection appliquera cette décision à la place de la proposition du classement.",
  ];
}

/**
 * What moved in or out of a round after its dossiers were set: (a) dossiers withdrawn on DS after
 * reviewers were assigned (they leave the ranking with the reason), (b) dossiers deposited after
 * submissions closed, reviewed in the next round (found there by `roundMovedFrom`), and staff's
 * exclusions and committee decisions.
 */
async function roundMovements(
  rounds: Pick<Connection['rounds'], 'listAssignments' | 'listExclusions' | 'listCommitteeDecisions'>,
  repository: Connection['dossiers'],
  roundId: string,
  dossiers: readonly DossierRecord[],
  record: RoundRecord | undefined,
): Promise<Pick<RoundDetailView, 'withdrawnAfterAssignment' | 'movedToNextRound' | 'exclusions' | 'committeeDecisions'>> {
  const [assignments, exclusions, committee, next] = await Promise.all([
    record && record.status !== 'open' ? rounds.listAssignments(roundId) : Promise.resolve([]),
    record ? rounds.listExclusions(roundId) : Promise.resolve([]),
    record ? rounds.listCommitteeDecisions(roundId) : Promise.resolve([]),
    listDossiers(repository, { round: nextRoundId(roundId) }),
  ]);
  return {
    ...(record && record.status !== 'open' ? { withdrawnAfterAssignment: withdrawnAfterAssignment(dossiers, new Set(assignments.map((a) => a.dossierNumber))) } : {}),
    movedToNextRound: movedFrom(roundId, next),
    ...(record ? { exclusions: exclusions.filter((e) => e.excluded), committeeDecisions: committee } : {}),
  };
}

export function withdrawnAfterAssignment(dossiers: readonly DossierRecord[], assigned: ReadonlySet<number>): WithdrawnView[] {
  return dossiers.flatMap((d) => {
    const withdrawal = assigned.has(d.number) ? withdrawalOf(d) : undefined;
    return withdrawal
      ? [{ dossierNumber: d.number, title: d.project?.title ?? null, status: d.status, state: d.state, reasonCode: withdrawal.reasonCode, reason: withdrawal.reason }]
      : [];
  }).sort((a, b) => a.dossierNumber - b.dossierNumber);
}

export function movedFrom(roundId: string, nextRoundDossiers: readonly DossierRecord[]): MovedView[] {
  return nextRoundDossiers
    .filter((d) => d.roundMovedFrom === roundId)
    .map((d) => ({ dossierNumber: d.number, title: d.project?.title ?? null, dateDepot: d.dateDepot, round: d.round }))
    .sort((a, b) => a.dossierNumber - b.dossierNumber);
}

/** The movements of `rounds show`, in French for staff. */
export function movementLines(movements: Pick<RoundDetailView, 'withdrawnAfterAssignment' | 'movedToNextRound' | 'exclusions' | 'committeeDecisions'> | undefined): string[] {
  if (!movements) return [];
  const lines: string[] = [];
  const withdrawn = movements.withdrawnAfterAssignment ?? [];
  if (withdrawn.length > 0) {
    lines.push('', `Retirés après l'affectation (hors classement) : ${pluralFr(withdrawn.length, 'dossier', 'dossiers')}`);
    lines.push(...withdrawn.map((w) => `  dossier ${w.dossierNumber} : ${w.reason} (${w.reasonCode})${w.title ? ` - ${truncate(w.title, 50)}` : ''}`));
  }
  const moved = movements.movedToNextRound ?? [];
  if (moved.length > 0) {
    lines.push('', `Déposés après la clôture des dépôts, évalués dans la session suivante : ${pluralFr(moved.length, 'dossier', 'dossiers')}`);
    lines.push(...moved.map((m) => `  dossier ${m.dossierNumber} → session ${m.round} (déposé le ${m.dateDepot ?? '-'})${m.title ? ` - ${truncate(m.title, 50)}` : ''}`));
  }
  const excluded = movements.exclusions ?? [];
  if (excluded.length > 0) {
    lines.push('', `Exclus par l'équipe : ${pluralFr(excluded.length, 'dossier', 'dossiers')}`);
    lines.push(...excluded.map((e) => `  dossier ${e.dossierNumber} : ${truncate(e.reason, 100)}`));
  }
  const committee = movements.committeeDecisions ?? [];
  if (committee.length > 0) {
    lines.push('', `Décisions du comité : ${pluralFr(committee.length, 'dossier', 'dossiers')}`);
    lines.push(...committee.map((c) => `  dossier ${c.dossierNumber} : ${OUTCOME_LABELS[c.outcome]} - ${truncate(c.reason, 100)}`));
  }
  return lines;
}

function registerStepCommand(rounds: Command, context: CommandContext, step: RoundStep): void {
  const help = STEP_HELP[step];
  const stepCommand = rounds
    .command(step)
    .summary(help.summary)
    .description(`${help.description}\n\nEvery step is idempotent (run twice, it changes and sends nothing more) and writes an audit record `
      + 'with you as the actor (staff:<OS user>). Try it with --dry-run first: it prints the plan and writes nothing.')
    .option('--round <round>', 'the round, e.g. 2026-03 (default: the step\'s own choice, see above)', parseRoundId)
    .option('--dry-run', 'compute and print the plan: nothing written, no mail sent, no audit record');
  if (step === 'close-selection') {
    stepCommand.option('--force', 'close even though reviews are missing or the review deadline has not passed (audited as forced)');
  }
  if (step === 'open') {
    stepCommand.option('--force', 'open a round whose period (its two months, Paris time) has ended (audited as forced)');
  }
  stepCommand
    .option('--json', `print the result { step, roundId, dryRun, changed, status, summary, plan?, ${step === 'close-selection' ? 'missingReviews?, ' : ''}rounds? }`)
    .addHelpText('after', examples(...help.examples))
    .action(async (options: { round?: string; dryRun?: boolean; force?: boolean; json?: boolean }, command: Command) => {
      await withConnection(context, command, async (connection) => {
        const progress = new ProgressBar(context.io.stderr, { label: `${step}: mails sent` });
        let sent = 0;
        const counting = (mailer: Mailer): Mailer => ({
          async send(message) {
            const id = await mailer.send(message);
            progress.update(++sent);
            return id;
          },
        });
        const deps = await connection.roundStepDependencies(counting);
        const request = {
          step, actor: staffActor(context.io), dryRun: options.dryRun === true, force: options.force === true, ...(options.round ? { roundId: options.round } : {}),
        };
        let result: RoundStepResult;
        try {
          result = await runRoundStep(request, deps);
        } catch (error) {
          // A round named on the command line that was never opened is "not found" (exit 3), as for report and reviews.
          if (error instanceof RoundStepRefusedError && error.reason === 'no_round' && options.round) {
            throw new NotFoundError(`round ${options.round} has not been opened${step === 'open' ? '' : ` (ds-selection rounds open --round ${options.round})`}`);
          }
          throw error;
        } finally {
          progress.finish();
        }
        if (options.json) writeJson(context.io, result);
        else {
          const namesReviewers = result.plan?.assignments || (result.plan?.missingReviews ?? result.missingReviews ?? []).length > 0;
          const emails = namesReviewers ? new Map((await connection.rounds.listReviewers()).map((r) => [r.id, r.email])) : new Map<string, string>();
          writeLines(context.io.stdout, stepResultLines(result, emails));
        }
        const failures = Number(result.summary.mailFailures ?? 0);
        if (failures > 0) {
          throw new PartialFailureError(
            `${step}: ${plural(failures, 'mail')} not sent (SES refused or failed them); run the step again: it sends only those`,
          );
        }
      });
    });
}

function emptyCounts(): StatusCounts {
  return Object.fromEntries(DOSSIER_STATUSES.map((status) => [status, 0])) as StatusCounts;
}

/** Counts per round and status; rounds in order, `unassigned` last. */
export function roundViews(dossiers: DossierRecord[]): RoundView[] {
  const byRound = new Map<string, RoundView>();
  for (const dossier of dossiers) {
    const view = byRound.get(dossier.round) ?? { round: dossier.round, total: 0, byStatus: emptyCounts() };
    view.total++;
    view.byStatus[dossier.status]++;
    byRound.set(dossier.round, view);
  }
  return [...byRound.values()].sort((a, b) => roundOrder(a.round) - roundOrder(b.round) || a.round.localeCompare(b.round));
}

const roundOrder = (round: string) => (round === UNASSIGNED_ROUND ? 1 : 0);

/** Adds each round's phase from its record, and the rounds opened that have no dossier yet; in round order, `unassigned` last. */
export function withPhases(views: RoundView[], records: RoundRecord[]): RoundView[] {
  const phases = new Map(records.map((record) => [record.id, record.status]));
  const byRound = new Map(views.map((view) => [view.round, view]));
  for (const record of records) {
    if (!byRound.has(record.id)) byRound.set(record.id, { round: record.id, total: 0, byStatus: emptyCounts() });
  }
  return [...byRound.values()]
    .map((view) => {
      const phase = phases.get(view.round);
      return phase ? { ...view, phase } : view;
    })
    .sort((a, b) => roundOrder(a.round) - roundOrder(b.round) || a.round.localeCompare(b.round));
}

export function roundTable(views: RoundView[]): string[] {
  return formatTable(
    [
      { header: 'SESSION' },
      { header: 'PHASE' },
      { header: 'TOTAL', align: 'right' },
      ...DOSSIER_STATUSES.map((status) => ({ header: status.toUpperCase(), align: 'right' as const })),
    ],
    views.map((view) => [view.round, view.phase ?? '-', String(view.total), ...DOSSIER_STATUSES.map((status) => String(view.byStatus[status]))]),
  );
}

export function roundDetailLines(view: RoundView, rows: DossierSummaryView[], record?: RoundRecord, progress?: ReviewProgressView): string[] {
  const counts = DOSSIER_STATUSES.filter((status) => view.byStatus[status] > 0).map((status) => `${view.byStatus[status]} ${status}`);
  const lines = [`Session ${view.round} : ${pluralFr(view.total, 'dossier', 'dossiers')}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}`];
  lines.push(...(record ? roundRecordLines(record) : view.round === UNASSIGNED_ROUND ? [] : ['  phase            pas encore ouverte (ds-selection rounds open --round ' + view.round + ')']));
  if (progress) lines.push(...reviewProgressLines(progress));
  for (const status of DOSSIER_STATUSES) {
    const ofStatus = rows.filter((row) => row.status === status);
    if (ofStatus.length === 0) continue;
    lines.push('', `${status} (${ofStatus.length})`, ...dossierTable(ofStatus).map((line) => `  ${line}`));
  }
  return lines;
}

/** Each reviewer's work in the round and the reassignments, from the round's records (reviewProgress). */
async function progressView(
  rounds: Pick<Connection['rounds'], 'listAssignments' | 'listReviews' | 'listReviewers'>, round: RoundRecord, dossiers: readonly DossierRecord[],
): Promise<ReviewProgressView> {
  const [assignments, reviews, reviewers] = await Promise.all([rounds.listAssignments(round.id), rounds.listReviews(round.id), rounds.listReviewers()]);
  return namedProgress(reviewProgress(round, dossiers, assignments, reviews), reviewers);
}

export function namedProgress(progress: ReturnType<typeof reviewProgress>, reviewers: readonly ReviewerRecord[]): ReviewProgressView {
  const byId = new Map(reviewers.map((r) => [r.id, r]));
  return {
    reviewers: progress.reviewers
      .map((p) => ({ ...p, name: byId.get(p.reviewerId)?.name ?? null, email: byId.get(p.reviewerId)?.email ?? null }))
      .sort((a, b) => (a.email ?? a.reviewerId).localeCompare(b.email ?? b.reviewerId)),
    reassignments: progress.reassignments.map((r) => ({
      ...r,
      withdrawnReviewerEmail: byId.get(r.withdrawnReviewerId)?.email ?? null,
      replacementReviewerEmail: r.replacementReviewerId ? byId.get(r.replacementReviewerId)?.email ?? null : null,
    })),
  };
}

export function reviewProgressLines(progress: ReviewProgressView): string[] {
  if (progress.reviewers.length === 0) return ['', 'Avancement des évaluations : aucun évaluateur affecté'];
  const lines = [
    '',
    `Avancement des évaluations : ${pluralFr(progress.reviewers.length, 'évaluateur', 'évaluateurs')}`,
    ...formatTable(
      [
        { header: 'ÉVALUATEUR' }, { header: 'NOM' }, { header: 'À FAIRE', align: 'right' }, { header: 'BROUILLONS', align: 'right' },
        { header: 'ENVOYÉES', align: 'right' }, { header: "LIENS D'INTÉRÊT", align: 'right' }, { header: 'REMPLACEMENTS', align: 'right' },
      ],
      progress.reviewers.map((r) => [
        r.email ?? `(évaluateur inconnu ${r.reviewerId.slice(0, 8)})`, truncate(r.name ?? '-', 30), String(r.toDo), String(r.draft),
        String(r.submitted), String(r.conflictsDeclared), String(r.replacementsReceived),
      ]),
    ).map((line) => `  ${line}`),
  ];
  if (progress.reassignments.length > 0) {
    const who = (email: string | null, id: string) => email ?? `(évaluateur inconnu ${id.slice(0, 8)})`;
    lines.push('', `Réaffectés après un lien d'intérêt déclaré : ${pluralFr(progress.reassignments.length, 'dossier', 'dossiers')}`);
    lines.push(...progress.reassignments.map((r) => `  dossier ${r.dossierNumber} : ${who(r.withdrawnReviewerEmail, r.withdrawnReviewerId)} → `
      + `${r.replacementReviewerId ? who(r.replacementReviewerEmail, r.replacementReviewerId) : 'aucun évaluateur disponible'}`));
  }
  return lines;
}

/** The record of an opened round, field by field. */
export function roundRecordLines(record: RoundRecord): string[] {
  const field = (name: string, value: string | number | null) => `  ${name.padEnd(17)}${value === null || value === '' ? '-' : String(value)}`;
  return [
    field('phase', record.status),
    field('ouverte le', record.openedAt),
    field('dépôts', record.submissionsClosedAt ? `clos le ${record.submissionsClosedAt}` : 'ouverts'),
    field('évaluations dues', record.reviewDeadline),
    field('sélection', record.selectionClosedAt ? `close le ${record.selectionClosedAt}` : 'ouverte'),
    field('capacité', `${pluralFr(record.capacityPosts, 'poste EIG', 'postes EIG')}, ${pluralFr(record.reviewersPerDossier, 'évaluateur', 'évaluateurs')} par dossier`),
    field('critères', record.criteria.map((criterion) => `${criterion.id} ×${criterion.weight}`).join(', ')),
  ];
}

/** The phase a step moves a round from, to reach `status` (none for a round `open` creates). */
function previousPhase(status: RoundStatus): RoundStatus | 'none' {
  return ROUND_STATUSES.find((candidate) => ROUND_PHASES[candidate].next === status) ?? 'none';
}

/** `mailsAlreadySent` → `mails already sent`: for a summary key with no French label yet. */
export function humanize(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

/** `1 dossier`, `0 dossier`, `3 dossiers`: in French the plural starts at 2. */
export function pluralFr(count: number, one: string, many: string): string {
  return `${count} ${count > 1 ? many : one}`;
}

/** The phases as staff read them (the codes stay in --json). */
export const PHASE_LABELS: Readonly<Record<RoundStatus | 'none', string>> = {
  none: 'aucune', open: 'ouverte', reviewing: 'en évaluation', closed: 'close',
};

/** The summary keys of the four steps (functions/core/rounds), as staff read them. */
const SUMMARY_LABELS: Readonly<Record<string, string>> = {
  capacityPosts: 'capacité (postes EIG)',
  reviewersPerDossier: 'évaluateurs par dossier',
  criteria: 'critères',
  forced: 'forcé',
  dossiers: 'dossiers',
  roundDossiers: 'dossiers de la session',
  reviewableDossiers: 'dossiers évaluables',
  eligibleReviewers: 'évaluateurs disponibles',
  assignmentsWritten: 'affectations écrites',
  assignmentsKept: 'affectations conservées',
  shortfalls: "dossiers sans assez d'évaluateurs",
  collegeShortfalls: 'dossiers sans collèges distincts',
  excludedDossiers: 'dossiers exclus',
  reviewDeadline: 'date limite',
  reviews: 'évaluations enregistrées',
  conflictsDeclared: "liens d'intérêt déclarés",
  reviewsMissing: 'évaluations manquantes',
  dossiersMissingReviews: 'dossiers incomplets',
  deadlinePassed: 'date limite passée',
  closingRefused: 'clôture refusée',
  postsSelected: 'postes attribués',
  yearlyCeilingPosts: 'plafond annuel (postes EIG)',
  ceilingPosts: 'plafond de la période (postes)',
  ceilingPeriod: 'période du plafond',
  postsUsedBefore: 'postes pourvus avant (sessions closes)',
  ceilingLeft: 'reste du plafond',
  postsAvailable: 'postes à pourvoir dans la session',
  excluded: "exclus par l'équipe",
  withdrawn: "retirés après l'affectation",
  committeeDecisions: 'décisions du comité',
  ranked: 'dossiers classés',
  selected: 'sélectionnés',
  waitlisted: "liste d'attente",
  notSelected: 'non sélectionnés',
  countedReviews: 'évaluations comptées',
  rounds: 'sessions',
  reviewersToRemind: 'évaluateurs à relancer',
  unfinishedReviews: 'évaluations non envoyées',
  reviewersUnreachable: 'évaluateurs injoignables',
  reminderDay: 'jour de relance',
  mailsSent: 'mails envoyés',
  mailsAlreadySent: 'mails déjà envoyés',
  mailFailures: 'mails en échec',
};

const VALUE_LABELS: Readonly<Record<string, string>> = {
  reviews_missing: 'évaluations manquantes', before_deadline: 'avant la date limite',
};

function summaryValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'boolean') return value ? 'oui' : 'non';
  return VALUE_LABELS[String(value)] ?? String(value);
}

/** Labels line up in one column: as wide as the longest label, plus a space. */
const LABEL_WIDTH = 40;

/**
 * What a step did (or, dry, would do), for staff, in French: the round and its phase, the step's
 * counts, and for a dry run the plan (assignments by reviewer email when known, shortfalls,
 * decisions). The codes (summary keys, phases, outcomes) are in --json.
 */
export function stepResultLines(result: RoundStepResult, reviewerEmails: ReadonlyMap<string, string> = new Map()): string[] {
  const where = result.roundId ? `session ${result.roundId}` : pluralFr(result.rounds?.length ?? 0, 'session en évaluation', 'sessions en évaluation');
  const lines = [`${result.step} : ${where}${result.dryRun ? " (simulation : rien n'est écrit, aucun mail envoyé)" : ''}`];
  if (result.roundId) {
    let phase: string;
    if (result.changed && result.status) phase = `${PHASE_LABELS[previousPhase(result.status)]} → ${PHASE_LABELS[result.status]}`;
    else if (result.dryRun && result.plan?.round && result.plan.round.status !== result.status) {
      phase = `${PHASE_LABELS[result.status ?? 'none']} → ${PHASE_LABELS[result.plan.round.status]} (prévu)`;
    } else phase = `${result.status ? PHASE_LABELS[result.status] : '-'} (inchangée${result.summary.already === true ? ' : étape déjà faite' : ''})`;
    lines.push(`  ${'phase'.padEnd(LABEL_WIDTH)}${phase}`);
  }
  for (const [key, value] of Object.entries(result.summary)) {
    if (key === 'already') continue;
    lines.push(`  ${(SUMMARY_LABELS[key] ?? humanize(key)).padEnd(LABEL_WIDTH)}${summaryValue(value)}`);
  }
  const plan = result.plan;
  if (plan) {
    if (plan.assignments) {
      const label = (reviewerId: string) => reviewerEmails.get(reviewerId) ?? reviewerId;
      const entries = Object.entries(plan.assignments).sort(([a], [b]) => label(a).localeCompare(label(b)));
      const pairs = entries.reduce((sum, [, numbers]) => sum + numbers.length, 0);
      lines.push('', `Affectations à écrire : ${pluralFr(pairs, 'affectation', 'affectations')} pour ${pluralFr(entries.length, 'évaluateur', 'évaluateurs')}`);
      const table = formatTable(
        [{ header: 'ÉVALUATEUR' }, { header: 'DOSSIERS', align: 'right' }, { header: 'NUMÉROS' }],
        entries.map(([reviewerId, numbers]) => [label(reviewerId), String(numbers.length), numbers.join(' ')]),
      );
      if (entries.length > 0) lines.push(...table.map((line) => `  ${line}`));
    }
    if (plan.shortfalls && plan.shortfalls.length > 0) {
      lines.push('', `Dossiers sans assez d'évaluateurs disponibles : ${plan.shortfalls.length}`);
      lines.push(...plan.shortfalls.map((shortfall) => `  dossier ${shortfall.dossierNumber} : ${shortfall.assigned} évaluateur(s) sur ${shortfall.wanted}`));
    }
    if (plan.collegeShortfalls && plan.collegeShortfalls.length > 0) {
      lines.push('', `Dossiers sans évaluateurs de collèges distincts : ${plan.collegeShortfalls.length}`);
      lines.push(...plan.collegeShortfalls.map((s) => `  dossier ${s.dossierNumber} : ${s.colleges.map((c) => c ?? 'sans collège').join(', ')}`));
    }
    if (plan.missingReviews && plan.missingReviews.length > 0) lines.push('', ...missingReviewLines(plan.missingReviews, reviewerEmails));
    if (plan.decisions) {
      lines.push('', `Décisions : ${pluralFr(plan.decisions.length, 'dossier', 'dossiers')}`);
      if (plan.decisions.length > 0) lines.push(...decisionTable(plan.decisions).map((line) => `  ${line}`));
    }
    lines.push('', `Mails à envoyer : ${plan.mails}`);
  }
  if (!plan && result.missingReviews && result.missingReviews.length > 0) lines.push('', ...missingReviewLines(result.missingReviews, reviewerEmails));
  for (const sub of result.rounds ?? []) lines.push('', ...stepResultLines(sub, reviewerEmails));
  return lines;
}

/** The reviews not submitted, per dossier, each reviewer by email when known (staff read it; nothing of it is logged). */
export function missingReviewLines(missing: readonly MissingReviews[], reviewerEmails: ReadonlyMap<string, string> = new Map()): string[] {
  const count = missing.reduce((sum, m) => sum + m.reviewerIds.length, 0);
  const label = (reviewerId: string) => reviewerEmails.get(reviewerId) ?? reviewerId;
  return [
    `Évaluations manquantes : ${count} sur ${pluralFr(missing.length, 'dossier', 'dossiers')} (non envoyées, brouillons compris)`,
    ...formatTable(
      [{ header: 'DOSSIER', align: 'right' }, { header: 'ÉVALUATEURS' }],
      missing.map((m) => [String(m.dossierNumber), m.reviewerIds.map(label).join(' ')]),
    ).map((line) => `  ${line}`),
  ];
}

/** Decisions in report order (ranked first, by rank; then by number), with titles when given. */
export function decisionTable(
  decisions: readonly DecisionRecord[], titles: ReadonlyMap<number, string> = new Map(), extra: { profiles?: ReadonlyMap<number, string>; eligibility?: ReadonlyMap<number, string> } = {},
): string[] {
  const ordered = [...decisions].sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.dossierNumber - b.dossierNumber);
  const withTitles = titles.size > 0;
  // The proposal beside the decision once the committee decided something (the report's JSON and CSV always have both).
  const withProposal = decisions.some((d) => d.committeeReason !== undefined);
  const withProfiles = (extra.profiles?.size ?? 0) > 0;
  const withEligibility = (extra.eligibility?.size ?? 0) > 0;
  return formatTable(
    [
      { header: 'RANG', align: 'right' },
      { header: 'DOSSIER', align: 'right' },
      ...(withProposal ? [{ header: 'PROPOSITION' }] : []),
      { header: 'DÉCISION' },
      { header: 'SCORE', align: 'right' },
      { header: 'ÉVALUATIONS', align: 'right' },
      { header: 'POSTES', align: 'right' },
      ...(withProfiles ? [{ header: 'PROFILS' }] : []),
      ...(withEligibility ? [{ header: 'ÉLIGIBILITÉ' }] : []),
      ...(withTitles ? [{ header: 'TITRE' }] : []),
      { header: 'MOTIF' },
    ],
    ordered.map((decision) => [
      decision.rank === null ? '-' : String(decision.rank),
      String(decision.dossierNumber),
      ...(withProposal ? [OUTCOME_LABELS[decision.proposedOutcome ?? decision.outcome]] : []),
      OUTCOME_LABELS[decision.outcome],
      decision.score === null ? '-' : decision.score.toFixed(2).replace('.', ','),
      String(decision.reviewCount),
      String(decision.eigPostsRequested),
      ...(withProfiles ? [truncate(extra.profiles?.get(decision.dossierNumber) || '-', 40)] : []),
      ...(withEligibility ? [extra.eligibility?.get(decision.dossierNumber) ?? '-'] : []),
      ...(withTitles ? [truncate(titles.get(decision.dossierNumber) ?? '-', 40)] : []),
      truncate(decision.reason, 100),
    ]),
  );
}
