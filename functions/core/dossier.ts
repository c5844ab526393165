import type { Project } from '#schemas/eig-form';

/**
 * Where a dossier stands in our store:
 * - `stored`: valid, every file archived in S3;
 * - `files_pending`: valid, some files not archived yet (virus scan pending, URL expired, fetch failed);
 * - `invalid`: failed validation, stored with its issues (files are still archived);
 * - `not_found`: DS does not return it (hidden, or never visible to our token);
 * - `deleted`: DS reported it deleted.
 */
export const DOSSIER_STATUSES = ['stored', 'files_pending', 'invalid', 'not_found', 'deleted'] as const;
export type DossierStatus = (typeof DOSSIER_STATUSES)[number];

export interface ValidationIssue {
  /** Dotted path in the DS dossier or in the mapped project, e.g. `champs.3.integerNumber`. */
  path: string;
  message: string;
}

/** One file of the dossier as DS lists it, with where we keep it. */
export interface AttachmentRef {
  champId: string;
  /** The repetition row the champ belongs to, when it is in one. */
  rowId?: string;
  label: string;
  filename: string;
  contentType: string;
  byteSize: number;
  /** Base64 MD5, as DS gives it. */
  checksum: string;
  virusScan: 'pending' | 'safe' | 'unknown';
  /** S3 object key: content-addressed, so the same file is never uploaded twice. */
  key: string;
}

export type AttachmentStatus = 'stored' | 'scan_pending' | 'fetch_failed';

/** What we know of one archived (or not yet archived) file. */
export interface AttachmentRecord extends AttachmentRef {
  dossierNumber: number;
  status: AttachmentStatus;
  updatedAt: string;
  /** Why the last fetch failed (no personal data: a status code or an error name). */
  lastError?: string;
}

export interface DossierRecord {
  number: number;
  demarcheNumber: number;
  /** DS state (en_construction, ...). Unknown for not_found dossiers never seen before. */
  state: string | null;
  status: DossierStatus;
  /** DS's `dateDerniereModification`, as DS wrote it. */
  dateDerniereModification: string | null;
  /** The same instant in epoch ms: what the conditional write compares. 0 when unknown. */
  modifiedAtMs: number;
  dateDepot: string | null;
  /** Bimonthly round the dossier belongs to (see round.ts), `unassigned` before deposit. */
  round: string;
  /**
   * Set when the dossier was deposited in a round whose submissions were already closed: the
   * round of its deposit date, while `round` is the next one, where it is reviewed.
   */
  roundMovedFrom?: string;
  /** The mapped project; partial when the dossier is invalid. */
  project: Partial<Project> | null;
  issues: ValidationIssue[];
  /**
   * What staff should know that does not make the dossier invalid (a linked dossier DS did not
   * return to our token); absent when there is nothing to say.
   */
  notes?: ValidationIssue[];
  /** The files of this version of the dossier. */
  attachments: AttachmentRef[];
  /** True once every file of this version is archived. */
  filesComplete: boolean;
  /** S3 key of the raw GraphQL answer for this version. */
  snapshotKey: string | null;
  ingestedAt: string;
}

/** Only valid dossiers are reviewed: invalid, not_found and deleted ones are not. */
export const REVIEWABLE_STATUSES: readonly DossierStatus[] = ['stored', 'files_pending'];

/**
 * DS states in which the administration has withdrawn the dossier: an instructeur classed it
 * "sans suite" (on the applicant's request or not). Its content is still valid, but it is no
 * longer a candidacy.
 */
export const WITHDRAWN_STATES: readonly string[] = ['sans_suite'];

/**
 * Whether a dossier takes part in its round's review and ranking now: valid, and neither
 * withdrawn on DS (classé sans suite) nor deleted or hidden there, even after assignment.
 */
export function isReviewable(dossier: Pick<DossierRecord, 'status' | 'state'>): boolean {
  return REVIEWABLE_STATUSES.includes(dossier.status) && !WITHDRAWN_STATES.includes(dossier.state ?? '');
}

export interface Withdrawal {
  /** Stable: `classe_sans_suite`, `deleted_on_ds`, `not_found_on_ds`. */
  reasonCode: string;
  /** In French, for staff and reviewers. */
  reason: string;
}

/**
 * Why a dossier left the selection on DS's side, or undefined when it did not (an invalid
 * dossier did not leave: it is incomplete, and says so through its issues).
 */
export function withdrawalOf(dossier: Pick<DossierRecord, 'status' | 'state'>): Withdrawal | undefined {
  if (dossier.status === 'deleted') return { reasonCode: 'deleted_on_ds', reason: 'Supprimé sur Démarches Simplifiées' };
  if (dossier.status === 'not_found') {
    return { reasonCode: 'not_found_on_ds', reason: 'N\'est plus visible sur Démarches Simplifiées (masqué ou supprimé)' };
  }
  if (WITHDRAWN_STATES.includes(dossier.state ?? '')) return { reasonCode: 'classe_sans_suite', reason: 'Classé sans suite sur Démarches Simplifiées' };
  return undefined;
}

/** The status a dossier version gets from its validity and its files. */
export function statusOf(valid: boolean, filesComplete: boolean): DossierStatus {
  if (!valid) return 'invalid';
  return filesComplete ? 'stored' : 'files_pending';
}

/** Epoch ms of an ISO 8601 instant with offset; DS dates carry the Paris offset. */
export function instantMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 instant: ${iso}`);
  return ms;
}
