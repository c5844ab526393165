import type { AttachmentRecord, AttachmentStatus, DossierRecord } from './dossier.ts';
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
