import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient,
  type SendMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AttachmentRecord, AttachmentRef, DossierRecord } from '#core/dossier';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { createSqsClient } from '#adapters/sqs/client';
import type { StackOutputs } from '#infra/stack-outputs';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';
import { LocalSqs } from '../../infra/local/sqs-server.ts';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { S3RVER_CREDENTIALS, startS3rver, type S3Engine } from '../helpers/s3-engine.ts';
import { cliRunner, type CliResult } from '../helpers/cli-runner.ts';

/*
 * The staff CLI against real local engines: dynalite, s3rver, the local SQS and the DS
 * simulator, found the way the CLI finds a running local stack (a stack.json in DATA_DIR).
 * Commands run in-process through `run` (fast, output captured), and a few through
 * bin/ds-selection.js as a child process, as staff run them.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/ds-selection.js');
const REGION = 'eu-west-3';
const DS_TOKEN = 'cli-test-token';
const DEMARCHE = 98765;
const execFileAsync = promisify(execFile);

let dynamo: RunningEngine;
let s3: S3Engine;
let sqsServer: LocalSqs;
let ds: DsSimulator;
let sqs: SQSClient;
let repository: DynamoDossierRepository;
let dataDir: string;
let workDir: string;
let outputs: StackOutputs;

const { cli, cliJson } = cliRunner(() => ({ dataDir, workDir }));
type Result = CliResult;

/** A file archived in S3 as ingestion leaves it: key, bytes, and DS's checksum. */
interface SeededFile { ref: AttachmentRef; content: Buffer }

const base64Md5 = (content: Buffer) => createHash('md5').update(content).digest('base64');

function seededFile(dossierNumber: number, index: number, filename: string, size = 64 * 1024): SeededFile {
  const content = randomBytes(size);
  const checksum = base64Md5(content);
  return {
    content,
    ref: {
      champId: `Q2hhbXAt${index}`, label: `Pièce ${index}`, filename, contentType: 'application/pdf', byteSize: size, checksum,
      virusScan: 'safe', key: `attachments/${dossierNumber}/${index}/${Buffer.from(checksum, 'base64').toString('hex')}/${filename}`,
    },
  };
}

function dossier(number: number, overrides: Partial<DossierRecord>): DossierRecord {
  const modified = '2026-03-05T14:22:11+01:00';
  return {
    number, demarcheNumber: DEMARCHE, state: 'en_construction', status: 'stored', dateDerniereModification: modified,
    modifiedAtMs: Date.parse(modified), dateDepot: '2026-03-02T09:00:00+01:00', round: '2026-03',
    project: { title: `Projet ${number}`, theme: 'santé', eigPostsRequested: 2 }, issues: [], attachments: [],
    filesComplete: true, snapshotKey: `dossiers/${number}/1.json`, ingestedAt: '2026-03-05T16:31:00.000Z', ...overrides,
  };
}

async function seed(record: DossierRecord, files: { file: SeededFile; status: AttachmentRecord['status'] | 'none'; s3Body?: Buffer | 'none' }[]): Promise<void> {
  await repository.saveIfNewer(record);
  for (const { file, status, s3Body } of files) {
    if (status !== 'none') {
      await repository.putAttachment({ ...file.ref, dossierNumber: record.number, status, updatedAt: '2026-03-05T16:31:00.000Z' });
    }
    if (s3Body !== 'none' && status === 'stored') {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: file.ref.key, Body: s3Body ?? file.content }));
    }
  }
}

// 1001: stored, two files of the same name; 1002: files pending (one stored, one scanning, one
// not reached yet); 1003: invalid, another round; 1004: stored, but its S3 object is corrupt.
const files1001 = [seededFile(1001, 1, 'annexe.pdf', 3 * 1024 * 1024 + 17), seededFile(1001, 2, 'annexe.pdf')];
const files1002 = [seededFile(1002, 1, 'fiche.pdf'), seededFile(1002, 2, 'budget.xlsx'), seededFile(1002, 3, 'lettre.pdf')];
const file1004 = seededFile(1004, 1, 'statuts.pdf');

async function writeStackFile(dir: string, pid: number): Promise<void> {
  await writeFile(join(dir, 'stack.json'), JSON.stringify({ ...outputs, local: { ...outputs.local!, dataDir: dir, pid } }, null, 2));
}

async function queueCount(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages);
}

/** Every message on the queue, received once with a long visibility timeout (so each comes once). */
async function drain(queueUrl: string): Promise<any[]> {
  const bodies: any[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }));
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((message) => JSON.parse(message.Body!)));
  }
}

beforeAll(async () => {
  [dataDir, workDir] = await Promise.all([mkdtemp(join(tmpdir(), 'cli-data-')), mkdtemp(join(tmpdir(), 'cli-work-'))]);
  sqsServer = new LocalSqs({ dataDir: join(dataDir, 'sqs'), region: REGION });
  [dynamo, s3, ds] = await Promise.all([
    startDynalite(),
    startS3rver({ bucket: 'ds-selection-cli' }),
    new DsSimulator({ token: DS_TOKEN, seedDir: join(ROOT, 'events/dossiers') }).start(),
  ]);
  const { endpoint: sqsEndpoint } = await sqsServer.start();
  const deadLetters = await sqsServer.createQueue('ingest-dlq', { visibilityTimeoutSeconds: 30 });
  const ingest = await sqsServer.createQueue('ingest', { visibilityTimeoutSeconds: 30, redrive: { deadLetterQueueName: 'ingest-dlq', maxReceiveCount: 1 } });
  sqs = createSqsClient({ endpoint: sqsEndpoint, region: REGION, credentials: S3RVER_CREDENTIALS });
  repository = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  outputs = {
    stage: 'local', region: REGION, ApiUrl: 'http://127.0.0.1:9/', V2WebhookUrl: 'http://127.0.0.1:9/webhooks/ds-v2',
    TableName: dynamo.tableName, BucketName: s3.bucket, IngestQueueUrl: ingest.queueUrl, DeadLetterQueueUrl: deadLetters.queueUrl,
    local: {
      // One set of dummy keys for every engine, as the local stack does (s3rver checks them).
      endpoints: { dynamodb: dynamo.endpoint, s3: s3.endpoint, sqs: sqsEndpoint, ses: 'http://127.0.0.1:9' },
      credentials: S3RVER_CREDENTIALS, dsApiUrl: ds.graphqlUrl, dsApiToken: DS_TOKEN, demarcheNumbers: [DEMARCHE],
      mailUrl: 'http://127.0.0.1:9/', dataDir, pid: process.pid,
    },
  };
  await writeStackFile(dataDir, process.pid);

  // Eligibility: 1001 a ministry's service (eligible); 1002 stored before legal forms were read (to check);
  // 1003 an association (ineligible), moved from 2026-03; 1004 a GIP (to check), classé sans suite on DS.
  const administration = (legalFormCode: string, legalForm: string) => ({ name: 'Administration', siret: '13009999700012', demandeurType: 'PersonneMorale' as const, legalFormCode, legalForm });
  await seed(dossier(1001, {
    attachments: files1001.map((file) => file.ref),
    project: { title: 'Projet 1001', theme: 'santé', eigPostsRequested: 2, profiles: ['Directeur·rice technique'], betaGouvCommitment: true, administration: administration('7120', "Service central d'un ministère") },
  }), files1001.map((file) => ({ file, status: 'stored' as const })));
  await seed(dossier(1002, { status: 'files_pending', filesComplete: false, attachments: files1002.map((file) => file.ref) }), [
    { file: files1002[0]!, status: 'stored' }, { file: files1002[1]!, status: 'scan_pending' }, { file: files1002[2]!, status: 'none' },
  ]);
  await seed(dossier(1003, {
    status: 'invalid', round: '2026-05', roundMovedFrom: '2026-03', dateDepot: '2026-04-29T10:00:00+02:00',
    issues: [{ path: 'project.eigPostsRequested', message: 'at most 3 EIG posts' }],
    project: { title: 'Projet 1003', betaGouvCommitment: true, administration: administration('9220', 'Association déclarée') },
  }), []);
  const corrupt = Buffer.from(file1004.content);
  corrupt[100] = corrupt[100]! ^ 0xff;
  await seed(dossier(1004, {
    attachments: [file1004.ref], state: 'sans_suite',
    project: { title: 'Projet 1004', betaGouvCommitment: true, administration: administration('7410', "Groupement d'intérêt public (GIP)") },
  }), [{ file: file1004, status: 'stored', s3Body: corrupt }]);
});

afterAll(async () => {
  sqs?.destroy();
  await Promise.allSettled([dynamo?.stop(), s3?.stop(), ds?.stop(), sqsServer?.stop()]);
  await Promise.all([dataDir, workDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('dossiers', () => {
  it('list --json: every dossier by number, across statuses, with stored/total files', async () => {
    const rows = await cliJson('dossiers', 'list');
    expect(rows.map((row: any) => row.number)).toEqual([1001, 1002, 1003, 1004]);
    expect(rows[1]).toEqual({
      number: 1002, demarcheNumber: DEMARCHE, status: 'files_pending', state: 'en_construction', round: '2026-03',
      dateDerniereModification: '2026-03-05T14:22:11+01:00', title: 'Projet 1002', files: { stored: 1, total: 3 },
      eligibility: { flag: 'to_check', reasonCode: 'legal_form_missing', reason: expect.stringContaining('Catégorie juridique inconnue') },
    });
    expect(rows.map((row: any) => row.eligibility.flag)).toEqual(['eligible', 'to_check', 'ineligible', 'to_check']);
    expect(rows[2]).toMatchObject({ round: '2026-05', roundMovedFrom: '2026-03' });
    expect(rows[0].files).toEqual({ stored: 2, total: 2 });
  });

  it('list filters by round and status, and honours --limit', async () => {
    expect((await cliJson('dossiers', 'list', '--round', '2026-03', '--status', 'stored')).map((row: any) => row.number)).toEqual([1001, 1004]);
    expect((await cliJson('dossiers', 'list', '--round', '2026-03')).map((row: any) => row.number)).toEqual([1001, 1002, 1004]);
    expect((await cliJson('dossiers', 'list', '--status', 'invalid')).map((row: any) => row.number)).toEqual([1003]);
    expect((await cliJson('dossiers', 'list', '--limit', '2')).map((row: any) => row.number)).toEqual([1001, 1002]);
    expect(await cliJson('dossiers', 'list', '--round', '2031-01')).toEqual([]);
  });

  it('list prints an aligned table on stdout and the count on stderr', async () => {
    const { code, stdout, stderr } = await cli('dossiers', 'list', '--round', '2026-03');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NUMBER {2}STATUS +STATE +ROUND +MODIFIED +FILES {2}ELIGIBILITY +TITLE$/);
    expect(lines.slice(1).map((line) => line.trim().split(/ {2,}/)[0])).toEqual(['1001', '1002', '1004']);
    // The flag sits under its header, on every row.
    const column = lines[0]!.indexOf('ELIGIBILITY');
    expect(lines.slice(1).map((line) => line.slice(column).split(/ {2,}/)[0])).toEqual(['eligible', 'to_check', 'to_check']);
    expect(lines[2]).toContain('1/3');
    expect(stderr).toBe('3 dossiers in round 2026-03\n');
  });

  it('show --json: the contract shape, each file with the status of its record', async () => {
    const detail = await cliJson('dossiers', 'show', '1002');
    expect(detail).toMatchObject({
      number: 1002, state: 'en_construction', status: 'files_pending', dateDerniereModification: '2026-03-05T14:22:11+01:00',
      round: '2026-03', project: { title: 'Projet 1002' }, issues: [],
    });
    expect(detail.attachments).toEqual(files1002.map(({ ref }, index) => ({
      champId: ref.champId, label: ref.label, filename: ref.filename, contentType: ref.contentType, byteSize: ref.byteSize,
      checksum: ref.checksum, virusScan: 'safe', key: ref.key, status: ['stored', 'scan_pending', 'pending'][index],
    })));
  });

  it('show prints a summary with the issues for a person', async () => {
    const { code, stdout } = await cli('dossiers', 'show', '1003');
    expect(code).toBe(0);
    expect(stdout).toContain('Dossier 1003 (démarche 98765)');
    expect(stdout).toMatch(/status +invalid/);
    expect(stdout).toContain('project.eigPostsRequested: at most 3 EIG posts');
  });

  it('show gives the eligibility flag with its reason, the withdrawal and the round a dossier was moved from', async () => {
    expect(await cliJson('dossiers', 'show', '1001')).toMatchObject({
      eligibility: { flag: 'eligible', reasonCode: 'legal_form_eligible', reason: expect.stringContaining('7120') }, withdrawal: null,
    });
    expect(await cliJson('dossiers', 'show', '1004')).toMatchObject({
      eligibility: { flag: 'to_check', reasonCode: 'legal_form_to_check' },
      withdrawal: { reasonCode: 'classe_sans_suite', reason: 'Classé sans suite sur Démarches Simplifiées' },
    });
    const moved = await cliJson('dossiers', 'show', '1003');
    expect(moved).toMatchObject({ round: '2026-05', roundMovedFrom: '2026-03', eligibility: { flag: 'ineligible', reasonCode: 'legal_form_ineligible' } });

    const text = (await cli('dossiers', 'show', '1003')).stdout;
    expect(text).toMatch(/eligibility +ineligible \(legal_form_ineligible\): Catégorie juridique 9220 \(Association déclarée\) : ni administration de l'État, ni opérateur de l'État\./);
    expect(text).toMatch(/legal form +9220 \(Association déclarée\)/);
    expect(text).toMatch(/round +2026-05 \(deposited in 2026-03, whose submissions had closed\)/);
    expect((await cli('dossiers', 'show', '1004')).stdout).toMatch(/withdrawn +Classé sans suite sur Démarches Simplifiées \(classe_sans_suite\)/);
    expect((await cli('dossiers', 'show', '1001')).stdout).toMatch(/profiles +Directeur·rice technique/);
  });

  it('show of an unknown dossier exits 3 with a message on stderr and nothing on stdout', async () => {
    const { code, stdout, stderr } = await cli('dossiers', 'show', '999', '--json');
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toContain('dossier 999 not found');
  });
});

describe('attachments download', () => {
  it('writes every stored file, verified, with distinct names', async () => {
    const out = join(workDir, 'out-1001');
    const results = await cliJson('attachments', 'download', '1001', '--out', 'out-1001');
    expect(results.map((result: any) => [result.outcome, result.path, result.byteSize, result.md5Ok])).toEqual([
      ['written', join(out, 'annexe.pdf'), files1001[0]!.ref.byteSize, true],
      ['written', join(out, 'annexe (2).pdf'), files1001[1]!.ref.byteSize, true],
    ]);
    expect(base64Md5(await readFile(join(out, 'annexe.pdf')))).toBe(files1001[0]!.ref.checksum);
    expect(base64Md5(await readFile(join(out, 'annexe (2).pdf')))).toBe(files1001[1]!.ref.checksum);
    expect((await readdir(out)).sort()).toEqual(['annexe (2).pdf', 'annexe.pdf']);
  });

  it('skips files not stored yet and says so, exit 0', async () => {
    const { code, stdout, stderr } = await cli('attachments', 'download', '1002', '--out', 'out-1002');
    expect(code).toBe(0);
    expect(stdout).toBe(`${join(workDir, 'out-1002', 'fiche.pdf')}  (64 KB, MD5 ok)\n`);
    expect(stderr).toContain('skipped budget.xlsx: not stored yet (scan_pending)');
    expect(stderr).toContain('skipped lettre.pdf: not stored yet (pending)');
    expect(stderr).toContain('1 file written, 0 failed, 2 not stored yet');
  });

  it('detects a corrupt object: deletes it and exits 5', async () => {
    const { code, stdout, stderr } = await cli('attachments', 'download', '1004', '--out', 'out-1004', '--json');
    expect(code).toBe(5);
    expect(JSON.parse(stdout)).toEqual([expect.objectContaining({ outcome: 'failed', path: null, md5Ok: false, byteSize: file1004.ref.byteSize })]);
    expect(stderr).toContain('0 files written, 1 failed');
    expect(await readdir(join(workDir, 'out-1004'))).toEqual([]);
  });

  it('of an unknown dossier exits 3', async () => {
    expect((await cli('attachments', 'download', '999', '--out', 'out-999')).code).toBe(3);
  });
});

describe('rounds', () => {
  it('list counts the dossiers of each round by status', async () => {
    expect(await cliJson('rounds', 'list')).toEqual([
      { round: '2026-03', total: 3, byStatus: { stored: 2, files_pending: 1, invalid: 0, not_found: 0, deleted: 0 } },
      { round: '2026-05', total: 1, byStatus: { stored: 0, files_pending: 0, invalid: 1, not_found: 0, deleted: 0 } },
    ]);
  });

  it('show lists the dossiers of a round; an empty round exits 3', async () => {
    const round = await cliJson('rounds', 'show', '2026-03');
    expect(round).toMatchObject({ round: '2026-03', total: 3 });
    expect(round.dossiers.map((row: any) => row.number)).toEqual([1001, 1002, 1004]);
    const { stdout } = await cli('rounds', 'show', '2026-03');
    expect(stdout).toContain('Session 2026-03 : 3 dossiers (2 stored, 1 files_pending)');
    expect((await cli('rounds', 'show', '2031-01')).code).toBe(3);
  });
});

describe('sync', () => {
  beforeEach(async () => {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: outputs.IngestQueueUrl }));
  });

  it('queues every dossier of the démarche through the ingest queue, hinted as sync', async () => {
    const { code, stdout, stderr } = await cli('sync', '--json');
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ listed: 3, deleted: 0, queued: 3, demarches: [DEMARCHE], since: null });
    expect(stderr).toMatch(/^sync: 3 dossiers listed on DS, 3 queued for ingestion \(démarche 98765\) in \d+\.\d s\n$/);
    const messages = await drain(outputs.IngestQueueUrl);
    expect(messages.map((message) => message.dossierNumber).sort()).toEqual([23456789, 23456790, 23456791]);
    for (const message of messages) {
      expect(message).toMatchObject({ demarcheNumber: DEMARCHE, hint: { source: 'sync', state: 'en_construction' } });
    }
  });

  it('--since keeps the dossiers updated at or after the instant', async () => {
    const result = await cliJson('sync', '--since', '2026-03-06T10:02:00+01:00');
    expect(result).toMatchObject({ listed: 2, queued: 2, since: '2026-03-06T09:02:00.000Z' });
    expect((await drain(outputs.IngestQueueUrl)).map((message) => message.dossierNumber).sort()).toEqual([23456790, 23456791]);
  });

  it('queues the dossiers deleted on DS and those in its bin (pendingDeletedDossiers) as dossier_supprime', async () => {
    const binned = structuredClone(ds.dossiers.get(23456791));
    const gone = structuredClone(ds.dossiers.get(23456790));
    ds.putInBin(23456791);
    ds.delete(23456790);
    try {
      const { code, stdout, stderr } = await cli('sync', '--json');
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ listed: 1, deleted: 2, queued: 3 });
      expect(stderr).toMatch(/^sync: 1 dossier listed on DS \(and 2 deleted\), 3 queued for ingestion/);
      const deleted = (await drain(outputs.IngestQueueUrl)).filter((message) => message.hint.eventType === 'dossier_supprime');
      expect(deleted.map((message) => message.dossierNumber).sort()).toEqual([23456790, 23456791]);
      for (const message of deleted) {
        expect(message.hint).toMatchObject({ source: 'sync', updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$/) });
      }
    } finally {
      ds.upsert(binned);
      ds.upsert(gone);
    }
  });

  it.each([
    ['dossiers', 'show', '2147483648'],
    ['attachments', 'download', '99999999999', '--out', '/tmp/never'],
    ['sync', '--demarche', '2147483648'],
  ])('refuses a DS number beyond GraphQL Int with a usage error (exit 4): %s %s', async (...args) => {
    const { code, stderr, stdout } = await cli(...args);
    expect(code).toBe(4);
    expect(stderr).toContain('2147483647');
    expect(stdout).toBe('');
  });

  it('a démarche the token does not cover: nothing queued, exit 2 (DS refuses the token)', async () => {
    const stackFile = join(dataDir, 'stack.json');
    const original = await readFile(stackFile, 'utf8');
    await writeFile(stackFile, JSON.stringify({ ...outputs, local: { ...outputs.local!, dsApiToken: 'wrong-token' } }));
    try {
      const { code, stderr } = await cli('sync');
      expect(code).toBe(2);
      expect(stderr).toContain('DS refused getDemarcheDossiers');
      expect(await queueCount(outputs.IngestQueueUrl)).toBe(0);
    } finally {
      await writeFile(stackFile, original);
    }
  });
});

describe('dlq', () => {
  /** Puts messages on the DLQ the way SQS does: received more than maxReceiveCount (1) times. */
  async function deadLetter(dossierNumbers: number[]): Promise<void> {
    for (let start = 0; start < dossierNumbers.length; start += 10) {
      await sqs.send(new SendMessageBatchCommand({
        QueueUrl: outputs.IngestQueueUrl,
        Entries: dossierNumbers.slice(start, start + 10).map((dossierNumber) => ({
          Id: String(dossierNumber),
          MessageBody: JSON.stringify({ demarcheNumber: DEMARCHE, dossierNumber, hint: { source: 'webhook', receivedAt: new Date().toISOString() } }),
        })),
      }));
    }
    // First receive (visibility 0: back at once), second receive moves each to the DLQ.
    while ((await queueCount(outputs.IngestQueueUrl)) > 0) {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: outputs.IngestQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
    }
  }

  beforeAll(async () => {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: outputs.IngestQueueUrl }));
  });

  it('list shows every dead letter (more than one receive batch) without consuming them; redrive moves them back', async () => {
    const numbers = Array.from({ length: 13 }, (_, index) => 5000 + index);
    await deadLetter(numbers);
    expect(await queueCount(outputs.DeadLetterQueueUrl)).toBe(13);

    const listed = await cliJson('dlq', 'list');
    expect(listed.map((message: any) => message.dossierNumber).sort()).toEqual(numbers);
    expect(listed[0]).toMatchObject({ source: 'webhook', demarcheNumber: DEMARCHE, receiveCount: expect.any(Number) });
    expect(listed[0].firstReceivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    // Still there, and visible: a second listing sees them all again.
    expect(await queueCount(outputs.DeadLetterQueueUrl)).toBe(13);
    const { code, stdout, stderr } = await cli('dlq', 'list');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^MESSAGE ID +DOSSIER {2}SOURCE +RECEIVES {2}FIRST RECEIVED$/);
    expect(stderr).toBe('13 messages in the dead-letter queue\n');

    const redrive = await cliJson('dlq', 'redrive', '--wait');
    expect(redrive).toMatchObject({ started: true, status: 'COMPLETED', messagesToMove: 13, messagesMoved: 13, taskHandle: expect.any(String) });
    expect(await queueCount(outputs.DeadLetterQueueUrl)).toBe(0);
    expect((await drain(outputs.IngestQueueUrl)).map((message) => message.dossierNumber).sort()).toEqual(numbers);
  });

  it('redrive of an empty DLQ starts nothing and exits 0', async () => {
    const { code, stdout } = await cli('dlq', 'redrive');
    expect(code).toBe(0);
    expect(stdout).toBe('the dead-letter queue is empty: nothing to redrive\n');
    expect(await cliJson('dlq', 'list')).toEqual([]);
  });
});

describe('stack not running', () => {
  it('exits 2 when DATA_DIR has no stack.json', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'cli-empty-'));
    try {
      const { code, stderr } = await cli('--data-dir', empty, 'dossiers', 'list');
      expect(code).toBe(2);
      expect(stderr).toContain('the local stack is not running: start it with `npm start`');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('exits 2 when the process named in stack.json has exited', async () => {
    const stale = await mkdtemp(join(tmpdir(), 'cli-stale-'));
    try {
      const child = spawn(process.execPath, ['-e', '0']);
      const deadPid = await new Promise<number>((resolve) => child.once('exit', () => resolve(child.pid!)));
      await writeStackFile(stale, deadPid);
      const { code, stderr } = await cli('--data-dir', stale, 'dossiers', 'show', '1001');
      expect(code).toBe(2);
      expect(stderr).toContain(`names process ${deadPid}, which has exited`);
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
  });
});

describe('bin/ds-selection.js, as a child process', () => {
  async function bin(...argv: string[]): Promise<Result> {
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...argv], { cwd: workDir, env: { ...process.env, DATA_DIR: dataDir } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('prints pure JSON on stdout, finding the stack through DATA_DIR', async () => {
    const { code, stdout, stderr } = await bin('dossiers', 'show', '1001', '--json');
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ number: 1001, status: 'stored', attachments: [{ status: 'stored' }, { status: 'stored' }] });
    expect(stderr).toBe('');
  });

  it('exits with the documented codes: 3 not found, 4 usage, 2 stack not running', async () => {
    const [notFound, usage, notRunning] = await Promise.all([
      bin('dossiers', 'show', '999'),
      bin('dossiers', 'list', '--status', 'lost'),
      bin('--data-dir', join(workDir, 'nowhere'), 'dossiers', 'list'),
    ]);
    expect(notFound.code).toBe(3);
    expect(usage.code).toBe(4);
    expect(notRunning.code).toBe(2);
    expect(notRunning.stderr).toContain('the local stack is not running');
  });
});

describe('--stage: a deployed stack, found through CloudFormation (AWS mocked, DS simulated)', () => {
  // aws-sdk-client-mock stubs every client of these classes: installed per test, removed after.
  let mocks: { restore(): void }[] = [];
  const stageOutputs: Output[] = Object.entries({
    ApiUrl: 'https://abc.execute-api.eu-west-3.amazonaws.com/',
    V2WebhookUrl: 'https://abc.execute-api.eu-west-3.amazonaws.com/webhooks/ds-v2',
    TableName: 'DsSelection-dev-Table', BucketName: 'dsselection-dev-bucket',
    IngestQueueUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest',
    DeadLetterQueueUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest-dlq',
    DsApiTokenSecretArn: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:ds-api-token',
  }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

  function mockStack(outputs: Output[] = stageOutputs) {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand, { StackName: 'DsSelection-dev' }).resolves({
      Stacks: [{ StackName: 'DsSelection-dev', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: outputs }],
    });
    cloudFormation.on(DescribeStacksCommand, { StackName: 'DsSelection-gone' }).rejects(
      Object.assign(new Error('Stack with id DsSelection-gone does not exist'), { name: 'ValidationError' }),
    );
    mocks.push(cloudFormation);
    return cloudFormation;
  }

  afterEach(() => {
    for (const mock of mocks) mock.restore();
    mocks = [];
    vi.unstubAllGlobals();
  });

  it('reads dossiers from the stack\'s table, named by its outputs, in the stage file\'s region', async () => {
    const cloudFormation = mockStack();
    const dynamoDb = mockClient(DynamoDBDocumentClient);
    mocks.push(dynamoDb);
    const stored = dossier(1001, { attachments: [] });
    dynamoDb.on(GetCommand).resolves({ Item: { ...stored, pk: 'DOSSIER#1001', sk: '#DOSSIER', type: 'dossier' } });
    dynamoDb.on(QueryCommand).resolves({ Items: [] });

    const detail = await cliJson('--stage', 'dev', 'dossiers', 'show', '1001');
    expect(detail).toMatchObject({ number: 1001, status: 'stored', attachments: [] });
    expect(dynamoDb.commandCalls(GetCommand)[0]!.args[0].input.TableName).toBe('DsSelection-dev-Table');
    expect(await cloudFormation.call(0).thisValue.config.region()).toBe('eu-west-3');
  });

  it('sync reads the DS token from the stack\'s secret and queues through the stack\'s ingest queue', async () => {
    mockStack();
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:ds-api-token' }).resolves({ SecretString: `${DS_TOKEN}\n` });
    const queue = mockClient(SQSClient);
    queue.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({ Successful: input.Entries!.map((entry) => ({ Id: entry.Id })), Failed: [] }));
    mocks.push(secrets, queue);
    // The stage's DS URL is the real DS (infra/stages/dev.json): send its requests to the simulator.
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', (_url: string, init: RequestInit) => realFetch(ds.graphqlUrl, init));

    const result = await cliJson('--stage', 'dev', 'sync');
    // démarche 98765 comes from infra/stages/dev.json: the stack outputs do not carry it.
    expect(result).toEqual({ listed: 3, deleted: 0, queued: 3, demarches: [DEMARCHE], since: null });
    const sent = queue.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries!);
    expect(queue.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.QueueUrl).toBe('https://sqs.eu-west-3.amazonaws.com/123456789012/ingest');
    expect(sent.map((entry) => JSON.parse(entry.MessageBody!).hint.source)).toEqual(['sync', 'sync', 'sync']);
  });

  it('a stage that is not deployed exits 2, naming the stack and the region', async () => {
    mockStack();
    const { code, stderr } = await cli('--stage', 'gone', '--region', 'eu-west-1', 'dossiers', 'list');
    expect(code).toBe(2);
    expect(stderr).toContain('stack DsSelection-gone not found in eu-west-1');
  });

  it('a stack without the outputs the CLI needs exits 2, naming them', async () => {
    mockStack(stageOutputs.filter((output) => output.OutputKey !== 'TableName'));
    const { code, stderr } = await cli('--stage', 'dev', 'dossiers', 'list');
    expect(code).toBe(2);
    expect(stderr).toContain('lacks outputs the CLI needs');
    expect(stderr).toContain('TableName');
  });

  it('missing AWS credentials exit 2 with what to do', async () => {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    mocks.push(cloudFormation);
    const { code, stderr } = await cli('--stage', 'dev', 'dossiers', 'list');
    expect(code).toBe(2);
    expect(stderr).toContain('no AWS credentials found');
  });
});
