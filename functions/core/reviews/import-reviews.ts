import type { Criterion } from '#schemas/rounds';
import { ROUND_PHASES, storedVersion, type ReviewRecord, type ReviewerRecord, type RoundRecord } from '../rounds/model.ts';
import { reviewStateOf } from './access.ts';
import { scoreField, validateReviewForm, type ValidReviewForm } from './review-form.ts';
import { saveReview, type SaveReviewDependencies } from './save-review.ts';

/**
 * `reviews import FILE --round R`: a committee that scores in a meeting records the scores of a
 * table (one row per dossier and reviewer). All or nothing, like `reviewers import`:
 *
 * 1. the header must be `dossier,email,<one column per criterion id of the round>[,comment][,conflict]`;
 * 2. every row is checked before anything is written: the form rules of the review page
 *    (validateReviewForm, intent `submit`: the same rules, the same messages), a known reviewer,
 *    the dossier assigned to that reviewer in the round, a review that is not a declared conflict
 *    (final), no (dossier, reviewer) twice, `conflict` one of oui/non/true/false or empty;
 * 3. any problem rejects the file (ReviewImportError), naming the line and the column, never the
 *    address (a line number is enough to find it);
 * 4. then each row goes through saveReview, the page's use case, as `staff:<name>`, with the
 *    version read just before as the expected one, and one audit record `import-reviews` (counts).
 *
 * A row that saveReview refuses after the checks (the round closed meanwhile, a reviewer saved
 * from the page in between) is counted, not written; the others are.
 */

export const REVIEW_IMPORT_FIXED_COLUMNS = ['dossier', 'email'] as const;
export const REVIEW_IMPORT_OPTIONAL_COLUMNS = ['comment', 'conflict'] as const;

const TRUE_WORDS = new Set(['oui', 'true']);
const FALSE_WORDS = new Set(['non', 'false', '']);

/** The table as read from the file: the header and each row, with the line each starts on. */
export interface ReviewTable {
  header: { line: number; cells: string[] };
  rows: { line: number; cells: string[] }[];
}

export interface ReviewImportIssue {
  line: number;
  /** The column the problem is in; null for the whole row or file. */
  column: string | null;
  message: string;
}

/** The file was rejected: nothing was written. */
export class ReviewImportError extends Error {
  override name = 'ReviewImportError';
  constructor(readonly issues: ReviewImportIssue[]) {
    super(`review file rejected, nothing imported:\n${issues.map((i) => `  ${describeIssue(i)}`).join('\n')}`);
  }
}

export function describeIssue(issue: ReviewImportIssue): string {
  return `line ${issue.line}${issue.column ? `, column ${issue.column}` : ''}: ${issue.message}`;
}

/** The round cannot take reviews (missing, or not `reviewing`): nothing was written. */
export class ReviewImportRefusedError extends Error {
  override name = 'ReviewImportRefusedError';
  constructor(message: string, readonly reason: 'no_round' | 'not_reviewing') {
    super(message);
  }
}

/** One checked row, ready for saveReview. */
interface ImportRow {
  line: number;
  reviewer: ReviewerRecord;
  dossierNumber: number;
  form: ValidReviewForm;
  /** What the store held when the rows were checked. */
  replaces: 'none' | 'draft' | 'submitted';
}

export interface ImportReviewsRequest {
  roundId: string;
  table: ReviewTable;
  /** `staff:<name>`: written in each review (`writtenBy`) and the audit record. */
  actor: string;
  dryRun?: boolean;
}

export interface ImportReviewsResult {
  roundId: string;
  dryRun: boolean;
  rows: number;
  /** Written (or, dry, to write): new reviews, and reviews replacing a draft or a submitted one. */
  written: number;
  newReviews: number;
  replacedDrafts: number;
  replacedSubmitted: number;
  conflictsDeclared: number;
  /** Declared conflicts that found a replacement reviewer (mailed once). */
  replacementsAssigned: number;
  /** Rows refused at write time: changed since the check (`stale`) or the round no longer reviewing. */
  notWritten: number;
  mailsSent: number;
  mailFailures: number;
}

export async function importReviews(request: ImportReviewsRequest, deps: SaveReviewDependencies): Promise<ImportReviewsResult> {
  const round = await deps.rounds.getRound(request.roundId);
  if (!round) throw new ReviewImportRefusedError(`round ${request.roundId} does not exist`, 'no_round');
  if (!ROUND_PHASES[round.status].canReview) {
    throw new ReviewImportRefusedError(`round ${round.id} is ${round.status}: reviews are imported while it is reviewing`, 'not_reviewing');
  }
  const [reviewers, assignments, reviews] = await Promise.all([
    deps.rounds.listReviewers(), deps.rounds.listAssignments(round.id), deps.rounds.listReviews(round.id),
  ]);
  const rows = checkTable(request.table, round, { reviewers, assignments, reviews });

  const dryRun = request.dryRun === true;
  const result: ImportReviewsResult = {
    roundId: round.id, dryRun, rows: rows.length, written: 0, newReviews: 0, replacedDrafts: 0, replacedSubmitted: 0,
    conflictsDeclared: 0, replacementsAssigned: 0, notWritten: 0, mailsSent: 0, mailFailures: 0,
  };
  const count = (row: ImportRow) => {
    result.written++;
    if (row.replaces === 'none') result.newReviews++;
    else if (row.replaces === 'draft') result.replacedDrafts++;
    else result.replacedSubmitted++;
    if (row.form.conflictOfInterest) result.conflictsDeclared++;
  };
  if (dryRun) {
    rows.forEach(count);
    return result;
  }

  for (const row of rows) {
    // The version read just before the write: a save from the page in between makes this row stale, not lost.
    const current = await deps.rounds.getReview(round.id, row.dossierNumber, row.reviewer.id);
    const saved = await saveReview({
      round, reviewer: row.reviewer, dossierNumber: row.dossierNumber, form: row.form,
      expectedVersion: storedVersion(current), actor: request.actor,
    }, deps);
    if (saved.outcome !== 'saved') {
      result.notWritten++;
      continue;
    }
    count(row);
    if (saved.conflict) {
      if (saved.conflict.replacementId) result.replacementsAssigned++;
      result.mailsSent += saved.conflict.mails.sent;
      result.mailFailures += saved.conflict.mails.failed;
    }
  }
  const { roundId: _roundId, dryRun: _dryRun, ...counts } = result;
  await deps.rounds.putAudit({ roundId: round.id, step: 'import-reviews', at: deps.clock.now().toISOString(), actor: request.actor, summary: counts });
  return result;
}

interface RoundRecords {
  reviewers: readonly ReviewerRecord[];
  assignments: readonly { dossierNumber: number; reviewerId: string }[];
  reviews: readonly ReviewRecord[];
}

/** Every check of the file, all problems at once (ReviewImportError), or the rows to write. */
export function checkTable(table: ReviewTable, round: Pick<RoundRecord, 'id' | 'criteria'>, records: RoundRecords): ImportRow[] {
  const columns = table.header.cells.map((cell) => cell.trim().toLowerCase());
  const headerIssues = checkHeader(columns, round.criteria, table.header.line);
  if (headerIssues.length > 0) throw new ReviewImportError(headerIssues);

  const reviewerByEmail = new Map(records.reviewers.map((r) => [r.email.trim().toLowerCase(), r]));
  const assigned = new Set(records.assignments.map((a) => `${a.dossierNumber}:${a.reviewerId}`));
  const stored = new Map(records.reviews.map((r) => [`${r.dossierNumber}:${r.reviewerId}`, r]));
  const firstLine = new Map<string, number>();
  const issues: ReviewImportIssue[] = [];
  const rows: ImportRow[] = [];

  for (const { line, cells } of table.rows) {
    const rowIssues: ReviewImportIssue[] = [];
    const issue = (column: string | null, message: string) => rowIssues.push({ line, column, message });
    if (cells.length > columns.length) {
      issue(null, `${cells.length} fields for ${columns.length} columns (quote a comment that holds a comma)`);
      issues.push(...rowIssues);
      continue;
    }
    const cell = (column: string): string | undefined => {
      const index = columns.indexOf(column);
      return index < 0 ? undefined : (cells[index] ?? '').trim();
    };

    const dossierText = cell('dossier') ?? '';
    const dossierNumber = /^\d{1,12}$/.test(dossierText) && Number(dossierText) > 0 ? Number(dossierText) : undefined;
    if (dossierNumber === undefined) issue('dossier', dossierText === '' ? 'no dossier number' : 'not a dossier number');
    const email = (cell('email') ?? '').toLowerCase();
    const reviewer = reviewerByEmail.get(email);
    if (!reviewer) issue('email', email === '' ? 'no reviewer email' : 'not the email of a known reviewer (ds-selection reviewers list)');

    const conflictText = (cell('conflict') ?? '').toLowerCase();
    const conflict = TRUE_WORDS.has(conflictText) ? true : FALSE_WORDS.has(conflictText) ? false : undefined;
    if (conflict === undefined) issue('conflict', 'must be oui, non, true, false or empty');

    const form = validateReviewForm({
      intent: 'submit',
      scores: Object.fromEntries(round.criteria.map((c) => [c.id, cell(c.id)])),
      comment: cell('comment'),
      conflictOfInterest: conflict === true,
    }, round.criteria);
    if (!form.valid) {
      // The page's messages, keyed by its fields: `score_<criterion>` is the criterion's column here.
      for (const [field, message] of Object.entries(form.errors)) issue(columnOfField(field, round.criteria), message);
    }

    if (dossierNumber !== undefined && reviewer) {
      const key = `${dossierNumber}:${reviewer.id}`;
      const earlier = firstLine.get(key);
      if (earlier !== undefined) issue(null, `same dossier and reviewer as line ${earlier}`);
      else firstLine.set(key, line);
      if (!assigned.has(key)) issue('dossier', `dossier ${dossierNumber} is not assigned to this reviewer in round ${round.id}`);
      else if (reviewStateOf(stored.get(key)) === 'conflict') {
        issue('dossier', `the reviewer declared a conflict of interest with dossier ${dossierNumber}: that review is final`);
      }
    }

    if (rowIssues.length > 0 || !form.valid || dossierNumber === undefined || !reviewer) {
      issues.push(...rowIssues);
      continue;
    }
    const state = reviewStateOf(stored.get(`${dossierNumber}:${reviewer.id}`));
    rows.push({ line, reviewer, dossierNumber, form: form.value, replaces: state === 'to_do' ? 'none' : state === 'draft' ? 'draft' : 'submitted' });
  }
  if (issues.length > 0) throw new ReviewImportError(issues);
  if (rows.length === 0) throw new ReviewImportError([{ line: table.header.line, column: null, message: 'no review in the file' }]);
  return rows;
}

function columnOfField(field: string, criteria: readonly Criterion[]): string | null {
  const criterion = criteria.find((c) => scoreField(c.id) === field);
  if (criterion) return criterion.id;
  if (field.startsWith('score_')) return field.slice('score_'.length);
  return field === 'comment' ? 'comment' : null;
}

function checkHeader(columns: string[], criteria: readonly Criterion[], line: number): ReviewImportIssue[] {
  const expected = [...REVIEW_IMPORT_FIXED_COLUMNS, ...criteria.map((c) => c.id), ...REVIEW_IMPORT_OPTIONAL_COLUMNS];
  const required = [...REVIEW_IMPORT_FIXED_COLUMNS, ...criteria.map((c) => c.id)];
  const issues: ReviewImportIssue[] = [];
  const hint = `the header is ${[...REVIEW_IMPORT_FIXED_COLUMNS, ...criteria.map((c) => c.id)].join(',')},comment,conflict`;
  for (const column of new Set(columns)) {
    if (!expected.includes(column)) {
      issues.push({ line, column: column || '(empty)', message: `unknown column: not a criterion of the round (${hint})` });
    }
  }
  for (const column of required) if (!columns.includes(column)) issues.push({ line, column, message: `missing column (${hint})` });
  for (const column of new Set(columns.filter((c, i) => columns.indexOf(c) !== i))) issues.push({ line, column, message: 'repeated column' });
  return issues;
}
