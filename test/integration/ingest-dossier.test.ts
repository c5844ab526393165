import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { eligibilityOf } from '#core/eligibility';
import type { RoundRecord } from '#core/rounds/model';
import { ELIGIBILITY_RULES } from '#shared/eligibility-config';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';
import { LocalSqs } from '../../infra/local/sqs-server.ts';
import { startDynalite } from '../helpers/dynamodb-engines.ts';
import { lambdaContext, withEnv } from '../helpers/lambda.ts';
import { sampleDossier } from '../helpers/samples.ts';
import { startS3rver } from '../helpers/s3-engine.ts';
import { expectingStreamingWarning } from '../helpers/sdk-warnings.ts';

// ingest-dossier end to end on real engines: the DS simulator (GraphQL + files), dynalite, s3rver.
const TOKEN = 'simulated-ds-token';
let ds: DsSimulator;
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let s3: Awaited<ReturnType<typeof startS3rver>>;
let repository: DynamoDossierRepository;
let handler: (event: SQSEvent, context: unknown) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let restoreEnv: () => void;
let messageCount = 0;
let sqsDir: string;
let sqs: LocalSqs;
/** The local SQS's clock is this far ahead of real time: redelivery delays pass without waiting. */
let sqsClockOffsetMs = 0;

function sqsEvent(...dossierNumbers: (number | string)[]): SQSEvent {
  return {
    Records: dossierNumbers.map((n) => ({
      messageId: `m-${++messageCount}`,
      receiptHandle: 'r',
      body: typeof n === 'string' ? n : JSON.stringify({
        demarcheNumber: 98765, dossierNumber: n, hint: { source: 'webhook', receivedAt: new Date().toISOString() },
      }),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-3:123456789012:ingest', awsRegion: 'eu-west-3',
    })),
  };
}

async function storedMd5(key: string): Promise<string> {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const hash = createHash('md5');
  for await (const chunk of object.Body as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('base64');
}

function version(number: number, modifiedAt: string, title: string) {
  const dossier = sampleDossier(number);
  dossier.dateDerniereModification = modifiedAt;
  dossier.champs[0].value = title;
  return dossier;
}

beforeAll(async () => {
  [dynamo, s3, ds] = await Promise.all([
    startDynalite(), startS3rver({ bucket: 'attachments' }), new DsSimulator({ token: TOKEN, virusScanMs: 3_600_000 }).start(),
  ]);
  repository = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  sqsDir = await mkdtemp(join(tmpdir(), 'ingest-sqs-'));
  sqs = new LocalSqs({ dataDir: sqsDir, clock: { now: () => new Date(Date.now() + sqsClockOffsetMs) } });
  const { endpoint: sqsEndpoint } = await sqs.start();
  restoreEnv = withEnv({
    DS_DEMARCHE_NUMBER: '98765',
    DS_API_URL: ds.graphqlUrl, DS_API_TOKEN: TOKEN, TABLE_NAME: dynamo.tableName, BUCKET_NAME: s3.bucket,
    // The handler delays failed records on this SQS; the events below with a made-up receipt handle are refused there, and logged.
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', POWERTOOLS_LOG_LEVEL: process.env.DEBUG_LOG ? 'INFO' : 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/ingest-dossier.ts')).handler as unknown as typeof handler;
});
afterAll(async () => {
  restoreEnv();
  await Promise.all([ds.stop(), s3.stop(), dynamo.stop(), sqs.stop()]);
  await rm(sqsDir, { recursive: true, force: true });
});

describe('ingest-dossier on real engines', () => {
  it('converges on DS\'s latest version: the same webhook five times, then an older one after a newer one', async () => {
    ds.upsert(version(23456790, '2026-03-06T10:02:00+01:00', 'Version 1'));
    expect(await handler(sqsEvent(23456790, 23456790, 23456790, 23456790, 23456790), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(ds.calls.get('getDossier')).toBe(5);
    expect((await repository.get(23456790))!.project!.title).toBe('Version 1');

    ds.upsert(version(23456790, '2026-03-08T09:00:00+01:00', 'Version 2'));
    await handler(sqsEvent(23456790), lambdaContext());
    // A late reader (or a lagging DS replica) hands the older version back: it must not win.
    ds.upsert(version(23456790, '2026-03-06T10:02:00+01:00', 'Version 1'));
    expect(await handler(sqsEvent(23456790), lambdaContext())).toEqual({ batchItemFailures: [] });

    const stored = await repository.get(23456790);
    expect(stored).toMatchObject({ dateDerniereModification: '2026-03-08T09:00:00+01:00', status: 'stored', project: { title: 'Version 2' } });
    const inRound = await repository.listByRound('2026-03');
    expect(inRound.items.filter((d) => d.number === 23456790)).toHaveLength(1);
  });

  it('archives every file in S3 with the MD5 DS advertises', async () => {
    const stored = (await repository.get(23456790))!;
    const files = await repository.listAttachments(23456790);
    expect(files.map((f) => f.status)).toEqual(['stored', 'stored']);
    for (const attachment of stored.attachments) {
      expect(await storedMd5(attachment.key)).toBe(attachment.checksum);
    }
  });

  it('keeps a dossier files_pending and asks SQS to redeliver while a virus scan is pending', async () => {
    ds.upsert(sampleDossier(23456789)); // annexe-donnees.xlsx: scan pending
    const event = sqsEvent(23456789);
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
    expect(await repository.get(23456789)).toMatchObject({ status: 'files_pending', filesComplete: false });

    ds.clearVirusScans();
    expect(await handler(sqsEvent(23456789), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await repository.get(23456789)).toMatchObject({ status: 'stored', filesComplete: true });
    expect((await repository.listAttachments(23456789)).every((f) => f.status === 'stored')).toBe(true);
  });

  it('records an expired file URL and fetches it again with a fresh URL later', async () => {
    ds.upsert(version(23456790, '2026-03-09T09:00:00+01:00', 'Version 3 with a new file'));
    const dossier = version(23456790, '2026-03-09T09:00:00+01:00', 'Version 3 with a new file');
    dossier.champs.find((c: any) => c.files?.length).files[0].filename = 'fiche-defi-v3.pdf';
    dossier.champs.find((c: any) => c.files?.length).files[0].byteSize = '4096';
    ds.upsert(dossier);
    ds.setFileUrlTtl(-1000);
    const failed = await handler(sqsEvent(23456790), lambdaContext());
    expect(failed.batchItemFailures).toHaveLength(1);
    expect((await repository.listAttachments(23456790)).find((f) => f.filename === 'fiche-defi-v3.pdf')).toMatchObject({ status: 'fetch_failed', lastError: 'url_expired' });

    ds.setFileUrlTtl(3_600_000);
    expect(await handler(sqsEvent(23456790), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await repository.get(23456790)).toMatchObject({ status: 'stored', project: { title: 'Version 3 with a new file' } });
  });

  it('stores an invalid dossier with its reasons and its files', async () => {
    ds.upsert(sampleDossier(23456791));
    expect(await handler(sqsEvent(23456791), lambdaContext())).toEqual({ batchItemFailures: [] });
    const stored = (await repository.get(23456791))!;
    expect(stored.status).toBe('invalid');
    expect(stored.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['project.commitments.0', 'project.eigPostsRequested']));
    expect((await repository.listAttachments(23456791)).map((f) => f.status)).toEqual(['stored', 'stored']);
  });

  it('records a dossier DS does not return as not_found, without failing the message', async () => {
    expect(await handler(sqsEvent(99999999), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await repository.get(99999999)).toMatchObject({ status: 'not_found' });
  });

  it('fails only the unreadable message of a batch (it will end in the DLQ, not be dropped)', async () => {
    const event = sqsEvent('{"not":"a hint"}', 99999998);
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
  });
});

describe('ingest-dossier on real engines: profiles, eligibility, late deposits', () => {
  /** A copy of the sample 23456790 under another number, deposited at `dateDepot`. */
  function deposited(number: number, dateDepot: string, modifiedAt: string) {
    const dossier = sampleDossier(23456790);
    dossier.number = number;
    dossier.id = Buffer.from(`Dossier-${number}`).toString('base64');
    dossier.dateDepot = dateDepot;
    dossier.dateDerniereModification = modifiedAt;
    return dossier;
  }

  it('stores the profiles and what the eligibility flag needs; the flag reads the stored project', async () => {
    ds.upsert(sampleDossier(23456791));
    await handler(sqsEvent(23456791), lambdaContext());
    const commune = (await repository.get(23456791))!;
    expect(commune.project).toMatchObject({
      profiles: ['Directeur·rice de produit', 'Data scientist'], betaGouvCommitment: false,
      administration: { demandeurType: 'PersonneMorale', legalFormCode: '7210', legalForm: 'Commune et commune nouvelle' },
    });
    expect(commune.issues).toContainEqual({ path: 'project.profiles', message: expect.stringContaining('"Data scientist"') });
    expect(eligibilityOf(commune.project, ELIGIBILITY_RULES)).toMatchObject({ flag: 'ineligible', reasonCode: 'legal_form_ineligible' });
    const agency = (await repository.get(23456790))!;
    expect(agency.project).toMatchObject({ profiles: ['Directeur·rice technique'], administration: { legalFormCode: '7410' } });
    expect(eligibilityOf(agency.project, ELIGIBILITY_RULES)).toMatchObject({ flag: 'to_check' });
  });

  it('moves a dossier deposited after its round\'s submissions closed to the next round, once and for good', async () => {
    const rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
    await rounds.createRound({
      id: '2026-07', status: 'reviewing', openedAt: '2026-07-01T06:00:00Z', submissionsClosedAt: '2026-07-02T06:00:00Z',
      reviewDeadline: '2026-07-20T10:00:00Z', selectionClosedAt: null, capacityPosts: 6, reviewersPerDossier: 2, criteria: [], version: 2,
    } as RoundRecord);
    ds.upsert(deposited(23456792, '2026-07-03T10:00:00+02:00', '2026-07-03T10:00:01+02:00'));
    // Twice in one batch and once more: the same dossier lands in the same round.
    expect(await handler(sqsEvent(23456792, 23456792), lambdaContext())).toEqual({ batchItemFailures: [] });
    await handler(sqsEvent(23456792), lambdaContext());
    expect(await repository.get(23456792)).toMatchObject({ round: '2026-09', roundMovedFrom: '2026-07', status: 'stored' });
    expect((await repository.listByRound('2026-09')).items.map((d) => d.number)).toEqual([23456792]);
    expect((await repository.listByRound('2026-07')).items).toEqual([]);

    // A later version keeps it there.
    ds.upsert(deposited(23456792, '2026-07-03T10:00:00+02:00', '2026-07-10T09:00:00+02:00'));
    await handler(sqsEvent(23456792), lambdaContext());
    expect(await repository.get(23456792)).toMatchObject({
      round: '2026-09', roundMovedFrom: '2026-07', dateDerniereModification: '2026-07-10T09:00:00+02:00',
    });
  });

  it('leaves a dossier in its round while the round is open', async () => {
    ds.upsert(deposited(23456793, '2026-05-04T10:00:00+02:00', '2026-05-04T10:00:01+02:00'));
    await handler(sqsEvent(23456793), lambdaContext());
    const stored = (await repository.get(23456793))!;
    expect(stored.round).toBe('2026-05');
    expect(stored).not.toHaveProperty('roundMovedFrom');
  });
});

describe('ingest-dossier on real engines: issue 7, reliability', () => {
  it('does not store a dossier DS returns for a démarche this deployment does not serve, and acknowledges the message', async () => {
    ds.seed(fileURLToPath(new URL('../fixtures/foreign-demarche/', import.meta.url))); // 23456795, démarche 11111
    const { logger } = await import('#shared/powertools');
    const warn = vi.spyOn(logger, 'warn');
    // The message claims the served démarche, as a webhook sent with our token would.
    expect(await handler(sqsEvent(23456795), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await repository.get(23456795)).toBeUndefined();
    expect(await repository.listAttachments(23456795)).toEqual([]);
    const objects = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    expect((objects.Contents ?? []).filter((o) => o.Key!.includes('/23456795/'))).toEqual([]);
    // Logged with ids and numbers only: no title, no name, no field value.
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('not served'), {
      dossierNumber: 23456795, demarcheNumber: 11111, claimedDemarcheNumber: 98765, messageId: expect.any(String),
    });
    warn.mockRestore();
  });

  it.each(['corrupt_download', 'cut_download'] as const)('%s: fetches the file again at once with a fresh URL, and the message succeeds', async (fault) => {
    const number = fault === 'corrupt_download' ? 23456796 : 23456797;
    const dossier = version(23456790, '2026-03-10T09:00:00+01:00', `Fault ${fault}`);
    dossier.number = number;
    dossier.id = Buffer.from(`Dossier-${number}`).toString('base64');
    ds.upsert(dossier);
    const reads = ds.calls.get('getDossier') ?? 0;
    ds.injectNext(fault, 1);
    // When the bad download fails while its upload is under way, the SDK warns that a stream cannot be retried: expected here.
    expect(await expectingStreamingWarning(() => handler(sqsEvent(number), lambdaContext()))).toEqual({ batchItemFailures: [] });
    expect(ds.calls.get('getDossier')! - reads).toBe(2); // the first read, and one for fresh URLs
    expect(await repository.get(number)).toMatchObject({ status: 'stored', filesComplete: true });
    const stored = (await repository.get(number))!;
    for (const attachment of stored.attachments) expect(await storedMd5(attachment.key)).toBe(attachment.checksum);
  });

  it('waits out a 429 with RateLimit-Reset from DS', async () => {
    ds.injectNext('rate_limited', 1);
    const started = Date.now();
    expect(await handler(sqsEvent(23456790), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // RateLimit-Reset: 1
  });

  it('hides a failed record 1, then 5 minutes by its receive count, through ChangeMessageVisibility on the queue', async () => {
    const queue = await sqs.createQueue('ingest-delays', { visibilityTimeoutSeconds: 1800 });
    const client = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const pending = sampleDossier(23456789);
    pending.number = 23456798;
    pending.id = Buffer.from('Dossier-23456798').toString('base64');
    pending.champs.forEach((champ: any) => champ.files?.forEach((file: any) => { file.filename = `798-${file.filename}`; }));
    ds.upsert(pending); // a file whose virus scan stays pending (virusScanMs: 1 hour)
    await client.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: JSON.stringify({
      demarcheNumber: 98765, dossierNumber: 23456798, hint: { source: 'webhook', receivedAt: new Date().toISOString() },
    }) }));
    const receiveAndHandle = async () => {
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MessageSystemAttributeNames: ['All'] }));
      const event: SQSEvent = { Records: Messages.map((m) => ({
        messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!, attributes: m.Attributes as any, messageAttributes: {},
        md5OfBody: m.MD5OfBody!, eventSource: 'aws:sqs', eventSourceARN: queue.queueArn, awsRegion: 'eu-west-3',
      })) };
      expect(event.Records).toHaveLength(1);
      return handler(event, lambdaContext());
    };
    const hidden = async () => Number((await client.send(new GetQueueAttributesCommand({
      QueueUrl: queue.queueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
    }))).Attributes!.ApproximateNumberOfMessagesNotVisible);

    expect((await receiveAndHandle()).batchItemFailures).toHaveLength(1);
    sqsClockOffsetMs += 59_000;
    expect(await hidden()).toBe(1);
    sqsClockOffsetMs += 2_000; // 61 s after the first failure: back, not 30 minutes later
    expect((await receiveAndHandle()).batchItemFailures).toHaveLength(1);
    sqsClockOffsetMs += 299_000;
    expect(await hidden()).toBe(1);
    sqsClockOffsetMs += 2_000;
    expect(await hidden()).toBe(0);
    client.destroy();
  });
});
