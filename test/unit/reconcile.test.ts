import { beforeEach, describe, expect, it } from 'vitest';
import {
  changedDossierMessages, CursorContentionError, DsPaginationError, listChangedDossiers, reconcileDossiers,
  type ReconcileOptions,
} from '#core/reconcile';
import type { DsDossierListing } from '#core/ports';
import type { DeletedDossier } from '#schemas/ds-api';
import { IngestMessageSchema } from '#schemas/ingest-message';
import { MemoryCursors, MemoryDsListing, MemoryQueue, MemoryStatusIndex } from '../helpers/memory-reconcile-ports.ts';

const D = 98765;
const OTHER = 98766;
const NOW = new Date('2026-03-10T12:00:00.000Z');
const HOUR = 3_600_000;

/** The memory listing with DS's bin (`pendingDeletedDossiers`), paged like the others. */
class BinAwareListing extends MemoryDsListing {
  pending: (DeletedDossier & { demarche: number })[] = [];
  pendingCalls: { demarche: number; since?: string; after?: string }[] = [];

  putInBin(demarche: number, number: number, dateSupression: string): void {
    const dossier = this.dossiers.find((d) => d.number === number);
    this.dossiers = this.dossiers.filter((d) => d.number !== number);
    this.pending.push({ demarche, number, state: dossier?.state ?? 'en_construction', reason: 'user_request', dateSupression });
  }

  async listPendingDeletedDossiers(input: { demarche: number; deletedSince?: string; after?: string }) {
    this.pendingCalls.push({ demarche: input.demarche, since: input.deletedSince, after: input.after });
    const since = input.deletedSince ? Date.parse(input.deletedSince) : -Infinity;
    const all = this.pending
      .filter((d) => d.demarche === input.demarche && Date.parse(d.dateSupression) >= since)
      .map(({ demarche: _demarche, ...entry }) => entry);
    const start = input.after ? Number(input.after) : 0;
    const nodes = all.slice(start, start + 2);
    const end = start + nodes.length;
    return { nodes, pageInfo: { hasNextPage: end < all.length, endCursor: nodes.length ? String(end) : null } };
  }
}

let ds: BinAwareListing;
let queue: MemoryQueue;
let cursors: MemoryCursors;
let dossiers: MemoryStatusIndex;
let now: Date;

const deps = () => ({ ds, queue, cursors, dossiers, clock: { now: () => now } });
const run = (options: Partial<ReconcileOptions> = {}) =>
  reconcileDossiers(deps(), { demarches: [D], runId: `run-${Math.random()}`, ...options });

beforeEach(() => {
  ds = new BinAwareListing();
  queue = new MemoryQueue();
  cursors = new MemoryCursors();
  dossiers = new MemoryStatusIndex();
  now = NOW;
  ds.upsert(D, 1, '2026-03-05T14:22:11+01:00');
  ds.upsert(D, 2, '2026-03-06T10:02:00+01:00');
  ds.upsert(D, 3, '2026-03-07T09:00:00+01:00');
});

describe('reconcileDossiers', () => {
  it('first run: lists every dossier, queues one reconcile hint each, saves the latest date as the cursor', async () => {
    const report = await run({ runId: 'first' });
    expect(ds.calls[0]).toMatchObject({ operation: 'updated', since: undefined });
    expect(queue.messages).toEqual([
      { demarcheNumber: D, dossierNumber: 1, hint: { source: 'reconcile', state: 'en_construction', updatedAt: '2026-03-05T14:22:11+01:00', receivedAt: NOW.toISOString() } },
      { demarcheNumber: D, dossierNumber: 2, hint: { source: 'reconcile', state: 'en_construction', updatedAt: '2026-03-06T10:02:00+01:00', receivedAt: NOW.toISOString() } },
      { demarcheNumber: D, dossierNumber: 3, hint: { source: 'reconcile', state: 'en_construction', updatedAt: '2026-03-07T09:00:00+01:00', receivedAt: NOW.toISOString() } },
    ]);
    for (const message of queue.messages) expect(IngestMessageSchema.parse(message)).toEqual(message);
    expect(cursors.cursors.get(D)).toEqual({
      demarcheNumber: D, updatedSince: '2026-03-07T08:00:00.000Z', filesPendingRequeuedAt: NOW.toISOString(),
      lastRunAt: NOW.toISOString(), lastRunId: 'first', version: 1,
    });
    expect(report).toEqual({
      runId: 'first', queued: 3, failed: 0,
      demarches: [{ demarche: D, updated: 3, deleted: 0, pendingDeleted: 0, filesPending: 0, queued: 3, complete: true, cursor: 'saved', updatedSince: '2026-03-07T08:00:00.000Z' }],
    });
  });

  it('second run with nothing changed: lists from the cursor (inclusive) and so queues the boundary dossier only', async () => {
    await run();
    queue.messages = [];
    const report = await run();
    expect(ds.calls.at(-2)).toMatchObject({ operation: 'updated', since: '2026-03-07T08:00:00.000Z' });
    expect(queue.numbers()).toEqual([3]);
    expect(report.demarches[0]).toMatchObject({ updated: 1, cursor: 'saved', updatedSince: '2026-03-07T08:00:00.000Z' });
    expect(cursors.cursors.get(D)).toMatchObject({ updatedSince: '2026-03-07T08:00:00.000Z', version: 2 });
  });

  it('picks up a new version and moves the cursor to it', async () => {
    await run();
    ds.upsert(D, 2, '2026-03-09T16:30:00+01:00');
    queue.messages = [];
    await run();
    expect(queue.numbers()).toEqual([3, 2]);
    expect(cursors.cursors.get(D)?.updatedSince).toBe('2026-03-09T15:30:00.000Z');
  });

  it('lists from the cursor minus the overlap, but saves the latest date seen (no drift backwards)', async () => {
    await run();
    ds.upsert(D, 4, '2026-03-07T08:59:30+01:00'); // committed late, just before the cursor
    queue.messages = [];
    await run({ overlapMs: 60_000 });
    expect(ds.calls.at(-2)?.since).toBe('2026-03-07T07:59:00.000Z');
    expect(queue.numbers()).toEqual([4, 3]);
    expect(cursors.cursors.get(D)?.updatedSince).toBe('2026-03-07T08:00:00.000Z');
  });

  it('follows DS page cursors to the end', async () => {
    for (let n = 10; n < 260; n++) ds.upsert(D, n, new Date(Date.UTC(2026, 2, 8, 0, n)).toISOString());
    const report = await run({ pageSize: 100 });
    expect(ds.calls.filter((c) => c.operation === 'updated').map((c) => c.after)).toEqual([undefined, 'offset:100', 'offset:200']);
    expect(report.demarches[0]!.updated).toBe(253);
    expect(new Set(queue.numbers()).size).toBe(253);
  });

  it('queues deleted dossiers with dossier_supprime and moves the deletion cursor', async () => {
    ds.remove(D, 2, '2026-03-08T10:00:00+01:00');
    const report = await run();
    expect(queue.messages.filter((m) => m.hint.eventType === 'dossier_supprime')).toEqual([{
      demarcheNumber: D, dossierNumber: 2,
      hint: { source: 'reconcile', eventType: 'dossier_supprime', state: 'en_construction', updatedAt: '2026-03-08T10:00:00+01:00', receivedAt: NOW.toISOString() },
    }]);
    expect(report.demarches[0]).toMatchObject({ updated: 2, deleted: 1, queued: 3 });
    expect(cursors.cursors.get(D)?.deletedSince).toBe('2026-03-08T09:00:00.000Z');
    await run();
    expect(ds.calls.at(-1)).toMatchObject({ operation: 'deleted', since: '2026-03-08T09:00:00.000Z' });
  });

  it('queues dossiers in DS\'s bin (pendingDeletedDossiers) with dossier_supprime, every page, from the shared deletion cursor', async () => {
    ds.putInBin(D, 1, '2026-03-08T11:00:00+01:00');
    ds.putInBin(D, 3, '2026-03-08T12:00:00+01:00');
    ds.putInBin(D, 4, '2026-03-08T13:00:00+01:00');
    ds.remove(D, 2, '2026-03-08T10:00:00+01:00');
    const report = await run();
    expect(queue.messages.filter((m) => m.hint.eventType === 'dossier_supprime').map((m) => m.dossierNumber)).toEqual([2, 1, 3, 4]);
    expect(queue.messages.find((m) => m.dossierNumber === 4)).toEqual({
      demarcheNumber: D, dossierNumber: 4,
      hint: { source: 'reconcile', eventType: 'dossier_supprime', state: 'en_construction', updatedAt: '2026-03-08T13:00:00+01:00', receivedAt: NOW.toISOString() },
    });
    expect(report.demarches[0]).toMatchObject({ deleted: 4, pendingDeleted: 3, complete: true });
    expect(ds.pendingCalls.map((c) => c.after)).toEqual([undefined, '2']);
    // The later of both listings: neither one's entries are skipped by the next run.
    expect(cursors.cursors.get(D)?.deletedSince).toBe('2026-03-08T12:00:00.000Z');
    await run();
    expect(ds.pendingCalls.at(-1)).toMatchObject({ since: '2026-03-08T12:00:00.000Z' });
    expect(ds.calls.at(-1)).toMatchObject({ operation: 'deleted', since: '2026-03-08T12:00:00.000Z' });
  });

  it('does not move the deletion cursor when the bin listing fails', async () => {
    ds.remove(D, 2, '2026-03-08T10:00:00+01:00');
    ds.listPendingDeletedDossiers = async () => {
      throw new Error('DS down');
    };
    const report = await run();
    expect(report.demarches[0]!.error?.message).toBe('DS down');
    expect(cursors.cursors.get(D)?.deletedSince).toBeUndefined();
  });

  describe('files_pending dossiers', () => {
    const policy = { minAgeMs: HOUR, intervalMs: HOUR };

    it('queues the old enough ones of the démarche once per interval, never twice in a run', async () => {
      dossiers.add(50, D, 'files_pending', '2026-03-10T09:00:00.000Z'); // 3 h old: stuck
      dossiers.add(51, D, 'files_pending', '2026-03-10T11:30:00.000Z'); // 30 min old: its own message still retries
      dossiers.add(52, OTHER, 'files_pending', '2026-03-10T09:00:00.000Z'); // another démarche
      dossiers.add(3, D, 'files_pending', '2026-03-10T09:00:00.000Z'); // listed as changed anyway
      dossiers.add(53, D, 'stored', '2026-03-10T09:00:00.000Z');
      const first = await run({ filesPending: policy });
      expect(queue.numbers()).toEqual([1, 2, 3, 50]);
      expect(queue.messages.at(-1)).toEqual({
        demarcheNumber: D, dossierNumber: 50,
        hint: { source: 'reconcile', state: 'en_construction', updatedAt: '2026-03-05T14:22:11+01:00', receivedAt: NOW.toISOString() },
      });
      expect(first.demarches[0]).toMatchObject({ filesPending: 1, queued: 4 });

      now = new Date(NOW.getTime() + 10 * 60_000);
      queue.messages = [];
      expect((await run({ filesPending: policy })).demarches[0]!.filesPending).toBe(0);
      expect(queue.numbers()).toEqual([3]);

      now = new Date(NOW.getTime() + HOUR);
      queue.messages = [];
      expect((await run({ filesPending: policy })).demarches[0]!.filesPending).toBe(2);
      expect(queue.numbers()).toEqual([3, 50, 51]);
    });

    it('reads the status index once per run, whatever the number of démarches', async () => {
      dossiers.add(52, OTHER, 'files_pending', '2026-03-10T09:00:00.000Z');
      const report = await run({ demarches: [D, OTHER], filesPending: policy });
      expect(dossiers.queries).toBe(1);
      expect(report.demarches.map((r) => r.filesPending)).toEqual([0, 1]);
      expect(queue.messages.find((m) => m.dossierNumber === 52)?.demarcheNumber).toBe(OTHER);
    });
  });

  it('never writes an empty cursor: a démarche with no dossier keeps listing everything', async () => {
    ds.dossiers = [];
    await run({ runId: 'empty' });
    expect(cursors.cursors.get(D)).toEqual({
      demarcheNumber: D, filesPendingRequeuedAt: NOW.toISOString(), lastRunAt: NOW.toISOString(), lastRunId: 'empty', version: 1,
    });
    ds.upsert(D, 1, '2026-03-05T14:22:11+01:00');
    await run();
    expect(ds.calls.at(-2)).toMatchObject({ operation: 'updated', since: undefined });
    expect(queue.numbers()).toEqual([1]);
  });

  it('does not move the cursor when queuing fails, and still reconciles the other démarches', async () => {
    await run();
    ds.upsert(D, 2, '2026-03-09T16:30:00+01:00');
    ds.upsert(OTHER, 70, '2026-03-09T16:30:00+01:00');
    queue.failAfterCalls = 0;
    const failing = await run({ demarches: [D] });
    expect(failing.failed).toBe(1);
    expect(failing.demarches[0]).toMatchObject({ cursor: 'not_saved', complete: false, error: expect.objectContaining({ name: 'IngestQueueError' }) });
    expect(cursors.cursors.get(D)).toMatchObject({ updatedSince: '2026-03-07T08:00:00.000Z', version: 1 });

    queue = new MemoryQueue();
    queue.failAfterCalls = 1; // the first démarche's changed dossiers go, its deletions listing has nothing, the other démarche fails
    ds.dossiers = ds.dossiers.filter((d) => d.demarche === OTHER || d.number === 2);
    const mixed = await run({ demarches: [D, OTHER] });
    expect(mixed.demarches.map((r) => [r.demarche, r.cursor, r.error?.name])).toEqual([[D, 'saved', undefined], [OTHER, 'not_saved', 'IngestQueueError']]);
    expect(cursors.cursors.get(D)?.updatedSince).toBe('2026-03-09T15:30:00.000Z');
    expect(cursors.cursors.has(OTHER)).toBe(false);
  });

  it('does not move the cursor when DS fails', async () => {
    ds.beforeCall = (call) => {
      if (call.operation === 'deleted') throw Object.assign(new Error('DS GraphQL getDeletedDossiers: no usable answer'), { name: 'DsUnavailableError' });
    };
    const report = await run();
    expect(report.demarches[0]).toMatchObject({ cursor: 'not_saved', error: expect.objectContaining({ name: 'DsUnavailableError' }) });
    expect(queue.numbers()).toEqual([1, 2, 3]); // queued twice next time: harmless
    expect(cursors.cursors.size).toBe(0);
  });

  describe('two runs at once', () => {
    it('the one losing the race merges: the cursor takes the later date and never goes back', async () => {
      await run();
      ds.upsert(D, 2, '2026-03-09T16:30:00+01:00');
      // Another run saves a later date between this run's read and its write.
      cursors.beforeSave = () => {
        cursors.beforeSave = undefined;
        const current = cursors.cursors.get(D)!;
        cursors.cursors.set(D, { ...current, updatedSince: '2026-03-09T18:00:00.000Z', lastRunId: 'other', version: current.version + 1 });
      };
      const report = await run();
      expect(report.demarches[0]!.cursor).toBe('already_there');
      expect(cursors.cursors.get(D)).toMatchObject({ updatedSince: '2026-03-09T18:00:00.000Z', lastRunId: 'other', version: 2 });
    });

    it('the one losing with a later date writes it on the new version', async () => {
      await run();
      ds.upsert(D, 2, '2026-03-09T16:30:00+01:00');
      cursors.beforeSave = () => {
        cursors.beforeSave = undefined;
        const current = cursors.cursors.get(D)!;
        cursors.cursors.set(D, { ...current, deletedSince: '2026-03-08T00:00:00.000Z', lastRunId: 'other', version: current.version + 1 });
      };
      const report = await run({ runId: 'late' });
      expect(report.demarches[0]!.cursor).toBe('merged');
      expect(cursors.cursors.get(D)).toMatchObject({
        updatedSince: '2026-03-09T15:30:00.000Z', deletedSince: '2026-03-08T00:00:00.000Z', lastRunId: 'late', version: 3,
      });
    });

    it('both from an empty store: one creates the cursor, the other finds it there', async () => {
      const [a, b] = await Promise.all([run({ runId: 'a' }), run({ runId: 'b' })]);
      expect([a.demarches[0]!.cursor, b.demarches[0]!.cursor].sort()).toEqual(['already_there', 'saved']);
      expect(cursors.cursors.get(D)).toMatchObject({ updatedSince: '2026-03-07T08:00:00.000Z', version: 1 });
      expect(queue.numbers().sort()).toEqual([1, 1, 2, 2, 3, 3]);
    });

    it('gives up after repeated conflicts, with the messages queued', async () => {
      cursors.beforeSave = () => {
        const current = cursors.cursors.get(D);
        cursors.cursors.set(D, { demarcheNumber: D, lastRunAt: NOW.toISOString(), lastRunId: 'x', version: (current?.version ?? 0) + 1 });
      };
      const report = await run({ maxCursorWrites: 3 });
      expect(report.demarches[0]!.error).toBeInstanceOf(CursorContentionError);
      expect(cursors.conflicts).toBe(3);
      expect(queue.numbers()).toEqual([1, 2, 3]);
    });
  });

  it('stops paging when told (time running out), keeping what it queued in the cursor', async () => {
    for (let n = 10; n < 260; n++) ds.upsert(D, n, new Date(Date.UTC(2026, 2, 8, 0, n)).toISOString());
    ds.remove(D, 1, '2026-03-08T10:00:00+01:00');
    let pages = 0;
    ds.beforeCall = (call) => { if (call.operation === 'updated') pages++; };
    const report = await run({ pageSize: 100, shouldStop: () => pages >= 1 });
    expect(report.demarches[0]).toMatchObject({ updated: 100, deleted: 0, complete: false, cursor: 'saved' });
    expect(ds.calls.map((c) => c.operation)).toEqual(['updated']);
    // The 100th dossier in DS's order is the latest queued: the next run goes on from there.
    const hundredth = queue.messages[99]!.hint.updatedAt!;
    expect(cursors.cursors.get(D)).toMatchObject({ updatedSince: new Date(hundredth).toISOString() });
    expect(cursors.cursors.get(D)).not.toHaveProperty('deletedSince');
    expect(cursors.cursors.get(D)).not.toHaveProperty('filesPendingRequeuedAt');

    queue.messages = [];
    const next = await run({ pageSize: 100 });
    expect(next.demarches[0]).toMatchObject({ updated: 153, deleted: 1, complete: true });
  });

  describe('since (catch-up)', () => {
    it('lists from `since`, and moves a cursor it covered', async () => {
      await run();
      ds.upsert(D, 2, '2026-03-09T16:30:00+01:00');
      queue.messages = [];
      await run({ since: '2026-03-01T00:00:00+01:00' });
      expect(ds.calls.at(-2)).toMatchObject({ operation: 'updated', since: '2026-02-28T23:00:00.000Z' });
      expect(ds.calls.at(-1)).toMatchObject({ operation: 'deleted', since: '2026-02-28T23:00:00.000Z' });
      expect(queue.numbers()).toEqual([1, 3, 2]);
      expect(cursors.cursors.get(D)?.updatedSince).toBe('2026-03-09T15:30:00.000Z');
    });

    it('never makes the cursor skip what no run listed', async () => {
      await run();
      ds.upsert(D, 2, '2026-03-08T12:00:00+01:00'); // after the cursor, before `since`: not listed by this run
      ds.upsert(D, 4, '2026-03-09T16:30:00+01:00');
      await run({ since: '2026-03-09T00:00:00+01:00' });
      expect(cursors.cursors.get(D)?.updatedSince).toBe('2026-03-07T08:00:00.000Z');
      queue.messages = [];
      await run();
      expect(queue.numbers()).toEqual([3, 2, 4]);
    });

    it('on a démarche with no cursor yet, does not create a position', async () => {
      await run({ since: '2026-03-06T00:00:00+01:00' });
      expect(queue.numbers()).toEqual([2, 3]);
      expect(cursors.cursors.get(D)).not.toHaveProperty('updatedSince');
    });
  });
});

describe('listChangedDossiers', () => {
  const answer = (pages: { endCursor: string | null; hasNextPage: boolean; numbers: number[] }[]): DsDossierListing & { afters: (string | undefined)[] } => {
    const afters: (string | undefined)[] = [];
    return {
      afters,
      async listUpdatedDossiers(input) {
        afters.push(input.after);
        const page = pages[afters.length - 1]!;
        return {
          nodes: page.numbers.map((number) => ({ number, dateDerniereModification: '2026-03-05T14:22:11+01:00', state: 'en_construction' })),
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
        };
      },
      async listDeletedDossiers() {
        throw new Error('not used');
      },
    };
  };

  it('asks for DS\'s maximum page and stops on a page without a cursor, whatever hasNextPage says', async () => {
    const ds = answer([{ endCursor: 'c1', hasNextPage: true, numbers: [1] }, { endCursor: null, hasNextPage: true, numbers: [] }]);
    const seen: { numbers: number[]; last: boolean }[] = [];
    for await (const page of listChangedDossiers(ds, { demarche: D, pageSize: 500 })) seen.push({ numbers: page.nodes.map((n) => n.number), last: page.last });
    expect(seen).toEqual([{ numbers: [1], last: false }, { numbers: [], last: true }]);
    expect(ds.afters).toEqual([undefined, 'c1']);
  });

  it('refuses to loop on a repeated page cursor', async () => {
    const ds = answer([{ endCursor: 'c1', hasNextPage: true, numbers: [1] }, { endCursor: 'c1', hasNextPage: true, numbers: [1] }]);
    await expect(async () => {
      for await (const _page of listChangedDossiers(ds, { demarche: D })) { /* drain */ }
    }).rejects.toThrow(DsPaginationError);
  });

  it('feeds `sync` the same hints with its own source', () => {
    expect(changedDossierMessages(D, [{ number: 9, dateDerniereModification: '2026-03-05T14:22:11+01:00', state: 'accepte' }], 'sync', NOW)).toEqual([
      { demarcheNumber: D, dossierNumber: 9, hint: { source: 'sync', state: 'accepte', updatedAt: '2026-03-05T14:22:11+01:00', receivedAt: NOW.toISOString() } },
    ]);
  });
});
