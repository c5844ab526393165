import { ReviewerInputSchema, type College } from '#schemas/rounds';
import { ReviewerImportError, type ReviewerImportIssue } from './errors.ts';
import type { ReviewerRecord } from './model.ts';
import type { RoundRepository } from './ports.ts';
import { newReviewerId } from './reviewer-id.ts';

/**
 * `reviewers import FILE`: all or nothing (HotCRP's /assign). Every entry is validated and emails
 * must be unique in the file; any issue rejects the whole file, naming the lines (never the
 * addresses). Then each reviewer is upserted: an address already known keeps its reviewer id, a new
 * one gets a random id (newReviewerId), so no id can be computed from an address. Reviewers absent
 * from the file are left as they are (set `active: false` to retire one); a `suppressed` flag set
 * by bounces is kept, and so is the college when the entry has none (a file from before colleges,
 * an empty cell): it changes only when the file names one, or `aucun` to remove it.
 */

export interface ImportReviewersOptions {
  /** The line of the first entry (default 1; 2 for a CSV with a header line). */
  firstLine?: number;
}

export interface ImportReviewersResult {
  imported: number;
  updated: number;
  unchanged: number;
}

function issueText(issue: { path: PropertyKey[]; message: string }): string {
  return issue.path.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message;
}

const sameReviewer = (a: ReviewerRecord, b: ReviewerRecord) =>
  a.email === b.email && a.name === b.name && a.active === b.active && a.college === b.college
  && a.conflicts.length === b.conflicts.length && a.conflicts.every((c, i) => c === b.conflicts[i]);

export async function importReviewers(
  inputs: readonly unknown[],
  deps: { rounds: RoundRepository; newId?: () => string },
  options: ImportReviewersOptions = {},
): Promise<ImportReviewersResult> {
  const firstLine = options.firstLine ?? 1;
  const issues: ReviewerImportIssue[] = [];
  const firstLineOf = new Map<string, number>();
  const records: { entry: ReviewerRecord; college: College | null | undefined }[] = [];
  inputs.forEach((input, index) => {
    const line = firstLine + index;
    const parsed = ReviewerInputSchema.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) issues.push({ line, message: issueText(issue) });
      return;
    }
    const email = parsed.data.email.trim();
    const seen = firstLineOf.get(email);
    if (seen !== undefined) {
      issues.push({ line, message: `duplicate email: the same address is already on line ${seen}` });
      return;
    }
    firstLineOf.set(email, line);
    records.push({
      entry: {
        id: '',
        email,
        name: parsed.data.name,
        conflicts: [...new Set(parsed.data.conflicts)].sort(),
        active: parsed.data.active,
      },
      college: parsed.data.college,
    });
  });
  if (issues.length > 0) throw new ReviewerImportError(issues);

  // Known addresses keep their id (the committee is a few dozen people: one listing).
  const stored = new Map((await deps.rounds.listReviewers()).map((r) => [r.email.trim().toLowerCase(), r]));
  const newId = deps.newId ?? newReviewerId;
  const result: ImportReviewersResult = { imported: 0, updated: 0, unchanged: 0 };
  const writes: ReviewerRecord[] = [];
  for (const { entry, college: given } of records) {
    const current = stored.get(entry.email);
    // Absent from the entry: the stored college stays; null: removed.
    const college = given === undefined ? current?.college : given ?? undefined;
    const record: ReviewerRecord = { ...entry, id: current?.id ?? newId(), ...(college ? { college } : {}) };
    // A suppression set by mail events stays, with why and since when (only `reviewers unsuppress` lifts it).
    const next: ReviewerRecord = current?.suppressed
      ? {
        ...record, suppressed: true,
        ...(current.suppressedReason ? { suppressedReason: current.suppressedReason } : {}),
        ...(current.suppressedAt ? { suppressedAt: current.suppressedAt } : {}),
      }
      : record;
    if (!current) result.imported++;
    else if (sameReviewer(current, next)) {
      result.unchanged++;
      continue;
    } else result.updated++;
    writes.push(next);
  }
  if (writes.length > 0) await deps.rounds.putReviewers(writes);
  return result;
}
