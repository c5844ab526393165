import type { IngestMessage } from '#schemas/ingest-message';
import type { FormMapping } from '#schemas/eig-form';
import { planFileFetches, type FilePlan, type FileToFetch } from './attachments.ts';
import { statusOf, type AttachmentRecord, type DossierRecord, type DossierStatus } from './dossier.ts';
import { FileFetchError } from './errors.ts';
import { interpretDossier } from './interpret-dossier.ts';
import { refetchAtOnce, servesDemarche } from './ingest-retry.ts';
import type { AttachmentStore, Clock, DossierRepository, DsApi } from './ports.ts';
import { keptPlacement, placeInRound, type RoundPlacement } from './round.ts';
import { ROUND_PHASES, type RoundRecord } from './rounds/model.ts';

/** The rounds as ingestion sees them: only whether a round still accepts dossiers. */
export interface RoundLookup {
  /** The stored round (a consistent read), or undefined when it was never opened. */
  getRound(id: string): Promise<Pick<RoundRecord, 'status'> | undefined>;
}

export interface IngestDependencies {
  ds: DsApi;
  dossiers: DossierRepository;
  files: AttachmentStore;
  mapping: FormMapping;
  /** Where a late deposit goes: a round whose submissions are closed sends it to the next one. */
  rounds: RoundLookup;
  clock: Clock;
  /** Files archived at once for one dossier; each is streamed, so memory stays flat. */
  fileConcurrency?: number;
  /**
   * The démarches this deployment serves (DS_DEMARCHE_NUMBER). The webhook's démarche number
   * is only a claim: the dossier DS returns must belong to one of these to be stored.
   */
  servedDemarches: readonly number[];
  /**
   * Fetches of one file within one ingestion, the first included (default 2): a corrupted or
   * cut download is tried again at once with a fresh URL from DS, instead of waiting for the
   * message's next delivery.
   */
  fileAttempts?: number;
}

export interface IngestOutcome {
  number: number;
  /** `foreign`: the dossier belongs to a démarche this deployment does not serve; nothing was stored. */
  status: DossierStatus | 'foreign';
  /**
   * `written`: this version is now the stored one; `stale`: the store holds a newer one;
   * `same_version`: already stored (files retried when some were missing); `missing`: DS does not return it;
   * `refused`: a dossier of another démarche (see `demarcheNumber`), not stored, never to be retried.
   */
  result: 'written' | 'stale' | 'same_version' | 'missing' | 'refused';
  filesStored: number;
  filesPending: number;
  /** Files fetched again at once, with a fresh URL, after a failed download. */
  filesRefetched: number;
  /** On `refused`: the démarche DS returned (0 when unreadable). A number, never personal data. */
  demarcheNumber?: number;
  /** True when something is not final yet (file scan pending, fetch failed): deliver the message again later. */
  retryLater: boolean;
}

/** Runs `task` over `items`, at most `limit` at a time, in order of start. */
export async function mapWithConcurrency<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

type FileOutcome =
  | { state: 'skipped' | 'stored' }
  /** `reason`: the FileFetchError's reason, absent while a virus scan runs. */
  | { state: 'pending'; reason?: string };

/** Archives one planned file and records the outcome; returns whether it is now stored. */
async function archive(step: FilePlan, number: number, deps: IngestDependencies): Promise<FileOutcome> {
  if (step.action === 'skip') return { state: 'skipped' };
  const { url: _url, ...ref } = step.file;
  const record = (status: AttachmentRecord['status'], lastError?: string): AttachmentRecord => ({
    ...ref, dossierNumber: number, status, updatedAt: deps.clock.now().toISOString(), ...(lastError ? { lastError } : {}),
  });
  if (step.action === 'wait_for_scan') {
    await deps.dossiers.putAttachment(record('scan_pending'));
    return { state: 'pending' };
  }
  try {
    await deps.files.putFile(step.file);
  } catch (error) {
    if (!(error instanceof FileFetchError)) throw error;
    await deps.dossiers.putAttachment(record('fetch_failed', error.reason));
    return { state: 'pending', reason: error.reason };
  }
  await deps.dossiers.putAttachment(record('stored'));
  return { state: 'stored' };
}

/**
 * The files of the same version read again from DS, by key, with fresh URLs; undefined when
 * DS no longer returns this version (a newer one is on its way, with its own message).
 */
async function freshFiles(number: number, modifiedAtMs: number, deps: IngestDependencies): Promise<Map<string, FileToFetch> | undefined> {
  const again = await deps.ds.fetchDossier(number);
  if (!again.found) return undefined;
  const { record, files } = interpretDossier(number, again.dossier, deps.mapping, deps.clock.now());
  if (record.modifiedAtMs !== modifiedAtMs) return undefined;
  return new Map(files.map((file) => [file.key, file]));
}

/**
 * Archives the planned files; a download that failed in a way a fresh attempt may cure (see
 * `refetchAtOnce`) is tried again at once, with a URL from a new read of the dossier, up to
 * `fileAttempts` fetches per file. What still fails waits for the message's next delivery.
 */
async function archiveFiles(plan: FilePlan[], number: number, modifiedAtMs: number, deps: IngestDependencies) {
  const outcomes = await mapWithConcurrency(plan, deps.fileConcurrency ?? 4, (step) => archive(step, number, deps));
  let refetched = 0;
  for (let attempt = 2; attempt <= (deps.fileAttempts ?? 2); attempt++) {
    const retry = plan.map((_, i) => i).filter((i) => {
      const outcome = outcomes[i]!;
      return outcome.state === 'pending' && outcome.reason !== undefined && refetchAtOnce(outcome.reason);
    });
    if (retry.length === 0) break;
    const fresh = await freshFiles(number, modifiedAtMs, deps);
    if (!fresh) break;
    await mapWithConcurrency(retry, deps.fileConcurrency ?? 4, async (i) => {
      const file = fresh.get(plan[i]!.file.key);
      if (!file) return;
      refetched++;
      outcomes[i] = await archive({ action: file.virusScan === 'pending' ? 'wait_for_scan' : 'fetch', file }, number, deps);
    });
  }
  return {
    filesStored: outcomes.filter((o) => o.state === 'stored').length,
    filesPending: outcomes.filter((o) => o.state === 'pending').length,
    filesRefetched: refetched,
  };
}

/**
 * The round of this version: the stored placement when there is one (ingesting again never
 * moves a dossier), else its deposit's round unless that round's submissions are closed
 * (`reviewing` or `closed`: reviewers are assigned already), then the next open one.
 */
async function placementOf(record: DossierRecord, deps: IngestDependencies): Promise<RoundPlacement> {
  const kept = keptPlacement(await deps.dossiers.get(record.number), record.dateDepot);
  if (kept) return kept;
  return placeInRound(record.round, async (id) => {
    const round = await deps.rounds.getRound(id);
    return round !== undefined && !ROUND_PHASES[round.status].acceptsDossiers;
  });
}

/** The placement as record fields: `roundMovedFrom` absent (not undefined) when the dossier stayed. */
function withoutMove(placement: RoundPlacement): Pick<DossierRecord, 'round' | 'roundMovedFrom'> {
  return placement.roundMovedFrom ? placement : { round: placement.round };
}

/**
 * One ingestion: re-read the dossier from DS (the message is only a hint), store this version
 * unless a newer one is stored, then archive its files. Safe to run twice, concurrently or out
 * of order: the conditional write keeps DS's latest version, file keys are content-addressed.
 */
export async function ingestDossier(message: IngestMessage, deps: IngestDependencies): Promise<IngestOutcome> {
  const number = message.dossierNumber;
  const fetched = await deps.ds.fetchDossier(number);
  if (!fetched.found) {
    const status = message.hint.eventType === 'dossier_supprime' ? 'deleted' : 'not_found';
    await deps.dossiers.markMissing(number, message.demarcheNumber, status, deps.clock.now());
    return { number, status, result: 'missing', filesStored: 0, filesPending: 0, filesRefetched: 0, retryLater: false };
  }

  const interpreted = interpretDossier(number, fetched.dossier, deps.mapping, deps.clock.now());
  // The webhook's démarche number is a claim anyone holding the legacy token can make; what DS
  // returns is the fact. A dossier of another démarche (the DS token may cover several) is
  // never stored, so never placed in a round nor shown to reviewers. It will not become ours
  // by waiting: the message is acknowledged, not retried nor dead-lettered.
  if (!servesDemarche(deps.servedDemarches, interpreted.record.demarcheNumber)) {
    return {
      number, status: 'foreign', result: 'refused', demarcheNumber: interpreted.record.demarcheNumber,
      filesStored: 0, filesPending: 0, filesRefetched: 0, retryLater: false,
    };
  }
  const { files } = interpreted;
  const record = { ...interpreted.record, ...withoutMove(await placementOf(interpreted.record, deps)) };
  // The snapshot key is per version, so writing it before the conditional put is idempotent.
  await deps.files.putSnapshot(record.snapshotKey!, fetched.dossier);
  const saved = await deps.dossiers.saveIfNewer(record);
  if (!saved.written) {
    const { current } = saved;
    if (current.modifiedAtMs > record.modifiedAtMs) {
      return { number, status: current.status, result: 'stale', filesStored: 0, filesPending: 0, filesRefetched: 0, retryLater: false };
    }
    if (current.filesComplete) {
      return { number, status: current.status, result: 'same_version', filesStored: 0, filesPending: 0, filesRefetched: 0, retryLater: false };
    }
  }

  const plan = planFileFetches(files, await deps.dossiers.listAttachments(number));
  const { filesStored, filesPending, filesRefetched } = await archiveFiles(plan, number, record.modifiedAtMs, deps);
  let status: DossierStatus = record.status;
  if (filesPending === 0 && !record.filesComplete) {
    status = statusOf(record.issues.length === 0, true);
    const stillCurrent = await deps.dossiers.completeFiles(number, record.modifiedAtMs, status);
    if (!stillCurrent) {
      return { number, status, result: 'stale', filesStored, filesPending, filesRefetched, retryLater: false };
    }
  }
  return {
    number, status, result: saved.written ? 'written' : 'same_version', filesStored, filesPending, filesRefetched, retryLater: filesPending > 0,
  };
}
