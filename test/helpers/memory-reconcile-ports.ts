import type { DossierRecord, DossierStatus } from '#core/dossier';
import type {
  DossierStatusIndex, DsDossierListing, IngestQueue, SaveCursorResult, SyncCursor, SyncCursorRepository, SyncCursorState,
} from '#core/ports';
import type { DeletedDossier, DossierSummary, Page } from '#schemas/ds-api';
import type { IngestMessage } from '#schemas/ingest-message';

/** In-memory ports for unit tests of reconciliation; the real adapters have their own integration tests. */

type Listed = DossierSummary & { demarche: number };

function paginate<T>(all: T[], after: string | undefined, first: number): Page<T> {
  const start = after ? Number(after.slice('offset:'.length)) : 0;
  const nodes = all.slice(start, start + first);
  const end = start + nodes.length;
  return { nodes, pageInfo: { hasNextPage: end < all.length, endCursor: nodes.length ? `offset:${end}` : null } };
}

/** DS's listings: ordered by (update time, number), `updatedSince` inclusive. */
export class MemoryDsListing implements DsDossierListing {
  dossiers: Listed[] = [];
  deleted: (DeletedDossier & { demarche: number })[] = [];
  calls: { operation: 'updated' | 'deleted'; demarche: number; since?: string; after?: string }[] = [];
  /** Called before each listing call (to change DS between pages, or to fail). */
  beforeCall?: (call: MemoryDsListing['calls'][number]) => void;

  upsert(demarche: number, number: number, dateDerniereModification: string, state = 'en_construction'): void {
    this.dossiers = this.dossiers.filter((d) => d.number !== number);
    this.dossiers.push({ demarche, number, dateDerniereModification, state });
  }

  remove(demarche: number, number: number, dateSupression: string): void {
    const dossier = this.dossiers.find((d) => d.number === number);
    this.dossiers = this.dossiers.filter((d) => d.number !== number);
    this.deleted.push({ demarche, number, state: dossier?.state ?? 'en_construction', reason: 'user_request', dateSupression });
  }

  async listUpdatedDossiers(input: { demarche: number; updatedSince?: string; after?: string; first?: number }) {
    const call = { operation: 'updated' as const, demarche: input.demarche, since: input.updatedSince, after: input.after };
    this.calls.push(call);
    this.beforeCall?.(call);
    const since = input.updatedSince ? Date.parse(input.updatedSince) : -Infinity;
    const all = this.dossiers
      .filter((d) => d.demarche === input.demarche && Date.parse(d.dateDerniereModification) >= since)
      .sort((a, b) => Date.parse(a.dateDerniereModification) - Date.parse(b.dateDerniereModification) || a.number - b.number)
      .map(({ demarche: _demarche, ...summary }) => summary);
    return paginate(all, input.after, input.first ?? 100);
  }

  async listDeletedDossiers(input: { demarche: number; deletedSince?: string; after?: string }) {
    const call = { operation: 'deleted' as const, demarche: input.demarche, since: input.deletedSince, after: input.after };
    this.calls.push(call);
    this.beforeCall?.(call);
    const since = input.deletedSince ? Date.parse(input.deletedSince) : -Infinity;
    const all = this.deleted
      .filter((d) => d.demarche === input.demarche && Date.parse(d.dateSupression) >= since)
      .map(({ demarche: _demarche, ...entry }) => entry);
    return paginate(all, input.after, 100);
  }
}

export class MemoryQueue implements IngestQueue {
  messages: IngestMessage[] = [];
  /** Throws on the call after this many successful ones. */
  failAfterCalls = Infinity;
  private callCount = 0;

  async send(messages: IngestMessage[]) {
    if (this.callCount++ >= this.failAfterCalls) throw Object.assign(new Error('queue unavailable'), { name: 'IngestQueueError' });
    this.messages.push(...structuredClone(messages));
  }

  numbers(filter: (m: IngestMessage) => boolean = () => true): number[] {
    return this.messages.filter(filter).map((m) => m.dossierNumber);
  }
}

export class MemoryCursors implements SyncCursorRepository {
  cursors = new Map<number, SyncCursor>();
  writes = 0;
  conflicts = 0;
  /** Called before each save's condition is checked (to simulate a concurrent writer). */
  beforeSave?: (demarche: number) => void;

  async get(demarche: number) {
    return structuredClone(this.cursors.get(demarche));
  }

  async save(demarche: number, state: SyncCursorState, expectedVersion: number): Promise<SaveCursorResult> {
    this.beforeSave?.(demarche);
    const current = this.cursors.get(demarche);
    if ((current?.version ?? 0) !== expectedVersion) {
      this.conflicts++;
      return { saved: false, current: structuredClone(current) };
    }
    const cursor: SyncCursor = { demarcheNumber: demarche, ...structuredClone(state), version: expectedVersion + 1 };
    this.cursors.set(demarche, cursor);
    this.writes++;
    return { saved: true, cursor: structuredClone(cursor) };
  }
}

export class MemoryStatusIndex implements DossierStatusIndex {
  records: DossierRecord[] = [];
  queries = 0;

  add(number: number, demarcheNumber: number, status: DossierStatus, ingestedAt: string): void {
    this.records.push({
      number, demarcheNumber, state: 'en_construction', status, dateDerniereModification: '2026-03-05T14:22:11+01:00',
      modifiedAtMs: Date.parse('2026-03-05T14:22:11+01:00'), dateDepot: null, round: '2026-03', project: null, issues: [],
      attachments: [], filesComplete: status !== 'files_pending', snapshotKey: null, ingestedAt,
    });
  }

  async listByStatus(status: DossierStatus, options: { limit?: number; cursor?: string } = {}) {
    this.queries++;
    const all = this.records.filter((r) => r.status === status).sort((a, b) => a.number - b.number);
    const start = options.cursor ? Number(options.cursor) : 0;
    const items = all.slice(start, start + (options.limit ?? 100));
    const end = start + items.length;
    return { items: structuredClone(items), ...(end < all.length ? { cursor: String(end) } : {}) };
  }
}
