import { beforeEach, describe, expect, it } from 'vitest';
import { FileFetchError } from '#core/errors';
import { ingestDossier, mapWithConcurrency, type IngestDependencies } from '#core/ingest-dossier';
import type { IngestMessage } from '#schemas/ingest-message';
import { MemoryDossiers, MemoryDs, MemoryFiles } from '../helpers/in-memory-ports.ts';
import { sampleDossier, sampleMapping } from '../helpers/samples.ts';

const message = (dossierNumber: number, eventType?: string): IngestMessage => ({
  demarcheNumber: 98765, dossierNumber, hint: { source: 'webhook-v2', receivedAt: '2026-03-05T13:22:11.000Z', ...(eventType ? { eventType } : {}) },
});

/** The fixture dossier with every file's virus scan done. */
function scannedDossier(number = 23456789) {
  const raw = sampleDossier(number);
  for (const champ of raw.champs) for (const file of champ.files ?? []) file.virusScanResult = 'safe';
  return raw;
}

describe('ingestDossier', () => {
  let ds: MemoryDs, dossiers: MemoryDossiers, files: MemoryFiles, deps: IngestDependencies;
  beforeEach(() => {
    ds = new MemoryDs(new Map([[23456789, scannedDossier()]]));
    dossiers = new MemoryDossiers();
    files = new MemoryFiles();
    deps = { ds, dossiers, files, mapping: sampleMapping(), clock: { now: () => new Date('2026-03-05T13:30:00Z') } };
  });

  it('stores a valid dossier, its snapshot and every file, then marks it stored', async () => {
    const outcome = await ingestDossier(message(23456789), deps);
    expect(outcome).toMatchObject({ status: 'stored', result: 'written', filesStored: 3, filesPending: 0, retryLater: false });
    expect((await dossiers.get(23456789))).toMatchObject({ status: 'stored', filesComplete: true });
    expect(files.snapshots.size).toBe(1);
    expect((await dossiers.listAttachments(23456789)).map((a) => a.status)).toEqual(['stored', 'stored', 'stored']);
  });

  it('does nothing more when the same version comes again', async () => {
    await ingestDossier(message(23456789), deps);
    const again = await ingestDossier(message(23456789), deps);
    expect(again).toMatchObject({ result: 'same_version', status: 'stored', retryLater: false });
    expect(files.uploads).toBe(3);
  });

  it('ignores an older version arriving after a newer one', async () => {
    const newer = scannedDossier();
    newer.dateDerniereModification = '2026-03-06T09:00:00+01:00';
    newer.champs[0].value = 'Titre modifié';
    ds.dossiers.set(23456789, newer);
    await ingestDossier(message(23456789), deps);
    ds.dossiers.set(23456789, scannedDossier());
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ result: 'stale', retryLater: false });
    expect((await dossiers.get(23456789))!.project!.title).toBe('Titre modifié');
  });

  it('asks to retry while a virus scan is pending, then completes', async () => {
    ds.dossiers.set(23456789, sampleDossier(23456789)); // annexe-donnees.xlsx is pending
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ status: 'files_pending', filesStored: 2, filesPending: 1, retryLater: true });
    expect((await dossiers.listAttachments(23456789)).find((a) => a.filename === 'annexe-donnees.xlsx')!.status).toBe('scan_pending');

    ds.dossiers.set(23456789, scannedDossier());
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ status: 'stored', result: 'same_version', filesStored: 1, retryLater: false });
    expect(files.uploads).toBe(3);
  });

  it('records a failed fetch and asks to retry', async () => {
    files.failures.set('fiche-defi.pdf', new FileFetchError('expired', 'url_expired'));
    const outcome = await ingestDossier(message(23456789), deps);
    expect(outcome).toMatchObject({ status: 'files_pending', filesPending: 1, retryLater: true });
    expect((await dossiers.listAttachments(23456789)).find((a) => a.filename === 'fiche-defi.pdf')).toMatchObject({ status: 'fetch_failed', lastError: 'url_expired' });
  });

  it('lets other errors through (S3 misconfigured: the message must be retried, not recorded as a file problem)', async () => {
    files.failures.set('fiche-defi.pdf', new Error('AccessDenied'));
    await expect(ingestDossier(message(23456789), deps)).rejects.toThrow('AccessDenied');
  });

  it('stores an invalid dossier as invalid, with its files', async () => {
    ds.dossiers.set(23456791, sampleDossier(23456791));
    const outcome = await ingestDossier(message(23456791), deps);
    expect(outcome).toMatchObject({ status: 'invalid', filesStored: 2, retryLater: false });
    expect((await dossiers.get(23456791))!.issues.length).toBeGreaterThan(0);
  });

  it('records not_found, and deleted when DS announced a deletion', async () => {
    expect(await ingestDossier(message(1), deps)).toMatchObject({ status: 'not_found', result: 'missing' });
    await ingestDossier(message(23456789), deps);
    ds.dossiers.delete(23456789);
    expect(await ingestDossier(message(23456789, 'dossier_supprime'), deps)).toMatchObject({ status: 'deleted' });
    expect((await dossiers.get(23456789))!.project).not.toBeNull();
  });

  it('converges on the latest version whatever the order of five duplicates and a late old one', async () => {
    const older = scannedDossier();
    const newer = scannedDossier();
    newer.dateDerniereModification = '2026-03-07T10:00:00+01:00';
    for (let i = 0; i < 5; i++) {
      ds.dossiers.set(23456789, i % 2 ? older : newer);
      await ingestDossier(message(23456789), deps);
    }
    ds.dossiers.set(23456789, older);
    await ingestDossier(message(23456789), deps);
    expect((await dossiers.get(23456789))!.dateDerniereModification).toBe('2026-03-07T10:00:00+01:00');
  });
});

describe('mapWithConcurrency', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0, peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
