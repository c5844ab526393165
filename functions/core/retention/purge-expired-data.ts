import type { Clock } from '../ports.ts';
import { dossierObjectPrefixes, expiredRounds, isReduced, reducedDecision, roundReportPrefix, type RetentionPolicy } from './policy.ts';
import type { PurgeObjectStore, PurgeRepository, RoundRecordKind } from './ports.ts';
import { auditDossierPurges, purgeDossier, sumCounts, type DossierPurgeCounts, type DossierPurgeResult } from './purge-dossier.ts';

/**
 * The scheduled purge (functions/purge-expired-data.ts):
 *
 * - `deleted-dossiers` (every 10 minutes, after reconciliation queued DS's deletions and ingestion
 *   marked them `deleted`): each dossier with status `deleted` that is not a tombstone yet is
 *   purged (purge-dossier.ts), found through the status index;
 * - `all` (daily): the same, then every closed round whose selection closed
 *   `closedRoundRetentionMonths` ago or more, found through the rounds index, oldest first. Of such
 *   a round go: each dossier of it (item, FILE# items, files and snapshots in S3, every version:
 *   found through the dossiers-by-round index), its reviews, assignments, notifications,
 *   exclusions and committee decisions, its report copy in S3. What stays: the round record, its
 *   decisions reduced to numbers, its audit records, and a new audit record saying what went.
 *
 * Bounded: at most `maxDossiersPerRun` dossiers per run and `shouldStop()` asked between
 * dossiers; a round not finished gets an audit record of its progress (`complete: false`) and the
 * next run carries on, since what is purged no longer shows in the indexes. A round is marked
 * purged (`purgedAt`) only once all of it is done: a second run then does nothing.
 */

export type PurgeScope = 'all' | 'deleted-dossiers';

export interface PurgeExpiredDataDependencies {
  repository: PurgeRepository;
  objects: PurgeObjectStore;
  clock: Clock;
  policy: RetentionPolicy;
}

export interface PurgeExpiredDataOptions {
  scope: PurgeScope;
  maxDossiers: number;
  /** True stops the run between two dossiers (time is running out). */
  shouldStop?: () => boolean;
  /** Who is recorded in the audit: `schedule`, or `staff:<name>` for a run by hand. */
  actor?: string;
}

export interface RoundPurgeReport {
  roundId: string;
  complete: boolean;
  dossiers: number;
  objects: number;
  fileRecords: number;
  records: Record<RoundRecordKind, number>;
  decisionsReduced: number;
}

export interface PurgeExpiredDataReport {
  scope: PurgeScope;
  /** DS-deleted dossiers purged now (tombstones written). */
  deletedDossiers: number;
  /** Deleted dossiers found changed meanwhile (restored on DS, or a new version): left for the next run. */
  deletedDossiersSkipped: number;
  deletedCounts: DossierPurgeCounts;
  rounds: RoundPurgeReport[];
  /** False when the budget or the time ran out with work left. */
  complete: boolean;
}

const ROUND_RECORD_KINDS: readonly RoundRecordKind[] = ['review', 'assignment', 'notification', 'exclusion', 'committee'];
const noRecords = (): Record<RoundRecordKind, number> => ({ review: 0, assignment: 0, notification: 0, exclusion: 0, committee: 0 });

export async function purgeExpiredData(deps: PurgeExpiredDataDependencies, options: PurgeExpiredDataOptions): Promise<PurgeExpiredDataReport> {
  const shouldStop = options.shouldStop ?? (() => false);
  const actor = options.actor ?? 'schedule';
  let budget = options.maxDossiers;

  // 1. Dossiers deleted on DS: their data goes at once, whatever their round's age.
  const deleted = await deps.repository.listDeletedUnpurged(budget);
  const results: DossierPurgeResult[] = [];
  for (const dossier of deleted) {
    if (shouldStop()) break;
    results.push(await purgeDossier({ dossierNumber: dossier.number, reason: 'deleted_on_ds' }, deps));
    budget -= 1;
  }
  await auditDossierPurges(results, actor, deps);
  const purged = results.filter((result) => result.outcome === 'purged');
  const report: PurgeExpiredDataReport = {
    scope: options.scope,
    deletedDossiers: purged.length,
    deletedDossiersSkipped: results.filter((result) => result.outcome === 'changed_meanwhile').length,
    deletedCounts: sumCounts(purged.map((result) => result.counts)),
    rounds: [],
    complete: results.length === deleted.length && (deleted.length < options.maxDossiers),
  };
  if (options.scope !== 'all') return report;

  // 2. Closed rounds past their retention, oldest first.
  const now = deps.clock.now();
  for (const round of expiredRounds(await deps.repository.listClosedRounds(), now, deps.policy)) {
    if (budget <= 0 || shouldStop()) {
      report.complete = false;
      break;
    }
    const roundReport = await purgeRound(round.id, deps, { budget, shouldStop, actor });
    budget -= roundReport.dossiers;
    report.rounds.push(roundReport);
    if (!roundReport.complete) {
      report.complete = false;
      break;
    }
  }
  return report;
}

async function purgeRound(
  roundId: string,
  deps: PurgeExpiredDataDependencies,
  run: { budget: number; shouldStop: () => boolean; actor: string },
): Promise<RoundPurgeReport> {
  const report: RoundPurgeReport = { roundId, complete: false, dossiers: 0, objects: 0, fileRecords: 0, records: noRecords(), decisionsReduced: 0 };
  // One more than the budget: tells "exactly the budget left" from "more than that".
  const dossiers = await deps.repository.listRoundDossiers(roundId, run.budget + 1);
  let stopped = dossiers.length > run.budget;
  for (const dossier of dossiers.slice(0, run.budget)) {
    if (run.shouldStop()) {
      stopped = true;
      break;
    }
    // Files and FILE# items first, the dossier item last: it is how the next run finds what is left.
    for (const prefix of dossierObjectPrefixes(dossier.number)) report.objects += await deps.objects.deletePrefix(prefix, false);
    report.fileRecords += await deps.repository.deleteFileRecords(dossier.number, false);
    await deps.repository.deleteDossier(dossier.number, false);
    report.dossiers += 1;
  }
  const at = deps.clock.now().toISOString();
  if (!stopped) {
    report.records = await deps.repository.deleteRoundRecords(roundId, ROUND_RECORD_KINDS, { dryRun: false });
    const toReduce = (await deps.repository.listDecisions(roundId)).filter((decision) => !isReduced(decision));
    if (toReduce.length > 0) await deps.repository.putDecisions(toReduce.map(reducedDecision));
    report.decisionsReduced = toReduce.length;
    report.objects += await deps.objects.deletePrefix(roundReportPrefix(roundId), false);
    report.complete = true;
  }
  // The audit first, the mark after: a crash in between repeats an empty purge, never loses the record.
  await deps.repository.putAudit({
    roundId,
    step: 'purge-expired-data',
    at,
    actor: run.actor,
    summary: {
      complete: report.complete,
      retentionMonths: deps.policy.closedRoundRetentionMonths,
      dossiers: report.dossiers,
      objects: report.objects,
      fileRecords: report.fileRecords,
      ...Object.fromEntries(Object.entries(report.records).map(([kind, count]) => [`${kind}s`, count])),
      decisionsReduced: report.decisionsReduced,
    },
  });
  if (report.complete) await deps.repository.markRoundPurged(roundId, at);
  return report;
}
