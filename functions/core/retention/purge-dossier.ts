import { UNASSIGNED_ROUND } from '../round.ts';
import type { Clock } from '../ports.ts';
import {
  dossierObjectPrefixes, isReduced, reducedDecision, roundReportPrefix, tombstoneExpiresAt, tombstoneOf,
  type PurgeReason, type RetentionPolicy,
} from './policy.ts';
import type { PurgeObjectStore, PurgeRepository, StoredDossier } from './ports.ts';

/**
 * Removes one dossier's personal data, now: DS deleted it (`deleted_on_ds`, from the purge
 * function's sweep of the status index), or the person asked (`erasure_request`, `ds-selection
 * dossiers purge N`). What goes: its files and raw snapshots in S3 (every version), its FILE#
 * items, the reviews of it in its round(s), staff's exclusion and the committee's word on it, the
 * round's report copy in S3 (it lists the dossier's title; `ds-selection report` rebuilds it from
 * the table). What stays: a tombstone (number, round, DS dates, status `deleted`, no personal
 * data) that expires, its decision reduced to numbers, the audit. Each step can be replayed: a
 * crash halfway leaves the dossier as it was read (the tombstone comes last), the next run finishes.
 */

export interface PurgeDossierDependencies {
  repository: PurgeRepository;
  objects: PurgeObjectStore;
  clock: Clock;
  policy: Pick<RetentionPolicy, 'deletedDossierTombstoneDays'>;
}

export interface DossierPurgeCounts {
  /** Object versions deleted from S3 (files, snapshots, the round's report copy). */
  objects: number;
  fileRecords: number;
  reviews: number;
  /** Exclusion and committee records of the dossier. */
  staffRecords: number;
  decisionsReduced: number;
}

export type DossierPurgeOutcome =
  /** Done (or, in a dry run, what would be done). */
  | 'purged'
  /** No such dossier. */
  | 'not_found'
  /** A tombstone already: nothing personal left. */
  | 'already_purged'
  /** `deleted_on_ds`, but the dossier is no longer marked deleted (DS restored it). */
  | 'not_deleted'
  /** A new version was stored while purging: the next run (or a second command) tries again. */
  | 'changed_meanwhile';

export interface DossierPurgeResult {
  dossierNumber: number;
  reason: PurgeReason;
  outcome: DossierPurgeOutcome;
  dryRun: boolean;
  /** The rounds whose records were touched (the dossier's round, and the one it was moved from). */
  rounds: string[];
  counts: DossierPurgeCounts;
}

const noCounts = (): DossierPurgeCounts => ({ objects: 0, fileRecords: 0, reviews: 0, staffRecords: 0, decisionsReduced: 0 });

export interface PurgeDossierInput {
  dossierNumber: number;
  reason: Exclude<PurgeReason, 'retention'>;
  dryRun?: boolean;
}

/** The rounds a dossier has records in: where it is reviewed, and the round of its deposit when it moved. */
export function roundsOf(dossier: Pick<StoredDossier, 'round' | 'roundMovedFrom'>): string[] {
  return [...new Set([dossier.round, dossier.roundMovedFrom].filter((round): round is string => !!round && round !== UNASSIGNED_ROUND))];
}

/** Purges one dossier (see above). Reads it again first (consistently): the caller's copy may be stale. */
export async function purgeDossier(input: PurgeDossierInput, deps: PurgeDossierDependencies): Promise<DossierPurgeResult> {
  const dryRun = input.dryRun === true;
  const result = (outcome: DossierPurgeOutcome, rounds: string[] = [], counts = noCounts()): DossierPurgeResult => ({
    dossierNumber: input.dossierNumber, reason: input.reason, outcome, dryRun, rounds, counts,
  });
  const dossier = await deps.repository.getDossier(input.dossierNumber);
  if (!dossier) return result('not_found');
  if (dossier.purgedAt) return result('already_purged', roundsOf(dossier));
  if (input.reason === 'deleted_on_ds' && dossier.status !== 'deleted') return result('not_deleted', roundsOf(dossier));

  const rounds = roundsOf(dossier);
  const counts = noCounts();
  // Files first, the tombstone last: until it is written, the dossier still looks unpurged and is found again.
  for (const prefix of dossierObjectPrefixes(dossier.number)) counts.objects += await deps.objects.deletePrefix(prefix, dryRun);
  counts.fileRecords = await deps.repository.deleteFileRecords(dossier.number, dryRun);
  for (const roundId of rounds) {
    const deleted = await deps.repository.deleteRoundRecords(roundId, ['review', 'exclusion', 'committee'], { dossierNumber: dossier.number, dryRun });
    counts.reviews += deleted.review;
    counts.staffRecords += deleted.exclusion + deleted.committee;
    const toReduce = (await deps.repository.listDecisions(roundId, dossier.number)).filter((decision) => !isReduced(decision));
    if (toReduce.length > 0) {
      counts.decisionsReduced += toReduce.length;
      if (!dryRun) await deps.repository.putDecisions(toReduce.map(reducedDecision));
      // The report copy lists this dossier's title: it goes; `ds-selection report` rebuilds it.
      counts.objects += await deps.objects.deletePrefix(roundReportPrefix(roundId), dryRun);
    }
  }
  if (dryRun) return result('purged', rounds, counts);

  const at = deps.clock.now();
  const written = await deps.repository.putTombstone(tombstoneOf(dossier, at, input.reason), tombstoneExpiresAt(at, deps.policy), {
    expectedModifiedAtMs: dossier.modifiedAtMs,
    requireDeleted: input.reason === 'deleted_on_ds',
  });
  return result(written ? 'purged' : 'changed_meanwhile', rounds, counts);
}

/** The step name an audit record of a dossier purge carries. */
export const DOSSIER_PURGE_STEPS: Readonly<Record<PurgeDossierInput['reason'], string>> = {
  deleted_on_ds: 'purge-deleted-dossiers',
  erasure_request: 'erase-dossier',
};

/**
 * One audit record per round for the dossiers purged in one run: their numbers (DS's numbers,
 * already in the decisions: no personal data), why, and the counts. A dossier in no round is
 * audited under `unassigned`.
 */
export async function auditDossierPurges(
  results: readonly DossierPurgeResult[], actor: string, deps: Pick<PurgeDossierDependencies, 'repository' | 'clock'>,
): Promise<number> {
  const byRound = new Map<string, DossierPurgeResult[]>();
  for (const result of results) {
    if (result.outcome !== 'purged' || result.dryRun) continue;
    for (const roundId of result.rounds.length > 0 ? result.rounds : [UNASSIGNED_ROUND]) {
      byRound.set(roundId, [...(byRound.get(roundId) ?? []), result]);
    }
  }
  const at = deps.clock.now().toISOString();
  for (const [roundId, purged] of byRound) {
    const reasons = [...new Set(purged.map((result) => result.reason))];
    await deps.repository.putAudit({
      roundId,
      step: reasons.length === 1 ? DOSSIER_PURGE_STEPS[reasons[0] as PurgeDossierInput['reason']] : 'purge-dossiers',
      at,
      actor,
      summary: {
        reasons,
        dossierNumbers: purged.map((result) => result.dossierNumber).sort((a, b) => a - b),
        ...sumCounts(purged.map((result) => result.counts)),
      },
    });
  }
  return byRound.size;
}

export function sumCounts(all: readonly DossierPurgeCounts[]): DossierPurgeCounts {
  const total = noCounts();
  for (const counts of all) {
    for (const key of Object.keys(total) as (keyof DossierPurgeCounts)[]) total[key] += counts[key];
  }
  return total;
}
