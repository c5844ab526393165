import type { Command } from 'commander';
import * as z from 'zod';
import type { ReviewerRecord, SuppressionReason } from '#core/rounds/model';
import { UnknownReviewerError, unsuppressReviewer } from '#core/mail-events/unsuppress-reviewer';
import { importReviewers } from '#core/rounds/import-reviewers';
import { sendLink, SendLinkRefusedError, type SendLinkResult } from '#core/reviews/send-link';
import { COLLEGES, ReviewerInputSchema, type College, type ReviewerInput } from '#schemas/rounds';
import { readCsv, readInputFile } from './csv.ts';
import { NotFoundError, PartialFailureError, RefusedError, UsageError } from './errors.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { formatTable, plural, truncate, writeJson, writeLines } from './output.ts';
import { parseRoundId, staffActor } from './rounds.ts';

/** `reviewers import --json`: what the import did. */
export interface ReviewerImportView {
  file: string;
  format: ReviewerFileFormat;
  read: number;
  imported: number;
  updated: number;
  unchanged: number;
}

export function registerReviewerCommands(program: Command, context: CommandContext): void {
  const reviewers = program
    .command('reviewers')
    .description('the reviewers of the evaluation committee');

  reviewers
    .command('import')
    .description(
      'add or update reviewers from a CSV or JSON file, keyed by email (lower-cased). The whole file is checked first: '
      + 'if any line is wrong, nothing is imported and every wrong line is named (exit 4). Reviewers not in the file are left as they are.',
    )
    .argument('<file>', 'CSV with the header email,name,conflicts[,active][,college] (conflicts: SIRETs separated by ";"; college: '
      + `${COLLEGES.join(', ')}, accents and case ignored, "aucun" to remove it, empty to keep the stored one), `
      + 'or a JSON array of { email, name, conflicts, active, college }')
    .option('--json', 'print { file, format, read, imported, updated, unchanged }')
    .addHelpText('after', `${examples(
      'ds-selection reviewers import comite.csv',
      'ds-selection --stage prod reviewers import comite.json --json',
    )}

CSV example:
  email,name,conflicts,college
  alice.martin@example.gouv.fr,Alice Martin,13002526500013,administration
  "bob@example.fr","Durand, Bob",13002526500013;11000201100044,numérique
  carole@example.fr,Carole Petit,,recherche`)
    .action(async (file: string, options: { json?: boolean }, command: Command) => {
      const { path, text } = await readInputFile(context.io, file);
      const parsed = parseReviewerFile(path, text);
      if (!parsed.ok) {
        const lines = formatProblems(parsed.problems);
        throw new UsageError(`${file}: ${plural(parsed.problems.length, 'problem')}, nothing imported\n${lines.map((line) => `  ${line}`).join('\n')}`);
      }
      await withConnection(context, command, async ({ rounds }) => {
        const counts = await importReviewers(parsed.reviewers, { rounds });
        const view: ReviewerImportView = { file, format: parsed.format, read: parsed.reviewers.length, ...pickCounts(counts) };
        if (options.json) writeJson(context.io, view);
        else context.io.stdout.write(`${describeImport(view)}\n`);
      });
    });

  reviewers
    .command('list')
    .description('list the reviewers, by email')
    .option('--json', 'print a JSON array of { id, email, name, conflicts, active, suppressed, suppressedReason, suppressedAt, college } '
      + '(suppressedReason: bounce or complaint, null when not suppressed or unknown; college: null when none)')
    .addHelpText('after', examples('ds-selection reviewers list', 'ds-selection reviewers list --json | jq -r \'.[] | select(.active) | .email\''))
    .action(async (options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ rounds }) => {
        const views = (await rounds.listReviewers()).map(reviewerView).sort((a, b) => a.email.localeCompare(b.email));
        if (options.json) {
          writeJson(context.io, views);
          return;
        }
        if (views.length > 0) writeLines(context.io.stdout, reviewerTable(views));
        const active = views.filter((view) => view.active && !view.suppressed).length;
        const suppressed = views.filter((view) => view.suppressed).length;
        context.io.stderr.write(`${plural(views.length, 'reviewer')} (${active} active${suppressed > 0 ? `, ${suppressed} suppressed by SES: see \`ds-selection reviewers unsuppress --help\`` : ''})`
          + `${views.length === 0 ? ': import them with `ds-selection reviewers import FILE`' : ''}\n`);
      });
    });
  reviewers
    .command('unsuppress')
    .description(
      'lift the suppression SES set on a reviewer\'s address (a permanent bounce or a complaint, see reviewers list): they get mails '
      + 'and new dossiers again. Do it once the address is fixed (reviewers import) or checked with them. Audited with the reviewer id, '
      + 'never the address. An email that is no reviewer\'s exits 3; one that is not suppressed changes nothing. '
      + 'SES\'s own account-level suppression list is separate: remove the address there too (docs/runbook.md, "Suppressed reviewer").',
    )
    .argument('<email>', 'the reviewer\'s email, as in reviewers list')
    .option('--json', 'print { reviewerId, changed, previousReason, previousAt }')
    .addHelpText('after', examples('ds-selection reviewers unsuppress alice.martin@example.gouv.fr', 'ds-selection --stage prod reviewers unsuppress alice.martin@example.gouv.fr --json'))
    .action(async (email: string, options: { json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ rounds }) => {
        let result;
        try {
          result = await unsuppressReviewer({ email, actor: staffActor(context.io) }, { rounds, clock: { now: () => new Date() } });
        } catch (error) {
          if (error instanceof UnknownReviewerError) throw new NotFoundError(`reviewers unsuppress: ${error.message}`);
          throw error;
        }
        if (options.json) writeJson(context.io, result);
        else if (!result.changed) context.io.stdout.write('reviewers unsuppress: this reviewer is not suppressed: nothing changed\n');
        else {
          context.io.stdout.write(`reviewers unsuppress: reviewer ${result.reviewerId} may be mailed and assigned again `
            + `(suppressed for ${result.previousReason ?? 'an unrecorded reason'}${result.previousAt ? ` since ${result.previousAt}` : ''})\n`);
          context.io.stderr.write('remember SES\'s account suppression list: aws sesv2 delete-suppressed-destination --email-address <the address>\n');
        }
      });
    });
  reviewers
    .command('send-link')
    .description(
      'give a reviewer a fresh personal link to the review page of a round (a lost mail, an expired link): mailed to them '
      + '(at most one such mail a day per reviewer and round), or printed with --print for you to paste in a message of your own. '
      + 'The link works until the review deadline plus reviewLinkGraceDays. Refused (exit 6) for an inactive reviewer, a round that is '
      + 'still open or whose links have expired, a reviewer with no dossier in the round, or (mailing) an address SES reported; '
      + 'an unknown email or round exits 3.',
    )
    .argument('<email>', 'the reviewer\'s email, as in reviewers list')
    .requiredOption('--round <round>', 'the round, e.g. 2026-03 (reviewing, or closed while its links last)', parseRoundId)
    .option('--print', 'print the link on stdout instead of mailing it: nothing sent, nothing recorded')
    .option('--json', 'print { roundId, reviewerId, expiresAt, mailed, alreadySent, link? } (link only with --print)')
    .addHelpText('after', examples(
      'ds-selection reviewers send-link alice.martin@example.gouv.fr --round 2026-03',
      'ds-selection reviewers send-link alice.martin@example.gouv.fr --round 2026-03 --print',
    ))
    .action(async (email: string, options: { round: string; print?: boolean; json?: boolean }, command: Command) => {
      await withConnection(context, command, async (connection) => {
        const deps = await connection.roundStepDependencies();
        let result: SendLinkResult;
        try {
          result = await sendLink({ roundId: options.round, email, print: options.print === true }, deps);
        } catch (error) {
          if (!(error instanceof SendLinkRefusedError)) throw error;
          if (error.reason === 'unknown_reviewer' || error.reason === 'no_round') throw new NotFoundError(error.message);
          throw new RefusedError(`refused: ${error.message}`);
        }
        const view: SendLinkView = {
          roundId: result.roundId, reviewerId: result.reviewerId, expiresAt: result.expiresAt,
          mailed: (result.mail?.sent ?? 0) > 0, alreadySent: (result.mail?.alreadySent ?? 0) > 0, ...(result.link ? { link: result.link } : {}),
        };
        if (options.json) writeJson(context.io, view);
        else if (result.link) {
          context.io.stdout.write(`${result.link}\n`);
          context.io.stderr.write(`personal link to round ${result.roundId}, valid until ${result.expiresAt}: give it to this reviewer only\n`);
        } else if (view.mailed) context.io.stdout.write(`reviewers send-link: a new link to round ${result.roundId} was mailed (valid until ${result.expiresAt})\n`);
        else if (view.alreadySent) {
          context.io.stdout.write(`reviewers send-link: a link mail went to this reviewer for round ${result.roundId} today already (one a day): `
            + 'nothing sent; --print gives you the link\n');
        }
        if ((result.mail?.failed ?? 0) > 0) {
          throw new PartialFailureError('reviewers send-link: SES refused or failed the mail: nothing sent; run the command again, or use --print');
        }
      });
    });
}

/** `reviewers send-link --json`. */
export interface SendLinkView {
  roundId: string;
  reviewerId: string;
  expiresAt: string;
  /** Mailed by this run. */
  mailed: boolean;
  /** A link mail went to this reviewer today already: none sent. */
  alreadySent: boolean;
  /** With --print only. */
  link?: string;
}


function pickCounts(counts: { imported: number; updated: number; unchanged: number }) {
  return { imported: counts.imported, updated: counts.updated, unchanged: counts.unchanged };
}

export function describeImport(view: ReviewerImportView): string {
  return `reviewers import: ${plural(view.read, 'reviewer')} read from ${view.file}: ${view.imported} new, ${view.updated} updated, ${view.unchanged} unchanged`;
}

/** `reviewers list --json`: the record, with `suppressed` and `college` (null: none) always present. */
export interface ReviewerView {
  id: string;
  email: string;
  name: string;
  conflicts: string[];
  active: boolean;
  suppressed: boolean;
  /** Why SES suppressed it (null: not suppressed, or suppressed before reasons were kept). */
  suppressedReason: SuppressionReason | null;
  suppressedAt: string | null;
  college: College | null;
}

export function reviewerView(record: ReviewerRecord): ReviewerView {
  return {
    id: record.id, email: record.email, name: record.name, conflicts: record.conflicts, active: record.active, suppressed: record.suppressed === true,
    suppressedReason: record.suppressed === true ? record.suppressedReason ?? null : null,
    suppressedAt: record.suppressed === true ? record.suppressedAt ?? null : null,
    college: record.college ?? null,
  };
}

/** The COLLEGE column appears once a reviewer has one: a committee from before colleges reads as it did. */
export function reviewerTable(views: ReviewerView[]): string[] {
  const colleges = views.some((view) => view.college !== null);
  return formatTable(
    [{ header: 'EMAIL' }, { header: 'NAME' }, { header: 'ACTIVE' }, ...(colleges ? [{ header: 'COLLEGE' }] : []), { header: 'CONFLICTS' }],
    views.map((view) => [
      view.email,
      truncate(view.name, 30),
      view.suppressed
        ? `no (mail suppressed${view.suppressedReason ? `: ${view.suppressedReason}${view.suppressedAt ? ` ${view.suppressedAt.slice(0, 10)}` : ''}` : ''})`
        : view.active ? 'yes' : 'no',
      ...(colleges ? [view.college ?? '-'] : []),
      view.conflicts.length === 0 ? '-' : view.conflicts.join(' '),
    ]),
  );
}

/*
 * The file `reviewers import FILE` reads: CSV with a header (`email,name,conflicts`, conflicts
 * separated by `;`, optional `active` and `college` columns) or a JSON array of { email, name,
 * conflicts?, active?, college? }. A college is one of COLLEGES, accents and case ignored
 * (`Numérique`); `aucun` removes it; an empty cell or no column keeps the stored one. Every entry is checked with ReviewerInputSchema, and every problem is reported with
 * the line (CSV) or the entry (JSON) it is on, all at once, so that one run shows what to fix.
 */

export type ReviewerFileFormat = 'csv' | 'json';

export interface ReviewerFileProblem {
  /** `line 3` (CSV) or `entry 2` (JSON, 1-based). */
  where: string;
  message: string;
}

export type ReviewerFileResult =
  | { ok: true; format: ReviewerFileFormat; reviewers: ReviewerInput[] }
  | { ok: false; format: ReviewerFileFormat; problems: ReviewerFileProblem[] };

const CSV_COLUMNS = ['email', 'name', 'conflicts', 'active', 'college'] as const;
const REQUIRED_COLUMNS = ['email', 'name'] as const;
const TRUE_WORDS = new Set(['true', 'yes', 'oui', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'non', '0']);

/** `.json`, `.csv`, else what the content looks like (a JSON array starts with `[`). */
export function detectFormat(path: string, text: string): ReviewerFileFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.csv')) return 'csv';
  return stripBom(text).trimStart().startsWith('[') ? 'json' : 'csv';
}

export function parseReviewerFile(path: string, text: string): ReviewerFileResult {
  const format = detectFormat(path, text);
  return format === 'json' ? parseReviewerJson(text) : parseReviewerCsv(text);
}

export function parseReviewerJson(text: string): ReviewerFileResult {
  let json: unknown;
  try {
    json = JSON.parse(stripBom(text));
  } catch (error) {
    return { ok: false, format: 'json', problems: [{ where: 'file', message: `not valid JSON (${(error as Error).message})` }] };
  }
  if (!Array.isArray(json)) {
    return { ok: false, format: 'json', problems: [{ where: 'file', message: 'expected a JSON array of { email, name, conflicts }' }] };
  }
  return validateEntries(json.map((value, index) => ({ where: `entry ${index + 1}`, value })), 'json');
}

export function parseReviewerCsv(text: string): ReviewerFileResult {
  const csv = readCsv(text);
  if (!csv.ok) return { ok: false, format: 'csv', problems: [{ where: `line ${csv.line}`, message: csv.message }] };
  const [header, ...rows] = csv.records;
  if (!header) return { ok: false, format: 'csv', problems: [{ where: 'file', message: 'empty: expected a header line "email,name,conflicts"' }] };
  const columns = header.cells.map((cell) => cell.trim().toLowerCase());
  const headerProblems: string[] = [];
  const unknown = columns.filter((column) => !(CSV_COLUMNS as readonly string[]).includes(column));
  if (unknown.length > 0) headerProblems.push(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')}`);
  const missing = REQUIRED_COLUMNS.filter((column) => !columns.includes(column));
  if (missing.length > 0) headerProblems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')}`);
  const repeated = columns.filter((column, index) => columns.indexOf(column) !== index);
  if (repeated.length > 0) headerProblems.push(`repeated column ${repeated.map((c) => `"${c}"`).join(', ')}`);
  if (headerProblems.length > 0) {
    return {
      ok: false,
      format: 'csv',
      problems: [{ where: `line ${header.line}`, message: `${headerProblems.join('; ')} (the header is email,name,conflicts[,active][,college])` }],
    };
  }
  const problems: ReviewerFileProblem[] = [];
  const entries: { where: string; value: unknown }[] = [];
  for (const row of rows) {
    const where = `line ${row.line}`;
    if (row.cells.length > columns.length) {
      problems.push({ where, message: `${row.cells.length} fields for ${columns.length} columns (quote a name that holds a comma)` });
      continue;
    }
    const cell = (column: string) => {
      const index = columns.indexOf(column);
      return index < 0 ? undefined : (row.cells[index] ?? '').trim();
    };
    const value: Record<string, unknown> = { email: cell('email'), name: cell('name') };
    const conflicts = cell('conflicts');
    if (conflicts !== undefined) value.conflicts = conflicts.split(';').map((siret) => siret.replace(/\s/g, '')).filter(Boolean);
    const active = cell('active');
    if (active !== undefined && active !== '') {
      const word = active.toLowerCase();
      if (TRUE_WORDS.has(word)) value.active = true;
      else if (FALSE_WORDS.has(word)) value.active = false;
      else {
        problems.push({ where, message: `active: "${active}" is neither true nor false` });
        continue;
      }
    }
    // Validated (and its French spellings read) by ReviewerInputSchema; empty: the stored college stays.
    const college = cell('college');
    if (college !== undefined && college !== '') value.college = college;
    entries.push({ where, value });
  }
  const validated = validateEntries(entries, 'csv');
  if (problems.length === 0) return validated;
  return { ok: false, format: 'csv', problems: [...problems, ...(validated.ok ? [] : validated.problems)].sort(byPosition) };
}

function validateEntries(entries: { where: string; value: unknown }[], format: ReviewerFileFormat): ReviewerFileResult {
  const problems: ReviewerFileProblem[] = [];
  const reviewers: ReviewerInput[] = [];
  const firstSeen = new Map<string, string>();
  for (const { where, value } of entries) {
    const parsed = ReviewerInputSchema.safeParse(value);
    if (!parsed.success) {
      problems.push({ where, message: describeIssues(parsed.error) });
      continue;
    }
    const earlier = firstSeen.get(parsed.data.email);
    if (earlier) {
      problems.push({ where, message: `same email as ${earlier}` });
      continue;
    }
    firstSeen.set(parsed.data.email, where);
    reviewers.push(parsed.data);
  }
  if (problems.length > 0) return { ok: false, format, problems };
  if (reviewers.length === 0) return { ok: false, format, problems: [{ where: 'file', message: 'no reviewer in it' }] };
  return { ok: true, format, reviewers };
}

/** `email: Invalid email address; conflicts.0: a conflict is a 14-digit SIRET`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

export function formatProblems(problems: ReviewerFileProblem[]): string[] {
  return problems.map((problem) => `${problem.where}: ${problem.message}`);
}

function byPosition(a: ReviewerFileProblem, b: ReviewerFileProblem): number {
  return (Number(/\d+/.exec(a.where)?.[0]) || 0) - (Number(/\d+/.exec(b.where)?.[0]) || 0);
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
