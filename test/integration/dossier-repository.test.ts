import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttachmentRecord, DossierRecord, DossierStatus } from '#core/dossier';
import { DynamoDossierRepository, InvalidCursorError, type DossierPage } from '#adapters/dynamodb/dossier-repository';
import { ENGINES, type RunningEngine } from '../helpers/dynamodb-engines.ts';

const V1 = Date.parse('2026-03-02T10:00:00+01:00');
const V2 = Date.parse('2026-03-05T16:30:00+01:00');
const V0 = Date.parse('2026-02-20T09:00:00+01:00');

/** Each test gets its own dossier numbers and rounds, so tests sharing a table stay independent. */
let lastNumber = 20_000;
const newNumber = () => ++lastNumber;
let lastRound = 0;
const newRound = () => `2026-r${++lastRound}`;

function dossier(overrides: Partial<DossierRecord> = {}): DossierRecord {
  const number = overrides.number ?? newNumber();
  const modifiedAtMs = overrides.modifiedAtMs ?? V1;
  return {
    number,
    demarcheNumber: 42,
    state: 'en_construction',
    status: 'stored',
    dateDerniereModification: new Date(modifiedAtMs).toISOString(),
    modifiedAtMs,
    dateDepot: '2026-03-01T09:00:00+01:00',
    round: '2026-03',
    project: { title: `Projet ${number}`, eigPostsRequested: 2, theme: 'santé' },
    issues: [],
    attachments: [{
      champId: 'Q2hhbXAtMQ==', label: 'Fiche projet', filename: 'fiche.pdf', contentType: 'application/pdf',
      byteSize: 1234, checksum: 'AAAAAAAAAAAAAAAAAAAAAA==', virusScan: 'safe', key: `attachments/${number}/1/00/fiche.pdf`,
    }],
    filesComplete: true,
    snapshotKey: `dossiers/${number}/${modifiedAtMs}.json`,
    ingestedAt: '2026-03-05T16:31:00.000Z',
    ...overrides,
  };
}

function attachment(dossierNumber: number, index: number, overrides: Partial<AttachmentRecord> = {}): AttachmentRecord {
  return {
    dossierNumber,
    champId: 'Q2hhbXAtMg==',
    label: 'Annexe',
    filename: `annexe-${index}.pdf`,
    contentType: 'application/pdf',
    byteSize: 100 + index,
    checksum: Buffer.from(`checksum-${index}`).toString('base64'),
    virusScan: 'safe',
    key: `attachments/${dossierNumber}/2/${index.toString(16).padStart(4, '0')}/annexe-${index}.pdf`,
    status: 'stored',
    updatedAt: '2026-03-05T16:31:00.000Z',
    ...overrides,
  };
}

/** Follows the cursor until the last page. */
async function allPages(list: (cursor?: string) => Promise<DossierPage>): Promise<{ numbers: number[]; pages: number }> {
  const numbers: number[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await list(cursor);
    numbers.push(...page.items.map((record) => record.number));
    cursor = page.cursor;
    pages++;
  } while (cursor);
  return { numbers, pages };
}

describe.each(ENGINES)('DynamoDossierRepository on $name', ({ start }) => {
  let engine: RunningEngine;
  let repository: DynamoDossierRepository;

  beforeAll(async () => {
    engine = await start();
    // Small query pages, so listAttachments must follow LastEvaluatedKey to see everything.
    repository = new DynamoDossierRepository({ client: engine.client, tableName: engine.tableName, queryPageSize: 3 });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  describe('saveIfNewer', () => {
    it('writes a dossier seen for the first time, and get returns it without storage attributes', async () => {
      const record = dossier();
      expect(await repository.saveIfNewer(record)).toEqual({ written: true });
      expect(await repository.get(record.number)).toEqual(record);
    });

    it('stores the item under the documented keys', async () => {
      const record = dossier({ number: 1234567, round: newRound(), status: 'files_pending' });
      await repository.saveIfNewer(record);
      const { Item } = await engine.client.send(new GetCommand({
        TableName: engine.tableName, Key: { pk: 'DOSSIER#1234567', sk: '#DOSSIER' },
      }));
      expect(Item).toMatchObject({
        gsi1pk: `DOSSIERS#ROUND#${record.round}`, gsi1sk: 'files_pending#0001234567',
        gsi2pk: 'DOSSIERS#STATUS#files_pending', gsi2sk: '0001234567', type: 'dossier',
      });
    });

    it('replaces the stored version with a newer one', async () => {
      const v1 = dossier({ modifiedAtMs: V1, state: 'en_construction' });
      await repository.saveIfNewer(v1);
      const v2 = dossier({ number: v1.number, modifiedAtMs: V2, state: 'en_instruction' });
      expect(await repository.saveIfNewer(v2)).toEqual({ written: true });
      expect(await repository.get(v1.number)).toEqual(v2);
    });

    it('refuses an older version and returns the newer one it keeps', async () => {
      const v2 = dossier({ modifiedAtMs: V2, state: 'en_instruction' });
      await repository.saveIfNewer(v2);
      const v1 = dossier({ number: v2.number, modifiedAtMs: V1, state: 'en_construction' });
      expect(await repository.saveIfNewer(v1)).toEqual({ written: false, current: v2 });
      expect(await repository.get(v2.number)).toEqual(v2);
    });

    it('refuses the same version again', async () => {
      const first = dossier({ filesComplete: false, status: 'files_pending' });
      await repository.saveIfNewer(first);
      const again = { ...first, ingestedAt: '2026-03-06T00:00:00.000Z' };
      expect(await repository.saveIfNewer(again)).toEqual({ written: false, current: first });
    });

    it.each(['not_found', 'deleted'] as const)('replaces a %s dossier with any version, even an older one', async (status) => {
      const v2 = dossier({ modifiedAtMs: V2 });
      await repository.saveIfNewer(v2);
      await repository.markMissing(v2.number, 42, status, new Date());
      const older = dossier({ number: v2.number, modifiedAtMs: V0 });
      expect(await repository.saveIfNewer(older)).toEqual({ written: true });
      expect(await repository.get(v2.number)).toEqual(older);
    });
  });

  it('get answers undefined for an unknown dossier', async () => {
    expect(await repository.get(newNumber())).toBeUndefined();
  });

  describe('completeFiles', () => {
    it('completes the stored version and moves it in both indexes', async () => {
      const round = newRound();
      const record = dossier({ round, status: 'files_pending', filesComplete: false, modifiedAtMs: V1 });
      await repository.saveIfNewer(record);
      expect(await repository.completeFiles(record.number, V1, 'stored')).toBe(true);
      expect(await repository.get(record.number)).toEqual({ ...record, status: 'stored', filesComplete: true });
      expect((await repository.listByRound(round, { status: 'stored' })).items.map((r) => r.number)).toEqual([record.number]);
      expect((await repository.listByRound(round, { status: 'files_pending' })).items).toEqual([]);
    });

    it('returns false and changes nothing once a newer version is stored', async () => {
      const v1 = dossier({ status: 'files_pending', filesComplete: false, modifiedAtMs: V1 });
      await repository.saveIfNewer(v1);
      const v2 = dossier({ number: v1.number, status: 'files_pending', filesComplete: false, modifiedAtMs: V2 });
      await repository.saveIfNewer(v2);
      expect(await repository.completeFiles(v1.number, V1, 'stored')).toBe(false);
      expect(await repository.get(v1.number)).toEqual(v2);
    });

    it('returns false for a dossier marked missing meanwhile, which stays missing', async () => {
      const record = dossier({ status: 'files_pending', filesComplete: false });
      await repository.saveIfNewer(record);
      await repository.markMissing(record.number, 42, 'deleted', new Date());
      expect(await repository.completeFiles(record.number, record.modifiedAtMs, 'stored')).toBe(false);
      expect((await repository.get(record.number))?.status).toBe('deleted');
    });

    it('returns false for an unknown dossier and creates nothing', async () => {
      const number = newNumber();
      expect(await repository.completeFiles(number, V1, 'stored')).toBe(false);
      expect(await repository.get(number)).toBeUndefined();
    });
  });

  describe('markMissing', () => {
    it('changes only the status (and its index keys) of a known dossier', async () => {
      const round = newRound();
      const record = dossier({ round, status: 'files_pending', filesComplete: false });
      await repository.saveIfNewer(record);
      await repository.markMissing(record.number, 42, 'deleted', new Date('2026-04-01T00:00:00Z'));
      expect(await repository.get(record.number)).toEqual({ ...record, status: 'deleted' });
      expect((await repository.listByRound(round, { status: 'deleted' })).items.map((r) => r.number)).toEqual([record.number]);
      expect((await repository.listByRound(round, { status: 'files_pending' })).items).toEqual([]);
    });

    it('creates a minimal record for a dossier never seen', async () => {
      const number = newNumber();
      await repository.markMissing(number, 42, 'not_found', new Date('2026-04-01T00:00:00Z'));
      expect(await repository.get(number)).toEqual({
        number, demarcheNumber: 42, state: null, status: 'not_found', dateDerniereModification: null, modifiedAtMs: 0,
        dateDepot: null, round: 'unassigned', project: null, issues: [], attachments: [], filesComplete: true,
        snapshotKey: null, ingestedAt: '2026-04-01T00:00:00.000Z',
      });
    });

    // Issue 7: anyone holding the legacy token can name any dossier number. The record of a
    // dossier never stored holds no personal data and expires (TTL `expiresAt`, 30 days); a
    // dossier we had stored keeps its data and never expires. dynalite ignores TTL: the
    // attribute is what is asserted.
    const rawItem = async (number: number) => (await engine.client.send(new GetCommand({
      TableName: engine.tableName, Key: { pk: `DOSSIER#${number}`, sk: '#DOSSIER' }, ConsistentRead: true,
    }))).Item!;

    it.each(['not_found', 'deleted'] as const)('gives the %s record of a dossier never stored an expiry 30 days on, and no personal data', async (status) => {
      const number = newNumber();
      const at = new Date('2026-04-01T00:00:00Z');
      await repository.markMissing(number, 42, status, at);
      const item = await rawItem(number);
      expect(item.expiresAt).toBe(Math.floor(at.getTime() / 1000) + 30 * 24 * 60 * 60);
      expect(item).toMatchObject({ state: null, project: null, issues: [], attachments: [], snapshotKey: null, dateDepot: null });
      expect(await repository.get(number)).not.toHaveProperty('expiresAt');
      expect((await repository.listByRound('unassigned', { status })).items.map((r) => r.number)).toContain(number);
    });

    it('keeps the data of a dossier we had stored that DS stops returning, with no expiry', async () => {
      const record = dossier();
      await repository.saveIfNewer(record);
      await repository.markMissing(record.number, 42, 'not_found', new Date());
      expect(await repository.get(record.number)).toEqual({ ...record, status: 'not_found' });
      expect(await rawItem(record.number)).not.toHaveProperty('expiresAt');
    });

    it('drops the expiry once DS returns the dossier', async () => {
      const number = newNumber();
      await repository.markMissing(number, 42, 'not_found', new Date());
      await repository.saveIfNewer(dossier({ number }));
      expect(await rawItem(number)).not.toHaveProperty('expiresAt');
    });

    it('is idempotent, and a later save of any version replaces the minimal record', async () => {
      const number = newNumber();
      await repository.markMissing(number, 42, 'not_found', new Date());
      await repository.markMissing(number, 42, 'not_found', new Date());
      const found = dossier({ number });
      expect(await repository.saveIfNewer(found)).toEqual({ written: true });
      expect(await repository.get(number)).toEqual(found);
    });
  });

  describe('attachments', () => {
    it('lists every file of a dossier over several query pages, and only its files', async () => {
      const record = dossier();
      await repository.saveIfNewer(record);
      const files = Array.from({ length: 8 }, (_, index) => attachment(record.number, index));
      for (const file of files) await repository.putAttachment(file);
      await repository.putAttachment(attachment(record.number + 1, 99));
      const listed = await repository.listAttachments(record.number);
      expect(listed).toHaveLength(8);
      expect(listed).toEqual(expect.arrayContaining(files));
      expect(listed[0]).not.toHaveProperty('pk');
    });

    it('keeps optional fields when present and leaves them out when absent', async () => {
      const number = newNumber();
      const failed = attachment(number, 1, { status: 'fetch_failed', lastError: 'HTTP 403', rowId: 'row-1' });
      await repository.putAttachment(failed);
      await repository.putAttachment(attachment(number, 2));
      const listed = await repository.listAttachments(number);
      expect(listed).toContainEqual(failed);
      expect(listed.find((file) => file.filename === 'annexe-2.pdf')).not.toHaveProperty('lastError');
    });

    it('never downgrades a stored file, but lets a stored write replace anything', async () => {
      const number = newNumber();
      const stored = attachment(number, 1, { status: 'stored' });
      await repository.putAttachment(stored);
      await repository.putAttachment({ ...stored, status: 'scan_pending', updatedAt: '2026-03-06T00:00:00.000Z' });
      await repository.putAttachment({ ...stored, status: 'fetch_failed', lastError: 'HTTP 500' });
      expect(await repository.listAttachments(number)).toEqual([stored]);

      const other = attachment(number, 2, { status: 'scan_pending' });
      await repository.putAttachment(other);
      await repository.putAttachment({ ...other, status: 'fetch_failed', lastError: 'TimeoutError' });
      expect((await repository.listAttachments(number)).find((f) => f.key === other.key)?.status).toBe('fetch_failed');
      await repository.putAttachment({ ...other, status: 'stored' });
      expect((await repository.listAttachments(number)).find((f) => f.key === other.key)).toEqual({ ...other, status: 'stored' });
    });

    it('answers an empty list for a dossier without files', async () => {
      expect(await repository.listAttachments(newNumber())).toEqual([]);
    });
  });

  describe('listByRound', () => {
    const statuses: DossierStatus[] = ['stored', 'invalid', 'files_pending', 'stored', 'invalid', 'stored', 'files_pending'];

    async function seedRound() {
      const round = newRound();
      const records = statuses.map((status) => dossier({ round, status }));
      for (const record of records) await repository.saveIfNewer(record);
      await repository.saveIfNewer(dossier({ round: newRound(), status: 'stored' }));
      return { round, records };
    }
    /** The index order: status, then number. */
    const indexOrder = (records: DossierRecord[]) =>
      [...records].sort((a, b) => a.status.localeCompare(b.status) || a.number - b.number).map((r) => r.number);

    it('lists the whole round, ordered by status then number, as plain records', async () => {
      const { round, records } = await seedRound();
      const page = await repository.listByRound(round);
      expect(page.items.map((r) => r.number)).toEqual(indexOrder(records));
      expect(page.items).toEqual(expect.arrayContaining(records));
      expect(page.cursor).toBeUndefined();
    });

    it('filters by status', async () => {
      const { round, records } = await seedRound();
      const page = await repository.listByRound(round, { status: 'stored' });
      expect(page.items.map((r) => r.number)).toEqual(indexOrder(records.filter((r) => r.status === 'stored')));
      expect((await repository.listByRound(round, { status: 'deleted' })).items).toEqual([]);
    });

    it('pages with an opaque cursor, without and with a status', async () => {
      const { round, records } = await seedRound();
      const all = await allPages((cursor) => repository.listByRound(round, { limit: 2, ...(cursor ? { cursor } : {}) }));
      expect(all.numbers).toEqual(indexOrder(records));
      expect(all.pages).toBeGreaterThanOrEqual(4);

      const stored = await allPages((cursor) => repository.listByRound(round, { status: 'stored', limit: 1, ...(cursor ? { cursor } : {}) }));
      expect(stored.numbers).toEqual(indexOrder(records.filter((r) => r.status === 'stored')));
      expect(stored.pages).toBeGreaterThanOrEqual(3);
    });

    it('rejects a cursor it did not make', async () => {
      await expect(repository.listByRound(newRound(), { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
      await expect(repository.listByRound(newRound(), { limit: 0 })).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe('listByStatus', () => {
    it('lists one status across rounds, by number, page by page', async () => {
      // An empty table: the status index spans every test's dossiers otherwise.
      const tableName = await engine.createTable();
      const isolated = new DynamoDossierRepository({ client: engine.client, tableName });
      const invalid = [newNumber(), newNumber(), newNumber()].map((number, index) =>
        dossier({ number, status: 'invalid', round: index === 0 ? '2026-01' : '2026-03' }));
      for (const record of invalid) await isolated.saveIfNewer(record);
      await isolated.saveIfNewer(dossier({ status: 'stored' }));
      await isolated.markMissing(newNumber(), 42, 'not_found', new Date());

      const page = await isolated.listByStatus('invalid');
      expect(page.items).toEqual(invalid);
      const paged = await allPages((cursor) => isolated.listByStatus('invalid', { limit: 2, ...(cursor ? { cursor } : {}) }));
      expect(paged.numbers).toEqual(invalid.map((r) => r.number));
      expect(paged.pages).toBeGreaterThanOrEqual(2);
      expect((await isolated.listByStatus('not_found')).items).toHaveLength(1);
      expect((await isolated.listByStatus('deleted')).items).toEqual([]);
    });
  });
});
