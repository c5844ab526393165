import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import type { StackOutputs } from '#infra/stack-outputs';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { S3RVER_CREDENTIALS, startS3rver, type S3Engine } from '../helpers/s3-engine.ts';
import { cliRunner } from '../helpers/cli-runner.ts';

/*
 * `dossiers find --email` and `dossiers purge N` through the CLI, on dynalite and s3rver: the plan
 * first, the refusal without --yes (nothing changed), the erasure with it (files, file records,
 * reviews; the decision reduced; an audit record without personal data), then a second run.
 */

const ROUND = '2026-03';
let dynamo: RunningEngine;
let s3: S3Engine;
let dossiers: DynamoDossierRepository;
let rounds: DynamoRoundRepository;
let dataDir: string;
let workDir: string;
const { cli, cliJson } = cliRunner(() => ({ dataDir, workDir }));

function dossier(number: number, email: string): DossierRecord {
  const modified = '2026-03-05T14:22:11.000Z';
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: modified, modifiedAtMs: Date.parse(modified),
    dateDepot: '2026-03-02T09:00:00.000Z', round: ROUND,
    project: { title: `Projet ${number}`, contactEmails: [email], team: [{ name: 'Membre', role: 'mentor', email }] },
    issues: [], attachments: [], filesComplete: true, snapshotKey: `dossiers/${number}/${Date.parse(modified)}.json`, ingestedAt: modified,
  };
}

const keys = async (prefix: string) =>
  ((await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((entry) => entry.Key!);

beforeAll(async () => {
  [dataDir, workDir] = await Promise.all([mkdtemp(join(tmpdir(), 'cli-purge-data-')), mkdtemp(join(tmpdir(), 'cli-purge-work-'))]);
  [dynamo, s3] = await Promise.all([startDynalite(), startS3rver({ bucket: 'ds-selection-cli-purge' })]);
  dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const unused = 'http://127.0.0.1:9';
  const outputs: StackOutputs = {
    stage: 'local', region: 'eu-west-3', ApiUrl: `${unused}/`, V2WebhookUrl: `${unused}/webhooks/ds-v2`,
    TableName: dynamo.tableName, BucketName: s3.bucket,
    IngestQueueUrl: `${unused}/000000000000/ingest`, DeadLetterQueueUrl: `${unused}/000000000000/ingest-dlq`,
    local: {
      endpoints: { dynamodb: dynamo.endpoint, s3: s3.endpoint, sqs: unused, ses: unused },
      credentials: S3RVER_CREDENTIALS, dsApiUrl: `${unused}/api/v2/graphql`, dsApiToken: 'unused', demarcheNumbers: [98765],
      mailUrl: `${unused}/`, dataDir, pid: process.pid,
    },
  };
  await writeFile(join(dataDir, 'stack.json'), JSON.stringify(outputs, null, 2));

  for (const [number, email] of [[6001, 'porteuse@mairie.fr'], [6002, 'autre@ville.fr']] as const) {
    const record = dossier(number, email);
    await dossiers.saveIfNewer(record);
    const key = `attachments/${number}/1/abcd/cv.pdf`;
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'cv' }));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: record.snapshotKey!, Body: '{}' }));
    await dossiers.putAttachment({
      champId: '1', label: 'CV', filename: 'cv.pdf', contentType: 'application/pdf', byteSize: 2, checksum: 'x', virusScan: 'safe', key,
      dossierNumber: number, status: 'stored', updatedAt: record.ingestedAt,
    });
    await rounds.putReview({
      roundId: ROUND, dossierNumber: number, reviewerId: 'r1', scores: { impact: 3 }, comment: 'Bon projet', conflictOfInterest: false,
      status: 'submitted', version: 1, submittedAt: record.ingestedAt,
    });
    await rounds.putDecisions([{
      roundId: ROUND, dossierNumber: number, outcome: 'not_selected', rank: 2, score: 3, reviewCount: 1, eigPostsRequested: 1,
      reasonCode: 'excluded', reason: 'Exclu : demande de Mme X',
    }]);
  }
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `reports/${ROUND}/selection.json`, Body: '{}' }));
});

afterAll(async () => {
  await Promise.allSettled([dynamo?.stop(), s3?.stop()]);
  await Promise.all([dataDir, workDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('dossiers find --email', () => {
  it('finds the dossiers mentioning the address (any case), by index, numbers and titles only', async () => {
    expect(await cliJson('dossiers', 'find', '--email', 'Porteuse@Mairie.fr')).toEqual([{ number: 6001, round: ROUND, status: 'stored', title: 'Projet 6001' }]);
    expect(await cliJson('dossiers', 'find', '--email', 'porteuse@mairie.fr', '--round', '2030-01')).toEqual([]);
    const { code, stdout } = await cli('dossiers', 'find', '--email', 'autre@ville.fr');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^NUMBER +ROUND +STATUS +TITLE\n6002 +2026-03 +stored +Projet 6002\n$/);
    expect((await cli('dossiers', 'find', '--email', 'nobody')).code).toBe(4);
  });
});

describe('dossiers purge', () => {
  it('--dry-run prints the plan and changes nothing', async () => {
    const { code, stdout } = await cli('dossiers', 'purge', '6001', '--dry-run');
    expect(code).toBe(0);
    expect(stdout).toContain('dossier 6001: would erase (round 2026-03):');
    expect(stdout).toContain('3 S3 object version(s)');
    expect(stdout).toContain('1 file record(s), 1 review(s)');
    expect(stdout).toContain('deleted on DS too');
    expect(await keys('attachments/6001/')).toHaveLength(1);
  });

  it('without --yes: the plan, then a refusal (exit 6), nothing changed; an unknown dossier is exit 3', async () => {
    const { code, stdout, stderr } = await cli('dossiers', 'purge', '6001');
    expect(code).toBe(6);
    expect(stdout).toContain('would erase');
    expect(stderr).toContain('refused: pass --yes to erase dossier 6001 (nothing was changed)');
    expect(await dossiers.get(6001)).toMatchObject({ project: { title: 'Projet 6001' } });
    expect(await rounds.listAudit(ROUND)).toEqual([]);
    expect((await cli('dossiers', 'purge', '6999', '--yes')).code).toBe(3);
    expect((await cli('dossiers', 'purge', '6001', '--yes', '--dry-run')).code).toBe(4);
  });

  it('--yes erases the dossier, its files (every version), its reviews, the round report copy; reduces its decision; audits without personal data', async () => {
    const result = await cliJson('dossiers', 'purge', '6001', '--yes');
    expect(result).toEqual({
      dossierNumber: 6001, reason: 'erasure_request', outcome: 'purged', dryRun: false, rounds: [ROUND],
      counts: { objects: 3, fileRecords: 1, reviews: 1, staffRecords: 0, decisionsReduced: 1 },
    });
    expect(await dossiers.get(6001)).toMatchObject({ status: 'deleted', project: null, round: ROUND });
    expect(await dossiers.listAttachments(6001)).toEqual([]);
    expect([...await keys('attachments/6001/'), ...await keys('dossiers/6001/'), ...await keys(`reports/${ROUND}/`)]).toEqual([]);
    expect((await rounds.listReviews(ROUND)).map((review) => review.dossierNumber)).toEqual([6002]);
    const decisions = await rounds.listDecisions(ROUND);
    expect(decisions.find((d) => d.dossierNumber === 6001)).toMatchObject({ outcome: 'not_selected', rank: 2, reasonCode: 'excluded' });
    expect(decisions.find((d) => d.dossierNumber === 6001)?.reason).not.toContain('Mme X');
    expect(decisions.find((d) => d.dossierNumber === 6002)?.reason).toContain('Mme X');
    const audit = await rounds.listAudit(ROUND);
    expect(audit).toEqual([expect.objectContaining({
      step: 'erase-dossier', actor: expect.stringMatching(/^staff:/),
      summary: { reasons: ['erasure_request'], dossierNumbers: [6001], objects: 3, fileRecords: 1, reviews: 1, staffRecords: 0, decisionsReduced: 1 },
    })]);
    expect(JSON.stringify(audit)).not.toMatch(/porteuse|mairie|Projet/);
    // The other dossier keeps everything.
    expect(await keys('attachments/6002/')).toHaveLength(1);
    // Again: nothing left to do.
    const again = await cli('dossiers', 'purge', '6001', '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already erased');
  });
});
