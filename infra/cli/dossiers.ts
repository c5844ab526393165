import { Option, type Command } from 'commander';
import { DOSSIER_STATUSES, type DossierRecord, type DossierStatus } from '#core/dossier';
import type { DossierPage, DynamoDossierRepository, ListOptions } from '#adapters/dynamodb/dossier-repository';
import { NotFoundError } from './errors.ts';
import { examples, parseDossierNumber, parsePositiveInteger, withConnection, type CommandContext } from './context.ts';
import { dossierDetail, dossierDetailLines, dossierSummary, dossierTable, recordsByKey, storedFileCount, type DossierSummaryView } from './dossier-views.ts';
import { plural, writeJson, writeLines } from './output.ts';

/** Items per DynamoDB query page: the repository's maximum useful size for a listing. */
const PAGE_SIZE = 100;
/** Dossiers whose files are read at once to count the stored ones. */
const FILE_COUNT_CONCURRENCY = 8;

export function registerDossierCommands(program: Command, context: CommandContext): void {
  const dossiers = program
    .command('dossiers')
    .description('read the dossiers the stack has stored');

  dossiers
    .command('list')
    .description('list dossiers by round and/or status, ordered by number, with their eligibility flag (index queries, never a table scan)')
    .option('--round <round>', 'only this round, e.g. 2026-03 (or "unassigned")')
    .addOption(new Option('--status <status>', 'only this status').choices(DOSSIER_STATUSES))
    .option('--limit <n>', 'print at most N dossiers (default: all)', parsePositiveInteger)
    .option('--json', 'print a JSON array instead of a table')
    .addHelpText('after', examples(
      'ds-selection dossiers list --round 2026-03',
      'ds-selection dossiers list --status invalid --json',
      'ds-selection --stage prod dossiers list --round 2026-03 --status stored --limit 20',
    ))
    .action(async (options: { round?: string; status?: DossierStatus; limit?: number; json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ dossiers: repository }) => {
        const records = await listDossiers(repository, options);
        const rows = await summarize(repository, records);
        if (options.json) writeJson(context.io, rows);
        else printTable(context, rows, options);
      });
    });

  dossiers
    .command('show')
    .description('show one dossier: DS state, our status, round, eligibility flag and reason, withdrawal, mapped project, validation issues, files')
    .argument('<number>', 'the DS dossier number', parseDossierNumber)
    .option('--json', 'print JSON (number, state, status, dateDerniereModification, round, roundMovedFrom, withdrawal, eligibility, project, issues, attachments)')
    .addHelpText('after', examples('ds-selection dossiers show 23456789', 'ds-selection dossiers show 23456789 --json | jq .attachments'))
    .action(async (number: number, options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ dossiers: repository }) => {
        const dossier = await getDossier(repository, number);
        const detail = dossierDetail(dossier, await repository.listAttachments(number));
        if (options.json) writeJson(context.io, detail);
        else writeLines(context.io.stdout, dossierDetailLines(detail));
      });
    });
}

/** The stored dossier, or NotFoundError (exit code 3). */
export async function getDossier(repository: DynamoDossierRepository, number: number): Promise<DossierRecord> {
  const dossier = await repository.get(number);
  if (!dossier) throw new NotFoundError(`dossier ${number} not found: the stack has never ingested it (run \`ds-selection sync\` to backfill)`);
  return dossier;
}

export interface DossierFilter {
  round?: string;
  status?: DossierStatus;
  limit?: number;
}

/**
 * The dossiers matching the filter, by number. One index query per status (gsi1 for a round,
 * gsi2 across rounds) merged by number: each comes back sorted by number, so the first
 * `limit` of each are enough to get the first `limit` overall.
 */
export async function listDossiers(repository: DynamoDossierRepository, filter: DossierFilter): Promise<DossierRecord[]> {
  const statuses = filter.status ? [filter.status] : DOSSIER_STATUSES;
  const perStatus = await Promise.all(statuses.map((status) => collectPages(
    (page) => (filter.round !== undefined ? repository.listByRound(filter.round, { ...page, status }) : repository.listByStatus(status, page)),
    filter.limit,
  )));
  return perStatus.flat().sort((a, b) => a.number - b.number).slice(0, filter.limit ?? Infinity);
}

/** Follows the cursor until `limit` records or the last page. */
export async function collectPages(list: (options: ListOptions) => Promise<DossierPage>, limit = Infinity): Promise<DossierRecord[]> {
  const records: DossierRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit: Math.min(PAGE_SIZE, limit - records.length), ...(cursor ? { cursor } : {}) });
    records.push(...page.items);
    cursor = page.cursor;
  } while (cursor && records.length < limit);
  return records;
}

/**
 * Summary rows with their stored-file counts. Only dossiers whose files are not complete need
 * their attachment records read: for the others every file of the version is stored.
 */
export async function summarize(repository: DynamoDossierRepository, records: DossierRecord[]): Promise<DossierSummaryView[]> {
  return mapWithConcurrency(records, FILE_COUNT_CONCURRENCY, async (dossier) => {
    if (dossier.filesComplete) return dossierSummary(dossier, storedFileCount(dossier));
    const files = recordsByKey(await repository.listAttachments(dossier.number));
    return dossierSummary(dossier, storedFileCount(dossier, files));
  });
}

function printTable(context: CommandContext, rows: DossierSummaryView[], filter: DossierFilter): void {
  if (rows.length === 0) {
    context.io.stderr.write(`no dossier${describeFilter(filter)}\n`);
    return;
  }
  writeLines(context.io.stdout, dossierTable(rows));
  const more = filter.limit !== undefined && rows.length === filter.limit ? ' (--limit reached: there may be more)' : '';
  context.io.stderr.write(`${plural(rows.length, 'dossier')}${describeFilter(filter)}${more}\n`);
}

function describeFilter({ round, status }: DossierFilter): string {
  return [round !== undefined ? ` in round ${round}` : '', status ? ` with status ${status}` : ''].join('');
}

/** `map` with at most `limit` calls in flight, results in input order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
