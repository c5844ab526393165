import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoSyncCursorRepository } from '#adapters/dynamodb/sync-cursor-repository';
import type { IngestMessage } from '#schemas/ingest-message';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';
import { startDynalite } from '../helpers/dynamodb-engines.ts';
import { lambdaContext, withEnv } from '../helpers/lambda.ts';
import { readJson, sampleDossier } from '../helpers/samples.ts';

// reconcile-dossiers, the real handler module, against the DS simulator (seeded with the three
// sample dossiers of events/dossiers) and dynalite; SQS is mocked to capture what is queued.
const TOKEN = 'simulated-ds-token';
const DEMARCHE = 98765;
const sqs = mockClient(SQSClient);
let ds: DsSimulator;
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let cursors: DynamoSyncCursorRepository;
let dossiers: DynamoDossierRepository;
let handler: (event: unknown, context: Context) => Promise<any>;
let restoreEnv: () => void;
let runs = 0;

const context = (): Context => ({ ...lambdaContext('reconcile-dossiers'), awsRequestId: `run-${++runs}`, getRemainingTimeInMillis: () => 300_000 });
const queued = (): IngestMessage[] =>
  sqs.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries!.map((entry) => JSON.parse(entry.MessageBody!)));
const numbers = () => queued().map((message) => message.dossierNumber);

function filesPendingRecord(number: number, ingestedAt: Date): DossierRecord {
  return {
    number, demarcheNumber: DEMARCHE, state: 'en_construction', status: 'files_pending', dateDerniereModification: '2026-03-05T14:22:11+01:00',
    modifiedAtMs: Date.parse('2026-03-05T14:22:11+01:00'), dateDepot: '2026-03-05T14:20:00+01:00', round: '2026-03', project: null,
    issues: [], attachments: [], filesComplete: false, snapshotKey: null, ingestedAt: ingestedAt.toISOString(),
  };
}

beforeAll(async () => {
  [dynamo, ds] = await Promise.all([
    startDynalite(),
    new DsSimulator({ token: TOKEN, seedDir: new URL('../../events/dossiers', import.meta.url).pathname }).start(),
  ]);
  cursors = new DynamoSyncCursorRepository({ client: dynamo.client, tableName: dynamo.tableName });
  dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  restoreEnv = withEnv({
    DS_API_URL: ds.graphqlUrl, DS_API_TOKEN: TOKEN, DS_DEMARCHE_NUMBER: String(DEMARCHE), TABLE_NAME: dynamo.tableName,
    INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest',
    // Stuck files_pending dossiers (stored more than an hour ago) are queued again at every run here.
    RECONCILE_FILES_PENDING_INTERVAL_MINUTES: '0',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/reconcile-dossiers.ts')).handler as unknown as typeof handler;
});
afterAll(async () => {
  restoreEnv();
  sqs.restore();
  await Promise.all([ds.stop(), dynamo.stop()]);
});
beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [],
  }));
});

// The tests run in order: each starts from the cursor the previous one left.
describe('reconcile-dossiers on the DS simulator and dynalite', () => {
  it('first run: queues the three sample dossiers and saves the cursor at the latest dateDerniereModification', async () => {
    const summary = await handler(readJson('events/scheduler-reconcile-dossiers.json'), context());
    expect(numbers()).toEqual([23456789, 23456790, 23456791]);
    expect(queued()[0]).toEqual({
      demarcheNumber: DEMARCHE, dossierNumber: 23456789,
      hint: { source: 'reconcile', state: 'en_construction', updatedAt: '2026-03-05T14:22:11+01:00', receivedAt: expect.any(String) },
    });
    expect(summary).toEqual({
      queued: 3, failed: 0,
      demarches: [{ demarche: DEMARCHE, updated: 3, deleted: 0, pendingDeleted: 0, filesPending: 0, queued: 3, complete: true, cursor: 'saved', updatedSince: '2026-03-07T08:00:00.000Z' }],
    });
    expect(await cursors.get(DEMARCHE)).toMatchObject({ updatedSince: '2026-03-07T08:00:00.000Z', lastRunId: `run-${runs}`, version: 1 });
  });

  it('second run with nothing changed: re-queues only 23456791, the dossier at the cursor (updatedSince is inclusive)', async () => {
    const summary = await handler({}, context());
    expect(queued()).toEqual([{
      demarcheNumber: DEMARCHE, dossierNumber: 23456791,
      hint: { source: 'reconcile', state: 'en_construction', updatedAt: '2026-03-07T09:00:00+01:00', receivedAt: expect.any(String) },
    }]);
    expect(summary.demarches[0]).toMatchObject({ updated: 1, queued: 1, updatedSince: '2026-03-07T08:00:00.000Z' });
    expect(await cursors.get(DEMARCHE)).toMatchObject({ updatedSince: '2026-03-07T08:00:00.000Z', version: 2 });
  });

  it('picks up a new version published on DS, and moves the cursor to it', async () => {
    const dossier = sampleDossier(23456790);
    dossier.dateDerniereModification = '2026-03-09T10:00:00+01:00';
    ds.upsert(dossier);
    await handler({}, context());
    expect(numbers()).toEqual([23456791, 23456790]);
    expect(queued()[1]!.hint.updatedAt).toBe('2026-03-09T10:00:00+01:00');
    expect((await cursors.get(DEMARCHE))?.updatedSince).toBe('2026-03-09T09:00:00.000Z');
  });

  it('re-queues a dossier stuck in files_pending, not one stored minutes ago', async () => {
    await dossiers.saveIfNewer(filesPendingRecord(23456789, new Date(Date.now() - 2 * 3_600_000)));
    await dossiers.saveIfNewer(filesPendingRecord(23456788, new Date()));
    const summary = await handler({}, context());
    expect(numbers()).toEqual([23456790, 23456789]);
    expect(queued()[1]).toEqual({
      demarcheNumber: DEMARCHE, dossierNumber: 23456789,
      hint: { source: 'reconcile', state: 'en_construction', updatedAt: '2026-03-05T14:22:11+01:00', receivedAt: expect.any(String) },
    });
    expect(summary.demarches[0]).toMatchObject({ updated: 1, filesPending: 1, queued: 2 });
  });

  it('queues a dossier deleted on DS with dossier_supprime, and moves the deletion cursor', async () => {
    const before = Date.now();
    ds.delete(23456791);
    const summary = await handler({}, context());
    const deleted = queued().filter((message) => message.hint.eventType === 'dossier_supprime');
    expect(deleted).toEqual([{
      demarcheNumber: DEMARCHE, dossierNumber: 23456791,
      hint: { source: 'reconcile', eventType: 'dossier_supprime', state: 'en_construction', updatedAt: expect.any(String), receivedAt: expect.any(String) },
    }]);
    expect(summary.demarches[0]).toMatchObject({ deleted: 1 });
    const cursor = await cursors.get(DEMARCHE);
    expect(Date.parse(cursor!.deletedSince!)).toBeGreaterThanOrEqual(before - 1000);

    sqs.resetHistory();
    await handler({}, context());
    // Listed again (deletedSince is inclusive too), but never as a changed dossier.
    expect(numbers().filter((n) => n === 23456791)).toHaveLength(1);
  });

  it('two runs at once: both queue, the cursor ends at the right place, one version step per successful write', async () => {
    const dossier = sampleDossier(23456790);
    dossier.dateDerniereModification = '2026-03-11T08:00:00+01:00';
    ds.upsert(dossier);
    const before = (await cursors.get(DEMARCHE))!;
    const [a, b] = await Promise.all([handler({}, context()), handler({}, context())]);
    expect([a.failed, b.failed]).toEqual([0, 0]);
    const outcomes = [a.demarches[0].cursor, b.demarches[0].cursor].sort();
    expect([['already_there', 'saved'], ['merged', 'saved']]).toContainEqual(outcomes);
    const after = (await cursors.get(DEMARCHE))!;
    expect(after.updatedSince).toBe('2026-03-11T07:00:00.000Z');
    expect(after.deletedSince).toBe(before.deletedSince);
    expect(after.version - before.version).toBe(outcomes[0] === 'merged' ? 2 : 1);
    expect(numbers().filter((n) => n === 23456790)).toHaveLength(2);
  });

  it('takes `since` to list again from an earlier instant, without moving the cursor back', async () => {
    const summary = await handler({ since: '2026-03-01T00:00:00+01:00' }, context());
    // Both dossiers still on DS, listed from `since` (23456789, files_pending, is not queued a second time)...
    expect(queued().filter((m) => !m.hint.eventType).map((m) => m.dossierNumber)).toEqual([23456789, 23456790]);
    // ...and the deletion since then.
    expect(queued().filter((m) => m.hint.eventType === 'dossier_supprime').map((m) => m.dossierNumber)).toEqual([23456791]);
    expect(summary.demarches[0].updatedSince).toBe('2026-03-11T07:00:00.000Z');
  });

  it('refuses an event it does not understand, queuing nothing', async () => {
    await expect(handler({ since: 'yesterday' }, context())).rejects.toThrow(/since must be an ISO 8601 instant/);
    await expect(handler({ sinse: '2026-03-01T00:00:00Z' }, context())).rejects.toThrow(/Unrecognized key/);
    expect(queued()).toEqual([]);
  });
});
