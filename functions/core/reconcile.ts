import type { DeletedDossier, DossierSummary, Page } from '#schemas/ds-api';
import type { IngestMessage } from '#schemas/ingest-message';
import type { DossierRecord } from './dossier.ts';
import { ReconcileFailedError } from './errors.ts';
import type {
  Clock, DossierStatusIndex, DsDossierListing, IngestQueue, SyncCursor, SyncCursorRepository, SyncCursorState,
} from './ports.ts';

/**
 * Reconciliation: what makes ingestion independent of webhooks. For each démarche, from its
 * persisted cursor:
 *
 * 1. list the dossiers DS changed since `updatedSince` (inclusive, so the dossier(s) at the
 *    cursor come again: ingestion is idempotent) and queue one hint each;
 * 2. list the dossiers deleted since `deletedSince`, and those put in DS's bin since then
 *    (`pendingDeletedDossiers`: hidden by the applicant or the administration, deleted for good
 *    weeks later; DS no longer returns them), and queue them with `dossier_supprime` (ingestion
 *    marks them deleted once DS no longer returns them; one restored from the bin comes back
 *    as changed, and its next version replaces the mark). Both share the `deletedSince` cursor;
 * 3. every `filesPending.intervalMs`, queue again the dossiers stuck in `files_pending` (their
 *    own messages may have ended in the DLQ): nothing waits for a webhook that never comes;
 * 4. then, and only then, move the cursor forward: to the latest date seen, never backwards,
 *    never to nothing. The write is conditional on the cursor's version; a run that loses a race
 *    re-reads the cursor and merges (the later of each date), so two runs at once only queue
 *    some messages twice.
 */

/** DS's maximum (and default) page size for `demarche.dossiers`. */
export const DS_MAX_PAGE_SIZE = 100;

/** DS handed back a page cursor it had already given: following it would loop forever. */
export class DsPaginationError extends Error {
  override name = 'DsPaginationError';
}

/** Cursor writes kept failing their condition: other runs keep writing. Nothing is lost (the messages are queued). */
export class CursorContentionError extends Error {
  override name = 'CursorContentionError';
}

export interface ListedPage<T> {
  nodes: T[];
  /** True on the last page: nothing is left to list. */
  last: boolean;
}

async function* pages<T>(fetchPage: (after: string | undefined) => Promise<Page<T>>, what: string): AsyncGenerator<ListedPage<T>> {
  const followed = new Set<string>();
  let after: string | undefined;
  while (true) {
    const page = await fetchPage(after);
    // A page without a cursor cannot be followed, whatever hasNextPage says.
    const next = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? undefined) : undefined;
    if (next !== undefined && followed.has(next)) throw new DsPaginationError(`${what}: DS returned the same page cursor twice`);
    yield { nodes: page.nodes, last: next === undefined };
    if (next === undefined) return;
    followed.add(next);
    after = next;
  }
}

/**
 * DS's listings with its bin: `pendingDeletedDossiers` has the shape and arguments of
 * `deletedDossiers`. (Declared here rather than on DsDossierListing, so the listing port others
 * implement does not change under them.)
 */
export interface DsDeletionListing extends DsDossierListing {
  listPendingDeletedDossiers(input: { demarche: number; deletedSince?: string; after?: string }): Promise<Page<DeletedDossier>>;
}

export interface ListChangedDossiersInput {
  demarche: number;
  /** Inclusive; absent: every dossier of the démarche. */
  updatedSince?: string;
  /** At most DS_MAX_PAGE_SIZE. */
  pageSize?: number;
}

/**
 * The dossiers DS changed since `updatedSince`, page by page, ordered by (update time, id) as
 * DS lists them. Shared by reconciliation and `ds-selection sync --since`.
 */
export function listChangedDossiers(ds: DsDossierListing, input: ListChangedDossiersInput): AsyncGenerator<ListedPage<DossierSummary>> {
  const first = Math.min(input.pageSize ?? DS_MAX_PAGE_SIZE, DS_MAX_PAGE_SIZE);
  return pages((after) => ds.listUpdatedDossiers({
    demarche: input.demarche,
    first,
    ...(input.updatedSince ? { updatedSince: input.updatedSince } : {}),
    ...(after ? { after } : {}),
  }), `démarche ${input.demarche} dossiers`);
}

/** The dossiers DS deleted since `deletedSince` (inclusive), page by page. */
export function listDeletedDossiers(ds: DsDossierListing, input: { demarche: number; deletedSince?: string }): AsyncGenerator<ListedPage<DeletedDossier>> {
  return pages((after) => ds.listDeletedDossiers({
    demarche: input.demarche,
    ...(input.deletedSince ? { deletedSince: input.deletedSince } : {}),
    ...(after ? { after } : {}),
  }), `démarche ${input.demarche} deleted dossiers`);
}

/** The dossiers DS put in its bin since `deletedSince` (inclusive), page by page. */
export function listPendingDeletedDossiers(ds: DsDeletionListing, input: { demarche: number; deletedSince?: string }): AsyncGenerator<ListedPage<DeletedDossier>> {
  return pages((after) => ds.listPendingDeletedDossiers({
    demarche: input.demarche,
    ...(input.deletedSince ? { deletedSince: input.deletedSince } : {}),
    ...(after ? { after } : {}),
  }), `démarche ${input.demarche} pending deleted dossiers`);
}

/** Deleted dossiers, then those in DS's bin: both are gone from `dossier(number)`. */
export async function* listGoneDossiers(ds: DsDeletionListing, input: { demarche: number; deletedSince?: string }): AsyncGenerator<ListedPage<DeletedDossier> & { pending: boolean }> {
  for await (const page of listDeletedDossiers(ds, input)) yield { ...page, last: false, pending: false };
  for await (const page of listPendingDeletedDossiers(ds, input)) yield { ...page, pending: true };
}

export type ListingSource = 'reconcile' | 'sync';

/** One ingest hint per listed dossier. */
export function changedDossierMessages(demarche: number, nodes: DossierSummary[], source: ListingSource, receivedAt: Date): IngestMessage[] {
  return nodes.map((node) => ({
    demarcheNumber: demarche,
    dossierNumber: node.number,
    hint: { source, state: node.state, updatedAt: node.dateDerniereModification, receivedAt: receivedAt.toISOString() },
  }));
}

/** One `dossier_supprime` hint per deleted dossier. */
export function deletedDossierMessages(demarche: number, nodes: DeletedDossier[], source: ListingSource, receivedAt: Date): IngestMessage[] {
  return nodes.map((node) => ({
    demarcheNumber: demarche,
    dossierNumber: node.number,
    hint: { source, eventType: 'dossier_supprime', state: node.state, updatedAt: node.dateSupression, receivedAt: receivedAt.toISOString() },
  }));
}

function pendingDossierMessage(record: DossierRecord, receivedAt: Date): IngestMessage {
  return {
    demarcheNumber: record.demarcheNumber,
    dossierNumber: record.number,
    hint: {
      source: 'reconcile',
      ...(record.state ? { state: record.state } : {}),
      ...(record.dateDerniereModification ? { updatedAt: record.dateDerniereModification } : {}),
      receivedAt: receivedAt.toISOString(),
    },
  };
}

export interface FilesPendingPolicy {
  /**
   * Only dossiers whose version was stored at least this long ago: a younger one still has its
   * own message going round the ingest queue's retries.
   */
  minAgeMs: number;
  /** Queue a démarche's files_pending dossiers again at most once per this long. */
  intervalMs: number;
}

export const DEFAULT_FILES_PENDING_POLICY: FilesPendingPolicy = { minAgeMs: 60 * 60_000, intervalMs: 60 * 60_000 };

/** How reconciliation's DS client retries a call: attempts, and the longest wait between two. */
export const RECONCILE_DS_RETRIES = { maxAttempts: 3, maxDelayMs: 10_000 } as const;

/**
 * The time a run keeps before its deadline (`shouldStop`) to finish a page, queue it and save the
 * cursor: a DS call that times out on every attempt, the waits between them, and 10 s to spare.
 */
export function reserveBeforeDeadlineMs(dsTimeoutMs: number, retries: { maxAttempts: number; maxDelayMs: number } = RECONCILE_DS_RETRIES): number {
  return retries.maxAttempts * dsTimeoutMs + (retries.maxAttempts - 1) * retries.maxDelayMs + 10_000;
}

export interface ReconcileDependencies {
  ds: DsDeletionListing;
  queue: IngestQueue;
  cursors: SyncCursorRepository;
  dossiers: DossierStatusIndex;
  clock: Clock;
}

export interface ReconcileOptions {
  demarches: readonly number[];
  /** Recorded on the cursor (the Lambda request id). */
  runId: string;
  /**
   * List from this instant instead of the cursors (a catch-up). The cursors still only move
   * forward, and only when this run covered their position: `since` never makes them skip
   * what no run has listed.
   */
  since?: string;
  /**
   * Listed from `updatedSince` minus this much (default 0): a dossier whose DS transaction
   * committed late, with an update time just before the cursor, is still listed.
   */
  overlapMs?: number;
  pageSize?: number;
  filesPending?: FilesPendingPolicy;
  /**
   * Asked before each further page: true stops the run there (time is running out). What was
   * queued still moves the cursor, relying on DS's (update time, id) order for the changed
   * dossiers; the deletions' cursor only moves on a complete listing.
   */
  shouldStop?: () => boolean;
  /** Conditional cursor writes tried before giving up (default 5). */
  maxCursorWrites?: number;
}

/**
 * `saved`: written at the first try; `merged`: written after re-reading a concurrent run's
 * write; `already_there`: a concurrent run had recorded at least as far; `not_saved`: the run failed.
 */
export type CursorOutcome = 'saved' | 'merged' | 'already_there' | 'not_saved';

export interface DemarcheReconcileReport {
  demarche: number;
  /** Changed dossiers listed and queued. */
  updated: number;
  /** Deleted dossiers listed and queued, those in DS's bin included. */
  deleted: number;
  /** Of which in DS's bin (`pendingDeletedDossiers`). */
  pendingDeleted: number;
  /** files_pending dossiers queued again. */
  filesPending: number;
  queued: number;
  /** False when the run stopped early (out of time) or failed. */
  complete: boolean;
  cursor: CursorOutcome;
  /** The cursor's `updatedSince` after the run (an instant, no personal data). */
  updatedSince: string | null;
  error?: Error;
}

export interface ReconcileReport {
  runId: string;
  demarches: DemarcheReconcileReport[];
  queued: number;
  /** Démarches whose run failed (their cursor did not move). */
  failed: number;
}

/** The report without its errors: counts and instants only, safe to log and to return. */
export type ReconcileSummary = Omit<ReconcileReport, 'demarches' | 'runId'> & {
  demarches: Omit<DemarcheReconcileReport, 'error'>[];
};

export function summarize(report: ReconcileReport): ReconcileSummary {
  return {
    queued: report.queued,
    failed: report.failed,
    demarches: report.demarches.map(({ error: _error, ...counts }) => counts),
  };
}

/**
 * The démarches a run could not reconcile, each with its error's name and message only: ours and
 * the adapters' never carry dossier content, so they are safe to log.
 */
export function unreconciledDemarches(report: ReconcileReport): { demarche: number; error: string; reason: string }[] {
  return report.demarches.flatMap(({ demarche, error }) => (error ? [{ demarche, error: error.name, reason: error.message }] : []));
}

/**
 * The error a run ends with when a démarche could not be reconciled (its cursor did not move, the
 * others still did), so the scheduler's dead-letter queue and alarm see it; undefined when all were.
 */
export function unreconciledError(report: ReconcileReport): ReconcileFailedError | undefined {
  if (!(report.failed > 0)) return undefined;
  return new ReconcileFailedError(`${report.failed} of ${report.demarches.length} démarche(s) not reconciled (see the log above); the next run retries`);
}

const FILES_PENDING_BATCH = 100;

export async function reconcileDossiers(deps: ReconcileDependencies, options: ReconcileOptions): Promise<ReconcileReport> {
  let filesPending: Promise<DossierRecord[]> | undefined;
  // One listing of the status index per run, shared by the démarches (it spans them all).
  const loadFilesPending = () => (filesPending ??= listAllByStatus(deps.dossiers, 'files_pending'));
  const reports: DemarcheReconcileReport[] = [];
  for (const demarche of options.demarches) {
    reports.push(await reconcileDemarche(deps, options, demarche, loadFilesPending));
  }
  return {
    runId: options.runId,
    demarches: reports,
    queued: reports.reduce((sum, report) => sum + report.queued, 0),
    failed: reports.filter((report) => report.error).length,
  };
}

async function reconcileDemarche(
  deps: ReconcileDependencies,
  options: ReconcileOptions,
  demarche: number,
  loadFilesPending: () => Promise<DossierRecord[]>,
): Promise<DemarcheReconcileReport> {
  const report: DemarcheReconcileReport = {
    demarche, updated: 0, deleted: 0, pendingDeleted: 0, filesPending: 0, queued: 0, complete: false, cursor: 'not_saved', updatedSince: null,
  };
  const shouldStop = options.shouldStop ?? (() => false);
  const now = deps.clock.now();
  try {
    const cursor = await deps.cursors.get(demarche);
    report.updatedSince = cursor?.updatedSince ?? null;
    const queuedNumbers = new Set<number>();
    const send = async (messages: IngestMessage[]) => {
      if (messages.length === 0) return;
      await deps.queue.send(messages);
      report.queued += messages.length;
      for (const message of messages) queuedNumbers.add(message.dossierNumber);
    };
    const since = options.since === undefined ? undefined : instant(options.since, 'since');
    let stopped = false;

    // 1. Changed dossiers.
    const updatedFrom = since ?? shift(cursor?.updatedSince, -(options.overlapMs ?? 0));
    let maxUpdated: number | undefined;
    for await (const page of listChangedDossiers(deps.ds, { demarche, updatedSince: iso(updatedFrom), pageSize: options.pageSize })) {
      await send(changedDossierMessages(demarche, page.nodes, 'reconcile', now));
      report.updated += page.nodes.length;
      maxUpdated = maxOf(maxUpdated, ...page.nodes.map((node) => instant(node.dateDerniereModification, 'dateDerniereModification')));
      if (!page.last && shouldStop()) {
        stopped = true;
        break;
      }
    }

    // 2. Deleted dossiers, then those in DS's bin: their shared cursor moves only once both
    // listings are complete (DS documents no order), so neither can skip what the other saw.
    let maxDeleted: number | undefined;
    if (!stopped && shouldStop()) stopped = true;
    if (!stopped) {
      const deletedFrom = since ?? instantOrUndefined(cursor?.deletedSince);
      for await (const page of listGoneDossiers(deps.ds, { demarche, deletedSince: iso(deletedFrom) })) {
        await send(deletedDossierMessages(demarche, page.nodes, 'reconcile', now));
        report.deleted += page.nodes.length;
        if (page.pending) report.pendingDeleted += page.nodes.length;
        maxDeleted = maxOf(maxDeleted, ...page.nodes.map((node) => instant(node.dateSupression, 'dateSupression')));
        if (!page.last && shouldStop()) {
          stopped = true;
          maxDeleted = undefined;
          break;
        }
      }
    }

    // 3. Dossiers stuck in files_pending, at most once per interval.
    const policy = options.filesPending ?? DEFAULT_FILES_PENDING_POLICY;
    let filesPendingRequeuedAt: number | undefined;
    if (!stopped && isDue(cursor?.filesPendingRequeuedAt, now, policy.intervalMs)) {
      const stuck = (await loadFilesPending()).filter((record) =>
        record.demarcheNumber === demarche
        && !queuedNumbers.has(record.number)
        && ageMs(record.ingestedAt, now) >= policy.minAgeMs);
      for (let i = 0; i < stuck.length; i += FILES_PENDING_BATCH) {
        await send(stuck.slice(i, i + FILES_PENDING_BATCH).map((record) => pendingDossierMessage(record, now)));
      }
      report.filesPending = stuck.length;
      filesPendingRequeuedAt = now.getTime();
    }

    // 4. Everything is queued: move the cursor. With `since`, only where this run covered it.
    const covers = (position: string | undefined) => since === undefined || (position !== undefined && since <= instant(position, 'cursor'));
    const state: SyncCursorState = {
      ...optional('updatedSince', latest(cursor?.updatedSince, covers(cursor?.updatedSince) ? maxUpdated : undefined)),
      ...optional('deletedSince', latest(cursor?.deletedSince, covers(cursor?.deletedSince) ? maxDeleted : undefined)),
      ...optional('filesPendingRequeuedAt', latest(cursor?.filesPendingRequeuedAt, filesPendingRequeuedAt)),
      lastRunAt: now.toISOString(),
      lastRunId: options.runId,
    };
    const saved = await saveCursor(deps.cursors, demarche, cursor, state, options.maxCursorWrites ?? 5);
    report.cursor = saved.outcome;
    report.updatedSince = saved.updatedSince ?? null;
    report.complete = !stopped;
  } catch (error) {
    report.error = error instanceof Error ? error : new Error(String(error));
  }
  return report;
}

/**
 * Writes the cursor with a condition on the version read. On a lost race: re-read, keep the
 * later of each date (the cursor never moves back), and try again on the new version, unless the
 * other run already recorded at least as far.
 */
async function saveCursor(
  repository: SyncCursorRepository,
  demarche: number,
  read: SyncCursor | undefined,
  state: SyncCursorState,
  maxWrites: number,
): Promise<{ outcome: CursorOutcome; updatedSince: string | undefined }> {
  let expected = read?.version ?? 0;
  let next = state;
  for (let attempt = 1; attempt <= maxWrites; attempt++) {
    const result = await repository.save(demarche, next, expected);
    if (result.saved) return { outcome: attempt === 1 ? 'saved' : 'merged', updatedSince: result.cursor.updatedSince };
    const { current } = result;
    if (current && reaches(current, next)) return { outcome: 'already_there', updatedSince: current.updatedSince };
    next = merge(current, next);
    expected = current?.version ?? 0;
  }
  throw new CursorContentionError(`démarche ${demarche}: the sync cursor changed under ${maxWrites} writes in a row`);
}

const CURSOR_DATES = ['updatedSince', 'deletedSince', 'filesPendingRequeuedAt'] as const;

/** True when `current` is at or past `next` on every date. */
function reaches(current: SyncCursor, next: SyncCursorState): boolean {
  return CURSOR_DATES.every((key) => next[key] === undefined || (current[key] !== undefined && instant(current[key], key) >= instant(next[key], key)));
}

function merge(current: SyncCursor | undefined, next: SyncCursorState): SyncCursorState {
  const merged: SyncCursorState = { lastRunAt: next.lastRunAt, lastRunId: next.lastRunId };
  for (const key of CURSOR_DATES) Object.assign(merged, optional(key, latest(current?.[key], instantOrUndefined(next[key]))));
  return merged;
}

async function listAllByStatus(index: DossierStatusIndex, status: 'files_pending'): Promise<DossierRecord[]> {
  const records: DossierRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await index.listByStatus(status, { limit: 100, ...(cursor ? { cursor } : {}) });
    records.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return records;
}

/* ---- instants ---- */

function instant(value: string, what: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`${what} is not an ISO 8601 instant: ${value}`);
  return ms;
}

function instantOrUndefined(value: string | undefined): number | undefined {
  return value === undefined ? undefined : instant(value, 'cursor date');
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function shift(value: string | undefined, deltaMs: number): number | undefined {
  return value === undefined ? undefined : instant(value, 'cursor date') + deltaMs;
}

function maxOf(current: number | undefined, ...values: number[]): number | undefined {
  return values.length === 0 ? current : Math.max(current ?? -Infinity, ...values);
}

/** The later of a stored date and a new one, as an ISO instant; undefined only if both are. */
function latest(stored: string | undefined, seen: number | undefined): string | undefined {
  return iso(maxOf(instantOrUndefined(stored), ...(seen === undefined ? [] : [seen])));
}

/** `{ [key]: value }`, or nothing for undefined: a cursor date is never written empty. */
function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>);
}

function isDue(last: string | undefined, now: Date, intervalMs: number): boolean {
  return last === undefined || now.getTime() - instant(last, 'filesPendingRequeuedAt') >= intervalMs;
}

/** How long ago a record was stored; unreadable or missing dates count as old. */
function ageMs(ingestedAt: string | undefined, now: Date): number {
  const ms = ingestedAt ? Date.parse(ingestedAt) : Number.NaN;
  return Number.isNaN(ms) ? Infinity : now.getTime() - ms;
}
