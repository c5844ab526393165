import type { Command } from 'commander';
import { DOSSIER_STATUSES, type DossierRecord, type DossierStatus } from '#core/dossier';
import { UNASSIGNED_ROUND } from '#core/round';
import { NotFoundError } from './errors.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { dossierTable, type DossierSummaryView } from './dossier-views.ts';
import { collectPages, listDossiers, summarize } from './dossiers.ts';
import { formatTable, plural, writeJson, writeLines } from './output.ts';

/*
 * Read-only for now. Rounds have no records of their own yet: a round is the set of dossiers
 * deposited in it (DossierRecord.round), read through the status index (gsi2), never by a Scan.
 * The round steps (open, close-submissions, remind, close-selection) come with the round records.
 */

export type StatusCounts = Record<DossierStatus, number>;

export interface RoundView {
  round: string;
  total: number;
  byStatus: StatusCounts;
}

export interface RoundDetailView extends RoundView {
  dossiers: DossierSummaryView[];
}

export function registerRoundCommands(program: Command, context: CommandContext): void {
  const rounds = program
    .command('rounds')
    .description('the bimonthly rounds, as the dossiers deposited in them (read-only)');

  rounds
    .command('list')
    .description('list the rounds that have dossiers, with their counts per status')
    .option('--json', 'print a JSON array of { round, total, byStatus }')
    .addHelpText('after', examples('ds-selection rounds list', 'ds-selection rounds list --json'))
    .action(async (options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ dossiers: repository }) => {
        const perStatus = await Promise.all(DOSSIER_STATUSES.map((status) => collectPages((page) => repository.listByStatus(status, page))));
        const views = roundViews(perStatus.flat());
        if (options.json) {
          writeJson(context.io, views);
          return;
        }
        if (views.length > 0) writeLines(context.io.stdout, roundTable(views));
        context.io.stderr.write(`${plural(views.length, 'round')} with dossiers\n`);
      });
    });

  rounds
    .command('show')
    .description('show the dossiers of one round, grouped by status')
    .argument('<round>', 'the round, e.g. 2026-03 (rounds open in January, March, May, July, September, November), or "unassigned"')
    .option('--json', 'print { round, total, byStatus, dossiers }')
    .addHelpText('after', examples('ds-selection rounds show 2026-03', 'ds-selection rounds show 2026-03 --json | jq \'.dossiers[] | select(.status == "invalid")\''))
    .action(async (round: string, options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ dossiers: repository }) => {
        const records = await listDossiers(repository, { round });
        if (records.length === 0) throw new NotFoundError(`no dossier in round ${round}`);
        const [view] = roundViews(records) as [RoundView];
        const rows = await summarize(repository, records);
        if (options.json) {
          writeJson(context.io, { ...view, dossiers: rows } satisfies RoundDetailView);
          return;
        }
        writeLines(context.io.stdout, roundDetailLines(view, rows));
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

export function roundTable(views: RoundView[]): string[] {
  return formatTable(
    [{ header: 'ROUND' }, { header: 'TOTAL', align: 'right' }, ...DOSSIER_STATUSES.map((status) => ({ header: status.toUpperCase(), align: 'right' as const }))],
    views.map((view) => [view.round, String(view.total), ...DOSSIER_STATUSES.map((status) => String(view.byStatus[status]))]),
  );
}

export function roundDetailLines(view: RoundView, rows: DossierSummaryView[]): string[] {
  const counts = DOSSIER_STATUSES.filter((status) => view.byStatus[status] > 0).map((status) => `${view.byStatus[status]} ${status}`);
  const lines = [`Round ${view.round}: ${plural(view.total, 'dossier')} (${counts.join(', ')})`];
  for (const status of DOSSIER_STATUSES) {
    const ofStatus = rows.filter((row) => row.status === status);
    if (ofStatus.length === 0) continue;
    lines.push('', `${status} (${ofStatus.length})`, ...dossierTable(ofStatus).map((line) => `  ${line}`));
  }
  return lines;
}
