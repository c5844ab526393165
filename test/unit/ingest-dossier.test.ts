import { beforeEach, describe, expect, it } from 'vitest';
import { FileFetchError } from '#core/errors';
import type { FileToFetch } from '#core/attachments';
import { ingestDossier, mapWithConcurrency, type IngestDependencies, type RoundLookup } from '#core/ingest-dossier';
import { nextRoundId } from '#core/round';
import type { RoundStatus } from '#core/rounds/model';
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

/** Round statuses by id; a round never opened is absent. */
class MemoryRounds implements RoundLookup {
  statuses = new Map<string, RoundStatus>();
  lookups: string[] = [];
  async getRound(id: string) {
    this.lookups.push(id);
    const status = this.statuses.get(id);
    return status ? { status } : undefined;
  }
}

describe('ingestDossier', () => {
  let ds: MemoryDs, dossiers: MemoryDossiers, files: MemoryFiles, rounds: MemoryRounds, deps: IngestDependencies;
  beforeEach(() => {
    ds = new MemoryDs(new Map([[23456789, scannedDossier()]]));
    dossiers = new MemoryDossiers();
    files = new MemoryFiles();
    rounds = new MemoryRounds();
    deps = { ds, dossiers, files, mapping: sampleMapping(), rounds, clock: { now: () => new Date('2026-03-05T13:30:00Z') }, servedDemarches: [98765] };
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

describe('ingestDossier: a deposit after its round\'s submissions closed', () => {
  let ds: MemoryDs, dossiers: MemoryDossiers, rounds: MemoryRounds, deps: IngestDependencies;
  beforeEach(() => {
    ds = new MemoryDs(new Map([[23456789, scannedDossier()]]));
    dossiers = new MemoryDossiers();
    rounds = new MemoryRounds();
    deps = { ds, dossiers, files: new MemoryFiles(), mapping: sampleMapping(), rounds, clock: { now: () => new Date('2026-03-05T13:30:00Z') }, servedDemarches: [98765] };
  });
  const stored = async () => dossiers.get(23456789);
  const newVersion = (at: string) => {
    const raw = scannedDossier();
    raw.dateDerniereModification = at;
    ds.dossiers.set(23456789, raw);
  };

  it('stays in its deposit round while that round is open, or not opened yet', async () => {
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ round: '2026-03' });
    expect(await stored()).not.toHaveProperty('roundMovedFrom');
    rounds.statuses.set('2026-03', 'open');
    newVersion('2026-03-06T09:00:00+01:00');
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ round: '2026-03' });
  });

  it.each(['reviewing', 'closed'] as const)('goes to the next round when its round is %s, and says where it was deposited', async (status) => {
    rounds.statuses.set('2026-03', status);
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ round: '2026-05', roundMovedFrom: '2026-03', dateDepot: '2026-03-05T14:22:10+01:00' });
  });

  it('skips every round whose submissions are closed', async () => {
    rounds.statuses.set('2026-03', 'closed');
    rounds.statuses.set('2026-05', 'reviewing');
    rounds.statuses.set('2026-07', 'open');
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ round: '2026-07', roundMovedFrom: '2026-03' });
  });

  it('is idempotent: ingested twice, and again after a change, it stays where it was moved', async () => {
    rounds.statuses.set('2026-03', 'reviewing');
    await ingestDossier(message(23456789), deps);
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ round: '2026-05', roundMovedFrom: '2026-03' });
    // Even if the deposit round looked open again (a restored backup, a manual fix), a later version stays moved.
    rounds.statuses.delete('2026-03');
    newVersion('2026-03-20T09:00:00+01:00');
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ result: 'written' });
    expect(await stored()).toMatchObject({ round: '2026-05', roundMovedFrom: '2026-03', dateDerniereModification: '2026-03-20T09:00:00+01:00' });
  });

  it('never moves a dossier already placed in its round when that round later closes submissions', async () => {
    await ingestDossier(message(23456789), deps);
    rounds.statuses.set('2026-03', 'reviewing');
    rounds.lookups = [];
    newVersion('2026-03-20T09:00:00+01:00');
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ round: '2026-03', dateDerniereModification: '2026-03-20T09:00:00+01:00' });
    expect(await stored()).not.toHaveProperty('roundMovedFrom');
    expect(rounds.lookups).toEqual([]);
  });

  it('places a dossier known only as not_found like a new one', async () => {
    await dossiers.markMissing(23456789, 98765, 'not_found');
    rounds.statuses.set('2026-03', 'reviewing');
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ status: 'stored', round: '2026-05', roundMovedFrom: '2026-03' });
  });

  it('looks up no round for a dossier without a deposit date', async () => {
    const raw = scannedDossier();
    raw.dateDepot = null;
    ds.dossiers.set(23456789, raw);
    await ingestDossier(message(23456789), deps);
    expect(await stored()).toMatchObject({ round: 'unassigned' });
    expect(rounds.lookups).toEqual([]);
  });
});

describe('nextRoundId', () => {
  it.each([['2026-03', '2026-05'], ['2026-09', '2026-11'], ['2026-11', '2027-01']])('%s → %s', (round, next) => {
    expect(nextRoundId(round)).toBe(next);
  });

  it('refuses what is not a round id', () => {
    expect(() => nextRoundId('unassigned')).toThrow(RangeError);
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

describe('ingestDossier: a dossier of a démarche this deployment does not serve (issue 7)', () => {
  it('stores nothing, whatever démarche the message claims, and does not ask for a retry', async () => {
    const foreign = scannedDossier();
    foreign.demarche = { ...foreign.demarche, number: 11111 };
    const ds = new MemoryDs(new Map([[23456789, foreign]]));
    const dossiers = new MemoryDossiers();
    const files = new MemoryFiles();
    const deps: IngestDependencies = {
      ds, dossiers, files, mapping: sampleMapping(), rounds: new MemoryRounds(), clock: { now: () => new Date('2026-03-05T13:30:00Z') },
      servedDemarches: [98765, 98766],
    };
    // The message claims a served démarche (the webhook's number is only checked against the list).
    const outcome = await ingestDossier(message(23456789), deps);
    expect(outcome).toEqual({
      number: 23456789, status: 'foreign', result: 'refused', demarcheNumber: 11111, filesStored: 0, filesPending: 0, filesRefetched: 0, retryLater: false,
    });
    expect(await dossiers.get(23456789)).toBeUndefined();
    expect(await dossiers.listAttachments(23456789)).toEqual([]);
    expect([files.snapshots.size, files.uploads]).toEqual([0, 0]);
  });

  it('refuses a dossier whose démarche cannot be read', async () => {
    const unreadable = scannedDossier();
    delete unreadable.demarche;
    const dossiers = new MemoryDossiers();
    const deps: IngestDependencies = {
      ds: new MemoryDs(new Map([[23456789, unreadable]])), dossiers, files: new MemoryFiles(), mapping: sampleMapping(),
      rounds: new MemoryRounds(), clock: { now: () => new Date('2026-03-05T13:30:00Z') }, servedDemarches: [98765],
    };
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ result: 'refused', demarcheNumber: 0 });
    expect(await dossiers.get(23456789)).toBeUndefined();
  });
});

/** A DS whose every read hands out new file URLs (`?read=N`), as DS's expiring URLs do. */
class FreshUrlDs extends MemoryDs {
  override async fetchDossier(number: number) {
    const fetched = await super.fetchDossier(number);
    if (fetched.found) {
      for (const champ of (fetched.dossier as any).champs) for (const file of champ.files ?? []) file.url = `${file.url}&read=${this.calls}`;
    }
    return fetched;
  }
}

/** Fails the fetches of `filename` with `reason` as long as `failuresLeft` lasts; records the URLs tried. */
class FlakyFiles extends MemoryFiles {
  urls: string[] = [];
  constructor(private readonly filename: string, private readonly reason: string, public failuresLeft: number) {
    super();
  }
  override async putFile(file: FileToFetch) {
    if (file.filename === this.filename) {
      this.urls.push(file.url);
      if (this.failuresLeft-- > 0) throw new FileFetchError('simulated', this.reason);
    }
    return super.putFile(file);
  }
}

describe('ingestDossier: a failed download is fetched again at once with a fresh URL (issue 7)', () => {
  const setup = (files: MemoryFiles, ds = new FreshUrlDs(new Map([[23456789, scannedDossier()]]))) => {
    const dossiers = new MemoryDossiers();
    const deps: IngestDependencies = {
      ds, dossiers, files, mapping: sampleMapping(), rounds: new MemoryRounds(), clock: { now: () => new Date('2026-03-05T13:30:00Z') },
      servedDemarches: [98765],
    };
    return { ds, dossiers, deps };
  };

  it.each(['checksum_mismatch', 'size_mismatch', 'download_failed', 'url_expired'])('%s: heals in the same ingestion, with the URL of a new read', async (reason) => {
    const files = new FlakyFiles('fiche-defi.pdf', reason, 1);
    const { ds, dossiers, deps } = setup(files);
    const outcome = await ingestDossier(message(23456789), deps);
    expect(outcome).toMatchObject({ status: 'stored', filesStored: 3, filesPending: 0, filesRefetched: 1, retryLater: false });
    expect(ds.calls).toBe(2);
    expect(files.urls.map((url) => url.split('&read=')[1])).toEqual(['1', '2']);
    expect(await dossiers.get(23456789)).toMatchObject({ status: 'stored', filesComplete: true });
    expect((await dossiers.listAttachments(23456789)).find((a) => a.filename === 'fiche-defi.pdf')!.status).toBe('stored');
  });

  it('gives up after two fetches of the file, and the message comes back later', async () => {
    const files = new FlakyFiles('fiche-defi.pdf', 'checksum_mismatch', 99);
    const { ds, dossiers, deps } = setup(files);
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ status: 'files_pending', filesPending: 1, filesRefetched: 1, retryLater: true });
    expect([ds.calls, files.urls.length]).toEqual([2, 2]);
    expect((await dossiers.listAttachments(23456789)).find((a) => a.filename === 'fiche-defi.pdf')).toMatchObject({ status: 'fetch_failed', lastError: 'checksum_mismatch' });
    expect(await ingestDossier(message(23456789), { ...deps, fileAttempts: 3 })).toMatchObject({ filesRefetched: 2, retryLater: true });
  });

  it('does not read DS again for a pending virus scan', async () => {
    const ds = new FreshUrlDs(new Map([[23456789, sampleDossier(23456789)]])); // annexe-donnees.xlsx: scan pending
    const { deps } = setup(new MemoryFiles(), ds);
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ filesPending: 1, filesRefetched: 0, retryLater: true });
    expect(ds.calls).toBe(1);
  });

  it('does not fetch again files of a version DS has replaced meanwhile (the new version has its own message)', async () => {
    const files = new FlakyFiles('fiche-defi.pdf', 'checksum_mismatch', 1);
    const ds = new FreshUrlDs(new Map([[23456789, scannedDossier()]]));
    const { deps } = setup(files, ds);
    const newer = scannedDossier();
    newer.dateDerniereModification = '2026-03-07T10:00:00+01:00';
    const read = ds.fetchDossier.bind(ds);
    ds.fetchDossier = async (number: number) => {
      const fetched = await read(number);
      ds.dossiers.set(23456789, newer); // DS changes right after the first read
      return fetched;
    };
    expect(await ingestDossier(message(23456789), deps)).toMatchObject({ filesPending: 1, filesRefetched: 0, retryLater: true });
    expect(files.urls).toHaveLength(1);
  });
});
