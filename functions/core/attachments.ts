import { isChamp, type Champ, type DsFile } from '#schemas/ds-dossier';
import type { AttachmentRecord, AttachmentRef } from './dossier.ts';

/** A file DS lists, with the short-lived URL to fetch it from (never stored). */
export interface FileToFetch extends AttachmentRef {
  url: string;
}

/** The base64 MD5 DS gives, as hex: safe in an S3 key. */
export function checksumHex(checksum: string): string {
  return Buffer.from(checksum, 'base64').toString('hex');
}

/** Keeps letters, digits, dot, dash and underscore: a filename is user input. */
export function safeFilename(filename: string): string {
  const cleaned = filename.normalize('NFKD').replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_').slice(0, 150);
  return cleaned || 'file';
}

/**
 * Content-addressed per dossier and champ: the same bytes under the same champ always get
 * the same key, so a replayed ingestion skips them, and a changed file gets a new key
 * (the old version stays, nothing is overwritten).
 */
export function attachmentKey(dossierNumber: number, champId: string, checksum: string, filename: string): string {
  return `attachments/${dossierNumber}/${champKeyPart(champId)}/${checksumHex(checksum)}/${safeFilename(filename)}`;
}

/** `Q2hhbXAtNDEwMjEwOA==` (base64 of `Champ-4102108`) becomes `4102108`; other ids become hex. */
export function champKeyPart(champId: string): string {
  const decoded = Buffer.from(champId, 'base64').toString('utf8');
  const stable = /^Champ-(\d+)$/.exec(decoded);
  return stable ? stable[1]! : Buffer.from(champId).toString('hex');
}

export function snapshotKey(dossierNumber: number, modifiedAtMs: number): string {
  return `dossiers/${dossierNumber}/${modifiedAtMs}.json`;
}

function fileToFetch(dossierNumber: number, champ: Champ, file: DsFile, rowId?: string): FileToFetch {
  return {
    champId: champ.champDescriptorId,
    ...(rowId ? { rowId } : {}),
    label: champ.label,
    filename: file.filename,
    contentType: file.contentType,
    byteSize: file.byteSize,
    checksum: file.checksum,
    virusScan: file.virusScanResult === 'pending' ? 'pending' : file.virusScanResult === 'safe' ? 'safe' : 'unknown',
    key: attachmentKey(dossierNumber, champ.champDescriptorId, file.checksum, file.filename),
    url: file.url,
  };
}

/** Every file of the dossier, repetition rows included. DS already leaves infected files out. */
export function filesOf(dossierNumber: number, champs: Champ[], rowId?: string): FileToFetch[] {
  return champs.flatMap((champ) => {
    if (isChamp(champ, 'PieceJustificativeChamp')) {
      return champ.files.map((file) => fileToFetch(dossierNumber, champ, file, rowId));
    }
    if (isChamp(champ, 'RepetitionChamp')) {
      return champ.rows.flatMap((row) => filesOf(dossierNumber, row.champs, row.id));
    }
    return [];
  });
}

export type FilePlan =
  | { action: 'skip'; file: FileToFetch }
  | { action: 'wait_for_scan'; file: FileToFetch }
  | { action: 'fetch'; file: FileToFetch };

/**
 * What to do with each file: skip those already archived with the same key (same checksum),
 * wait for those whose virus scan is pending, fetch the rest.
 */
export function planFileFetches(files: FileToFetch[], stored: AttachmentRecord[]): FilePlan[] {
  const archived = new Set(stored.filter((r) => r.status === 'stored').map((r) => r.key));
  return files.map((file) => {
    if (archived.has(file.key)) return { action: 'skip', file };
    if (file.virusScan === 'pending') return { action: 'wait_for_scan', file };
    return { action: 'fetch', file };
  });
}

/** The attachment ref as stored on the dossier: everything but the expiring URL. */
export function withoutUrl({ url: _url, ...ref }: FileToFetch): AttachmentRef {
  return ref;
}
