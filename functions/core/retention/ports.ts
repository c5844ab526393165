import type { DossierRecord } from '../dossier.ts';
import type { DecisionRecord } from '../rounds/model.ts';
import type { RetentionRound, Tombstone } from './policy.ts';

/**
 * What the purge needs of the table and the bucket. Adapters:
 * functions/adapters/dynamodb/purge-repository.ts and functions/adapters/s3/purge-store.ts.
 * Every deletion takes `dryRun`: then it only counts what it would delete.
 */

/** A stored dossier as the purge sees it: the record, and whether it is a tombstone already. */
export type StoredDossier = DossierRecord & { purgedAt?: string };

/** The personal records under a round, by kind (their sort key prefix). */
export type RoundRecordKind = 'review' | 'assignment' | 'notification' | 'exclusion' | 'committee';

export interface PurgeRepository {
  /** Closed rounds, from the rounds index (never a Scan), with their purge mark. */
  listClosedRounds(): Promise<RetentionRound[]>;
  /** Up to `limit` dossiers of a round, from the dossiers-by-round index (tombstones included). */
  listRoundDossiers(roundId: string, limit: number): Promise<StoredDossier[]>;
  /** Up to `limit` dossiers with status `deleted` that are not tombstones yet (the status index). */
  listDeletedUnpurged(limit: number): Promise<StoredDossier[]>;
  /** Consistent read. */
  getDossier(number: number): Promise<StoredDossier | undefined>;
  /** Deletes the dossier's FILE# items; returns how many there were. */
  deleteFileRecords(number: number, dryRun: boolean): Promise<number>;
  /** Deletes the dossier item itself (retention: its round goes too, so no tombstone). */
  deleteDossier(number: number, dryRun: boolean): Promise<number>;
  /**
   * Replaces the dossier item by its tombstone, with an expiry, only if the stored version is
   * still `expectedModifiedAtMs` (and, when `requireDeleted`, still marked deleted). False when it
   * changed meanwhile: DS restored it, or a newer version came.
   */
  putTombstone(tombstone: Tombstone, expiresAt: number, condition: { expectedModifiedAtMs: number; requireDeleted: boolean }): Promise<boolean>;
  /** Deletes records of `kinds` under a round (only those of `dossierNumber` when given); counts per kind. */
  deleteRoundRecords(roundId: string, kinds: readonly RoundRecordKind[], options: { dossierNumber?: number; dryRun: boolean }): Promise<Record<RoundRecordKind, number>>;
  /** Decisions of a round (only that dossier's when given). */
  listDecisions(roundId: string, dossierNumber?: number): Promise<DecisionRecord[]>;
  putDecisions(decisions: DecisionRecord[]): Promise<void>;
  /** An audit record under `ROUND#<roundId>` (never changed; a replay of the same key is ignored). */
  putAudit(record: { roundId: string; step: string; at: string; actor: string; summary: Record<string, unknown> }): Promise<void>;
  /** Marks the round purged (a conditional update of the round item; it stays, with its numbers). */
  markRoundPurged(roundId: string, at: string): Promise<void>;
}

export interface PurgeObjectStore {
  /** Deletes every object under `prefix`, every version and delete marker; returns how many versions. */
  deletePrefix(prefix: string, dryRun: boolean): Promise<number>;
}
