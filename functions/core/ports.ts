import type { DeletedDossier, DossierSummary, Page } from '#schemas/ds-api';
import type { IngestMessage } from '#schemas/ingest-message';
import type { AttachmentRecord, AttachmentStatus, DossierRecord, DossierStatus } from './dossier.ts';
import type { FileToFetch } from './attachments.ts';

/**
 * The ports the use cases need; adapters under functions/adapters/ implement them
 * (DynamoDB, S3, DS GraphQL), tests may implement them in memory.
 */

export type FetchedDossier =
  | { found: true; dossier: unknown }
  | { found: false };

export interface DsApi {
  /** `dossier(number)`: `found: false` on DS's `not_found`; throws DsAuthorizationError / DsUnavailableError. */
  fetchDossier(number: number): Promise<FetchedDossier>;
}

export type SaveResult =
  | { written: true }
  /** The store already holds this version or a newer one: `current` is what it holds. */
  | { written: false; current: DossierRecord };

export interface DossierRepository {
  /**
   * Writes the record only if the store has no version of this dossier, an older one
   * (`modifiedAtMs` smaller), or one marked not_found / deleted. A single conditional put.
   */
  saveIfNewer(record: DossierRecord): Promise<SaveResult>;
  get(number: number): Promise<DossierRecord | undefined>;
  /**
   * Marks the files of version `modifiedAtMs` complete and sets `status`, only if the
   * store still holds that version. Returns false when a newer version replaced it.
   */
  completeFiles(number: number, modifiedAtMs: number, status: DossierRecord['status']): Promise<boolean>;
  /** Records that DS no longer returns the dossier; keeps what we had. */
  markMissing(number: number, demarcheNumber: number, status: 'not_found' | 'deleted', at: Date): Promise<void>;
  listAttachments(number: number): Promise<AttachmentRecord[]>;
  putAttachment(record: AttachmentRecord): Promise<void>;
}

export interface AttachmentStore {
  /** Stores the raw GraphQL answer of one version (immutable, keyed by version). */
  putSnapshot(key: string, dossier: unknown): Promise<void>;
  /**
   * Streams the file from its URL to `file.key` with Content-MD5 = `file.checksum` and checks
   * the byte count; never buffers the whole file. Throws FileFetchError when it could not.
   */
  putFile(file: FileToFetch): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export type { AttachmentStatus };

/* ---- Reconciliation (reconcile-dossiers, `ds-selection sync`) ---- */

/** DS's listings of a démarche: one page per call, follow `pageInfo.endCursor`. */
export interface DsDossierListing {
  /** `updatedSince` is inclusive: DS returns dossiers with `updated_at >= updatedSince`. */
  listUpdatedDossiers(input: { demarche: number; updatedSince?: string; after?: string; first?: number }): Promise<Page<DossierSummary>>;
  listDeletedDossiers(input: { demarche: number; deletedSince?: string; after?: string }): Promise<Page<DeletedDossier>>;
}

export interface IngestQueue {
  /** Queues every message or throws (saying how many were not queued). */
  send(messages: IngestMessage[]): Promise<void>;
}

/** Dossiers by status across rounds (the status index), one page per call. */
export interface DossierStatusIndex {
  listByStatus(status: DossierStatus, options?: { limit?: number; cursor?: string }): Promise<{ items: DossierRecord[]; cursor?: string }>;
}

/** Where reconciliation of one démarche stopped. Timestamps are ISO instants in UTC. */
export interface SyncCursor {
  demarcheNumber: number;
  /** The latest `dateDerniereModification` queued; the next run lists from there (inclusive). Absent until a dossier was seen. */
  updatedSince?: string;
  /** The latest `dateSupression` queued. */
  deletedSince?: string;
  /** When files_pending dossiers were last queued again. */
  filesPendingRequeuedAt?: string;
  lastRunAt: string;
  lastRunId: string;
  /** 1 on the first write, +1 on each; what the conditional write compares. */
  version: number;
}

export type SyncCursorState = Omit<SyncCursor, 'demarcheNumber' | 'version'>;

export type SaveCursorResult =
  | { saved: true; cursor: SyncCursor }
  /** Another run wrote first: `current` is what the store holds now (read back). */
  | { saved: false; current: SyncCursor | undefined };

export interface SyncCursorRepository {
  get(demarcheNumber: number): Promise<SyncCursor | undefined>;
  /**
   * Writes `state` as version `expectedVersion + 1`, only if the stored cursor is still at
   * `expectedVersion` (0: no cursor yet). A single conditional write.
   */
  save(demarcheNumber: number, state: SyncCursorState, expectedVersion: number): Promise<SaveCursorResult>;
}
