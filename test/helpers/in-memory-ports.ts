import type { AttachmentRecord, DossierRecord } from '#core/dossier';
import type { FileToFetch } from '#core/attachments';
import type { AttachmentStore, DossierRepository, DsApi, FetchedDossier, SaveResult } from '#core/ports';

/** In-memory ports for unit tests of the use cases; the real adapters have their own integration tests. */
export class MemoryDossiers implements DossierRepository {
  dossiers = new Map<number, DossierRecord>();
  attachments = new Map<string, AttachmentRecord>();

  async saveIfNewer(record: DossierRecord): Promise<SaveResult> {
    const current = this.dossiers.get(record.number);
    if (!current || current.modifiedAtMs < record.modifiedAtMs || ['not_found', 'deleted'].includes(current.status)) {
      this.dossiers.set(record.number, structuredClone(record));
      return { written: true };
    }
    return { written: false, current: structuredClone(current) };
  }
  async get(number: number) { return structuredClone(this.dossiers.get(number)); }
  async completeFiles(number: number, modifiedAtMs: number, status: DossierRecord['status']) {
    const current = this.dossiers.get(number);
    if (!current || current.modifiedAtMs !== modifiedAtMs) return false;
    Object.assign(current, { filesComplete: true, status });
    return true;
  }
  async markMissing(number: number, demarcheNumber: number, status: 'not_found' | 'deleted') {
    const current = this.dossiers.get(number);
    if (current) current.status = status;
    else this.dossiers.set(number, {
      number, demarcheNumber, state: null, status, dateDerniereModification: null, modifiedAtMs: 0, dateDepot: null,
      round: 'unassigned', project: null, issues: [], attachments: [], filesComplete: true, snapshotKey: null, ingestedAt: '',
    });
  }
  async listAttachments(number: number) { return [...this.attachments.values()].filter((a) => a.dossierNumber === number); }
  async putAttachment(record: AttachmentRecord) {
    if (this.attachments.get(record.key)?.status === 'stored' && record.status !== 'stored') return;
    this.attachments.set(record.key, record);
  }
}

export class MemoryFiles implements AttachmentStore {
  snapshots = new Map<string, unknown>();
  stored = new Map<string, FileToFetch>();
  uploads = 0;
  /** Makes putFile fail for these filenames with the given error. */
  failures = new Map<string, Error>();

  async putSnapshot(key: string, dossier: unknown) { this.snapshots.set(key, dossier); }
  async putFile(file: FileToFetch) {
    const failure = this.failures.get(file.filename);
    if (failure) throw failure;
    this.uploads++;
    this.stored.set(file.key, file);
  }
}

/** A DS that answers from a map of raw dossiers (or not_found). */
export class MemoryDs implements DsApi {
  constructor(public dossiers = new Map<number, unknown>()) {}
  calls = 0;
  async fetchDossier(number: number): Promise<FetchedDossier> {
    this.calls++;
    const dossier = this.dossiers.get(number);
    return dossier ? { found: true, dossier: structuredClone(dossier) } : { found: false };
  }
}
