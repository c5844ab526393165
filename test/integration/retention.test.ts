import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import type { RoundRecord } from '#core/rounds/model';
import { PURGED_DECISION_REASON } from '#core/retention/policy';
import { purgeExpiredData, type PurgeExpiredDataDependencies } from '#core/retention/purge-expired-data';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoPurgeRepository } from '#adapters/dynamodb/purge-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { S3PurgeStore } from '#adapters/s3/purge-store';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { startS3rver, type S3Engine } from '../helpers/s3-engine.ts';

/*
 * The purge on real engines (dynalite, s3rver): a closed round past its retention loses its
 * dossiers, files, reviews and the rest, keeps its round record, reduced decisions and audit; a
 * round within retention is untouched; a second run does nothing; a bounded run leaves progress in
 * the audit and the next one finishes; a dossier deleted on DS is purged to a tombstone that a late
 * webhook does not bring back.
 */

let dynamo: RunningEngine;
let s3: S3Engine;
let tableName: string;
let dossiers: DynamoDossierRepository;
let rounds: DynamoRoundRepository;
let deps: PurgeExpiredDataDependencies;
let now = new Date('2028-04-01T06:00:00.000Z');

beforeAll(async () => {
  [dynamo, s3] = await Promise.all([startDynalite(), startS3rver({ bucket: 'ds-selection-retention' })]);
});
afterAll(async () => {
  await Promise.allSettled([dynamo?.stop(), s3?.stop()]);
});

beforeEach(async () => {
  // A fresh table per test; the bucket is shared, so each test uses its own dossier numbers.
  tableName = await dynamo.createTable();
  dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName });
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName });
  deps = {
    repository: new DynamoPurgeRepository({ client: dynamo.client, tableName, queryPageSize: 2 }),
    objects: new S3PurgeStore({ client: s3.client, bucket: s3.bucket }),
    clock: { now: () => now },
    policy: { closedRoundRetentionMonths: 24, deletedDossierTombstoneDays: 180 },
  };
  now = new Date('2028-04-01T06:00:00.000Z');
});

function dossier(number: number, roundId: string, overrides: Partial<DossierRecord> = {}): DossierRecord {
  const modified = `${roundId}-05T14:22:11.000Z`;
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: modified,
    modifiedAtMs: Date.parse(modified), dateDepot: `${roundId}-02T09:00:00.000Z`, round: roundId,
    project: { title: `Projet ${number}`, contactEmails: [`porteur${number}@mairie.fr`], team: [{ name: 'Alice Martin', role: 'mentor', email: 'alice@mairie.fr' }] },
    issues: [], attachments: [], filesComplete: true, snapshotKey: `dossiers/${number}/${Date.parse(modified)}.json`, ingestedAt: modified, ...overrides,
  };
}

function closedRound(id: string, selectionClosedAt: string): RoundRecord {
  return {
    id, status: 'closed', openedAt: `${id}-01T08:00:00.000Z`, submissionsClosedAt: `${id}-01T08:00:00.000Z`, reviewDeadline: `${id}-22T08:00:00.000Z`,
    selectionClosedAt, capacityPosts: 5, reviewersPerDossier: 2, criteria: [{ id: 'impact', label: 'Impact', weight: 1 }], version: 3,
  } as RoundRecord;
}

async function put(key: string, body = 'bytes'): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

async function keys(prefix: string): Promise<string[]> {
  const { Contents = [] } = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return Contents.map((entry) => entry.Key!).sort();
}

/** A dossier with two files, a snapshot, reviews, an exclusion and a committee word, a decision, a notification. */
async function seedDossierInRound(record: DossierRecord): Promise<void> {
  await dossiers.saveIfNewer(record);
  for (const index of [1, 2]) {
    const key = `attachments/${record.number}/${index}/abcd/piece-${index}.pdf`;
    await put(key);
    await dossiers.putAttachment({
      champId: String(index), label: `Pièce ${index}`, filename: `piece-${index}.pdf`, contentType: 'application/pdf', byteSize: 5, checksum: 'x',
      virusScan: 'safe', key, dossierNumber: record.number, status: 'stored', updatedAt: record.ingestedAt,
    });
  }
  await put(record.snapshotKey!, '{"champs":[]}');
  await rounds.putAssignments([{ roundId: record.round, dossierNumber: record.number, reviewerId: 'r1', assignedAt: record.ingestedAt }]);
  await rounds.putReview({
    roundId: record.round, dossierNumber: record.number, reviewerId: 'r1', scores: { impact: 4 }, comment: 'Équipe de Mme Martin solide',
    conflictOfInterest: false, status: 'submitted', version: 1, submittedAt: record.ingestedAt,
  });
  await rounds.putExclusion({ roundId: record.round, dossierNumber: record.number, excluded: false, reason: 'Réintégré après appel de M. Durand', actor: 'staff:jdupont', at: record.ingestedAt });
  await rounds.putCommitteeDecision({ roundId: record.round, dossierNumber: record.number, outcome: 'selected', reason: 'Soutien du comité', actor: 'staff:jdupont', at: record.ingestedAt });
  await rounds.putDecisions([{
    roundId: record.round, dossierNumber: record.number, outcome: 'selected', rank: 1, score: 4, reviewCount: 1, eigPostsRequested: 2,
    reasonCode: 'committee_decision', reason: 'Soutien du comité', proposedOutcome: 'selected', committeeReason: 'Soutien du comité', committeeActor: 'staff:jdupont',
  }]);
}

async function seedRound(id: string, closedAt: string, numbers: number[]): Promise<void> {
  await rounds.createRound(closedRound(id, closedAt));
  for (const number of numbers) await seedDossierInRound(dossier(number, id));
  await rounds.claimNotification({ roundId: id, reviewerId: 'r1', key: 'assignment', template: 'assignment', status: 'sending', updatedAt: closedAt }, new Date(0));
  await rounds.markNotificationSent({ roundId: id, reviewerId: 'r1', key: 'assignment', template: 'assignment', status: 'sending', updatedAt: closedAt }, 'ses-1');
  await put(`reports/${id}/selection.json`, '{"decisions":[]}');
  await put(`reports/${id}/selection.csv`, 'titre\n');
}

describe('purge of closed rounds past their retention', () => {
  it('purges the expired round (dossiers, files, reviews, ...) and keeps its record, reduced decisions and audit; the recent round is untouched', async () => {
    await seedRound('2026-03', '2026-03-22T08:00:00.000Z', [5101, 5102, 5103]);
    await seedRound('2027-05', '2027-05-22T07:00:00.000Z', [5201]);

    const report = await purgeExpiredData(deps, { scope: 'all', maxDossiers: 100 });
    expect(report.complete).toBe(true);
    expect(report.rounds).toEqual([{
      roundId: '2026-03', complete: true, dossiers: 3, objects: 3 * 3 + 2, fileRecords: 6,
      records: { review: 3, assignment: 3, notification: 1, exclusion: 3, committee: 3 }, decisionsReduced: 3,
    }]);

    // Gone: dossier items and their files, S3 objects, personal round records.
    for (const number of [5101, 5102, 5103]) {
      expect(await dossiers.get(number)).toBeUndefined();
      expect(await dossiers.listAttachments(number)).toEqual([]);
      expect(await keys(`attachments/${number}/`)).toEqual([]);
      expect(await keys(`dossiers/${number}/`)).toEqual([]);
    }
    expect(await keys('reports/2026-03/')).toEqual([]);
    expect(await rounds.listReviews('2026-03')).toEqual([]);
    expect(await rounds.listAssignments('2026-03')).toEqual([]);
    expect(await rounds.listNotifications('2026-03')).toEqual([]);
    expect(await rounds.listExclusions('2026-03')).toEqual([]);
    expect(await rounds.listCommitteeDecisions('2026-03')).toEqual([]);
    // Kept: the round, the decisions as numbers, the audit (with a record of the purge, counts only).
    expect(await rounds.getRound('2026-03')).toMatchObject({ id: '2026-03', status: 'closed', capacityPosts: 5, purgedAt: now.toISOString() });
    const decisions = await rounds.listDecisions('2026-03');
    expect(decisions.map((d) => [d.dossierNumber, d.outcome, d.rank, d.score, d.reasonCode, d.reason])).toEqual(
      [5101, 5102, 5103].map((n) => [n, 'selected', 1, 4, 'committee_decision', PURGED_DECISION_REASON]),
    );
    expect(JSON.stringify(decisions)).not.toMatch(/jdupont|comité/);
    const audit = await rounds.listAudit('2026-03');
    expect(audit).toEqual([{
      roundId: '2026-03', step: 'purge-expired-data', at: now.toISOString(), actor: 'schedule',
      summary: { complete: true, retentionMonths: 24, dossiers: 3, objects: 11, fileRecords: 6, reviews: 3, assignments: 3, notifications: 1, exclusions: 3, committees: 3, decisionsReduced: 3 },
    }]);

    // The round closed 10 months ago: untouched.
    expect(await dossiers.get(5201)).toMatchObject({ project: { title: 'Projet 5201' } });
    expect(await keys('attachments/5201/')).toHaveLength(2);
    expect(await rounds.listReviews('2027-05')).toHaveLength(1);
    expect(await keys('reports/2027-05/')).toHaveLength(2);
    expect(await rounds.listAudit('2027-05')).toEqual([]);

    // A second run (the next day) does nothing and audits nothing.
    now = new Date('2028-04-02T06:00:00.000Z');
    const again = await purgeExpiredData(deps, { scope: 'all', maxDossiers: 100 });
    expect(again).toMatchObject({ rounds: [], deletedDossiers: 0, complete: true });
    expect(await rounds.listAudit('2026-03')).toHaveLength(1);
  });

  it('is bounded: a run stops at its budget, audits its progress, and the next run finishes (a crash halfway is the same)', async () => {
    await seedRound('2026-01', '2026-01-22T08:00:00.000Z', [5301, 5302, 5303]);
    const first = await purgeExpiredData(deps, { scope: 'all', maxDossiers: 2 });
    expect(first.complete).toBe(false);
    expect(first.rounds).toEqual([expect.objectContaining({ roundId: '2026-01', complete: false, dossiers: 2 })]);
    expect(await rounds.listReviews('2026-01')).toHaveLength(3); // round records wait for the last dossier
    expect((await rounds.getRound('2026-01'))).not.toHaveProperty('purgedAt');

    now = new Date('2028-04-02T06:00:00.000Z');
    const second = await purgeExpiredData(deps, { scope: 'all', maxDossiers: 2 });
    expect(second.rounds).toEqual([expect.objectContaining({ roundId: '2026-01', complete: true, dossiers: 1 })]);
    expect(await rounds.listReviews('2026-01')).toEqual([]);
    expect((await rounds.listAudit('2026-01')).map((record) => [record.summary.complete, record.summary.dossiers])).toEqual([[false, 2], [true, 1]]);
    for (const number of [5301, 5302, 5303]) expect(await keys(`attachments/${number}/`)).toEqual([]);
  });
});

describe('purge of dossiers deleted on DS', () => {
  it('turns the dossier into a tombstone (no personal data, an expiry) and removes its files and reviews; a late webhook does not bring anything back', async () => {
    await rounds.createRound({ ...closedRound('2028-03', '2028-03-22T08:00:00.000Z'), status: 'reviewing', selectionClosedAt: null });
    await seedDossierInRound(dossier(5401, '2028-03'));
    await seedDossierInRound(dossier(5402, '2028-03'));
    // Ingestion saw DS's deletion (reconciliation queued it): the dossier is marked deleted, its data still here.
    await dossiers.markMissing(5401, 98765, 'deleted', now);

    const report = await purgeExpiredData(deps, { scope: 'deleted-dossiers', maxDossiers: 100 });
    expect(report).toMatchObject({ deletedDossiers: 1, deletedDossiersSkipped: 0, rounds: [], complete: true });
    expect(report.deletedCounts).toEqual({ objects: 3, fileRecords: 2, reviews: 1, staffRecords: 2, decisionsReduced: 1 });

    const tombstone = await dossiers.get(5401);
    expect(tombstone).toMatchObject({ number: 5401, status: 'deleted', round: '2028-03', project: null, attachments: [], snapshotKey: null, purgedAt: now.toISOString() });
    expect(JSON.stringify(tombstone)).not.toMatch(/Alice|mairie|Projet/);
    expect(await dossiers.listAttachments(5401)).toEqual([]);
    expect(await keys('attachments/5401/')).toEqual([]);
    expect(await keys('dossiers/5401/')).toEqual([]);
    expect((await rounds.listReviews('2028-03')).map((r) => r.dossierNumber)).toEqual([5402]);
    // The round's listings still see it, as deleted (its closing counts it withdrawn).
    expect((await dossiers.listByRound('2028-03', { status: 'deleted' })).items.map((d) => d.number)).toEqual([5401]);
    // The expiry is on the item (DynamoDB's TTL removes the tombstone).
    const { Item } = await dynamo.client.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: tableName, Key: { pk: 'DOSSIER#5401', sk: '#DOSSIER' } }));
    expect(Item?.expiresAt).toBe(Math.floor(now.getTime() / 1000) + 180 * 86_400);
    const audit = await rounds.listAudit('2028-03');
    expect(audit).toEqual([expect.objectContaining({ step: 'purge-deleted-dossiers', summary: expect.objectContaining({ dossierNumbers: [5401], reviews: 1 }) })]);

    // A late webhook: DS still answers not found, ingestion marks it again; the tombstone stays a tombstone.
    await dossiers.markMissing(5401, 98765, 'deleted', new Date(now.getTime() + 60_000));
    expect(await dossiers.get(5401)).toMatchObject({ project: null, purgedAt: now.toISOString() });
    // The next sweep has nothing to do.
    const again = await purgeExpiredData(deps, { scope: 'deleted-dossiers', maxDossiers: 100 });
    expect(again.deletedDossiers).toBe(0);
    expect(await rounds.listAudit('2028-03')).toHaveLength(1);
    // The other dossier of the round is untouched.
    expect(await keys('attachments/5402/')).toHaveLength(2);
  });

  it('a dossier DS restored meanwhile (a new version stored) is not turned into a tombstone', async () => {
    const record = dossier(5501, '2028-03');
    await dossiers.saveIfNewer(record);
    await dossiers.markMissing(5501, 98765, 'deleted', now);
    // The purge's conditional write loses against the restored version.
    const repository = deps.repository;
    const racing: PurgeExpiredDataDependencies = {
      ...deps,
      repository: Object.assign(Object.create(Object.getPrototypeOf(repository)), repository, {
        async deleteFileRecords(number: number, dryRun: boolean) {
          await dossiers.saveIfNewer({ ...record, modifiedAtMs: record.modifiedAtMs + 1000, dateDerniereModification: '2028-04-01T05:00:00.000Z' });
          return repository.deleteFileRecords(number, dryRun);
        },
      }),
    };
    const report = await purgeExpiredData(racing, { scope: 'deleted-dossiers', maxDossiers: 10 });
    expect(report).toMatchObject({ deletedDossiers: 0, deletedDossiersSkipped: 1 });
    expect(await dossiers.get(5501)).toMatchObject({ status: 'stored', project: { title: 'Projet 5501' } });
  });
});
