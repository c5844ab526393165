import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import type { StackOutputs } from '#infra/stack-outputs';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { S3RVER_CREDENTIALS } from '../helpers/s3-engine.ts';
import { cliRunner } from '../helpers/cli-runner.ts';

/*
 * The jury through the staff CLI, on dynalite: `reviewers import` with a college column (CSV and
 * JSON, French spellings), kept through a re-import of a file without it, shown by `reviewers
 * list`; `rounds close-submissions --dry-run` plans distinct colleges and lists the dossiers where
 * the committee does not allow them. The dry run needs neither S3 nor SES (nothing is sent).
 */

const ROUND = '2026-03';
let dynamo: RunningEngine;
let rounds: DynamoRoundRepository;
let dataDir: string;
let workDir: string;

const { cli, cliJson } = cliRunner(() => ({ dataDir, workDir }));

function dossier(number: number, siret: string, contact: string): DossierRecord {
  const modified = '2026-03-05T14:22:11+01:00';
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: modified,
    modifiedAtMs: Date.parse(modified), dateDepot: '2026-03-04T09:00:00+01:00', round: ROUND,
    project: {
      title: `Projet ${number}`, administration: { name: `Administration ${number}`, siret }, eigPostsRequested: 1,
      contactEmails: [contact], team: [{ name: 'Membre', role: 'mentor', email: contact }],
    },
    issues: [], attachments: [], filesComplete: true, snapshotKey: `dossiers/${number}/1.json`, ingestedAt: '2026-03-05T16:31:00.000Z',
  };
}

beforeAll(async () => {
  [dataDir, workDir] = await Promise.all([mkdtemp(join(tmpdir(), 'cli-jury-data-')), mkdtemp(join(tmpdir(), 'cli-jury-work-'))]);
  dynamo = await startDynalite();
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const unused = 'http://127.0.0.1:9';
  const outputs: StackOutputs = {
    stage: 'local', region: 'eu-west-3', ApiUrl: `${unused}/`, V2WebhookUrl: `${unused}/webhooks/ds-v2`,
    TableName: dynamo.tableName, BucketName: 'ds-selection-cli-jury',
    IngestQueueUrl: `${unused}/000000000000/ingest`, DeadLetterQueueUrl: `${unused}/000000000000/ingest-dlq`,
    local: {
      endpoints: { dynamodb: dynamo.endpoint, s3: unused, sqs: unused, ses: unused },
      credentials: S3RVER_CREDENTIALS, dsApiUrl: `${unused}/api/v2/graphql`, dsApiToken: 'unused', demarcheNumbers: [98765],
      mailUrl: `${unused}/`, reviewPageUrl: `${unused}/`, reviewLinkSecret: 'cli-jury-test-review-link-secret', dataDir, pid: process.pid,
    },
  };
  await writeFile(join(dataDir, 'stack.json'), JSON.stringify(outputs, null, 2));
});

afterAll(async () => {
  await Promise.allSettled([dynamo?.stop()]);
  await Promise.all([dataDir, workDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('reviewers import: the college column', () => {
  it('refuses a file with an unknown college, naming the line, and imports nothing (exit 4)', async () => {
    await writeFile(join(workDir, 'bad.csv'), 'email,name,conflicts,college\nalice@example.gouv.fr,Alice,,administration\nbob@example.fr,Bob,,digital\n');
    const { code, stdout, stderr } = await cli('reviewers', 'import', 'bad.csv');
    expect(code).toBe(4);
    expect(stdout).toBe('');
    expect(stderr).toContain('bad.csv: 1 problem, nothing imported');
    expect(stderr).toContain('line 3: college: a college is one of administration, numerique, recherche');
    expect(await cliJson('reviewers', 'list')).toEqual([]);
  });

  it('imports colleges from CSV (accents and case ignored) and JSON; list shows them (text and --json)', async () => {
    await writeFile(join(workDir, 'jury.csv'), [
      'email,name,conflicts,active,college',
      'alice@example.gouv.fr,Alice Martin,,,Administration',
      'armand@example.gouv.fr,Armand Roux,,,administration',
      '"bob@example.fr","Durand, Bob",,oui,Numérique',
      'carole@labo.fr,Carole Petit,,,RECHERCHE',
      'david@example.fr,David Sans-Collège,,,',
      '',
    ].join('\n'));
    expect(await cliJson('reviewers', 'import', 'jury.csv')).toEqual({ file: 'jury.csv', format: 'csv', read: 5, imported: 5, updated: 0, unchanged: 0 });
    await writeFile(join(workDir, 'more.json'), JSON.stringify([{ email: 'nina@example.fr', name: 'Nina', college: 'numérique' }]));
    expect(await cliJson('reviewers', 'import', 'more.json')).toMatchObject({ imported: 1 });

    const list = await cliJson('reviewers', 'list');
    expect(list.map((r: any) => [r.email, r.college])).toEqual([
      ['alice@example.gouv.fr', 'administration'], ['armand@example.gouv.fr', 'administration'], ['bob@example.fr', 'numerique'],
      ['carole@labo.fr', 'recherche'], ['david@example.fr', null], ['nina@example.fr', 'numerique'],
    ]);
    const { stdout } = await cli('reviewers', 'list');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^EMAIL +NAME +ACTIVE +COLLEGE +CONFLICTS$/);
    expect(lines.find((line) => line.startsWith('bob@example.fr'))).toMatch(/ yes +numerique +- *$/);
    expect(lines.find((line) => line.startsWith('david@example.fr'))).toMatch(/ yes +- +- *$/);
  });

  it('a re-import of a file without the column keeps every college; "aucun" removes one', async () => {
    await writeFile(join(workDir, 'old.csv'), 'email,name,conflicts\nalice@example.gouv.fr,Alice Martin,\nbob@example.fr,"Durand, Bob",\n');
    expect(await cliJson('reviewers', 'import', 'old.csv')).toMatchObject({ imported: 0, updated: 0, unchanged: 2 });
    await writeFile(join(workDir, 'none.csv'), 'email,name,college\nnina@example.fr,Nina,aucun\n');
    expect(await cliJson('reviewers', 'import', 'none.csv')).toMatchObject({ updated: 1 });
    const list = await cliJson('reviewers', 'list');
    expect(list.map((r: any) => r.college)).toEqual(['administration', 'administration', 'numerique', 'recherche', null, null]);
  });
});

describe('rounds close-submissions --dry-run: a balanced jury', () => {
  it('plans distinct colleges and lists the dossiers where conflicts leave too few colleges (counts in the summary)', async () => {
    // Reviewers without college count as a college of their own each (docs/jury.md): give them one here.
    await writeFile(join(workDir, 'complete.json'), JSON.stringify([
      { email: 'david@example.fr', name: 'David Sans-Collège', college: 'administration' }, { email: 'nina@example.fr', name: 'Nina', college: 'numerique' },
    ]));
    expect(await cliJson('reviewers', 'import', 'complete.json')).toMatchObject({ updated: 2 });
    const dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
    // 3002: its contact writes from carole's domain (the only researcher): no researcher may review it.
    for (const record of [dossier(3001, '11111111100011', 'porteur@mairie.fr'), dossier(3002, '22222222200022', 'porteuse@labo.fr')]) {
      await dossiers.saveIfNewer(record);
    }
    await rounds.createRound({
      id: ROUND, status: 'open', openedAt: '2026-03-01T08:00:00.000Z', submissionsClosedAt: null, reviewDeadline: null, selectionClosedAt: null,
      capacityPosts: 5, reviewersPerDossier: 3, criteria: [{ id: 'impact', label: 'Impact', weight: 1 }], version: 1,
    });
    const result = await cliJson('rounds', 'close-submissions', '--round', ROUND, '--dry-run');
    expect(result).toMatchObject({
      dryRun: true, changed: false, status: 'open',
      summary: { reviewableDossiers: 2, excludedDossiers: 0, shortfalls: 0, collegeShortfalls: 1 },
      plan: { collegeShortfalls: [{ dossierNumber: 3002, colleges: ['administration', 'administration', 'numerique'] }] },
    });
    const ids = new Map<string, string>((await cliJson('reviewers', 'list')).map((r: any) => [r.email, r.id]));
    expect(result.plan.assignments[ids.get('carole@labo.fr')!]).toEqual([3001]);
    expect(await rounds.listAssignments(ROUND)).toEqual([]);
  });
});
