import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { roundOf } from '#core/round';
import { verifyReviewToken } from '#core/rounds/review-links';
import type { ReviewRecord } from '#core/rounds/model';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import type { StackOutputs } from '#infra/stack-outputs';
import { connect } from '../../infra/cli/connect.ts';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { S3RVER_CREDENTIALS, startS3rver, type S3Engine } from '../helpers/s3-engine.ts';
import { startSesLocal, type SesEngine } from '../helpers/ses-engine.ts';
import { cliRunner } from '../helpers/cli-runner.ts';

/*
 * The round commands of the staff CLI against real local engines (dynalite, s3rver,
 * aws-ses-v2-local), found through a stack.json as the CLI finds a running local stack. One
 * round is taken through its whole life, in order: reviewers, open, close submissions, reviews,
 * reminders, close selection, report. The tests of this file depend on each other's effects.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/ds-selection.js');
const REGION = 'eu-west-3';
const ROUND = '2026-03';
const REVIEW_PAGE = 'http://127.0.0.1:9/';
const LINK_SECRET = 'cli-rounds-test-review-link-secret';
const ACTOR = `staff:${userInfo().username}`;
const execFileAsync = promisify(execFile);

let dynamo: RunningEngine;
let s3: S3Engine;
let ses: SesEngine;
let dossierRepository: DynamoDossierRepository;
let rounds: DynamoRoundRepository;
let dataDir: string;
let workDir: string;
let outputs: StackOutputs;

const { cli, cliJson } = cliRunner(() => ({ dataDir, workDir }));

async function writeStackFile(sesEndpoint: string): Promise<void> {
  const file = { ...outputs, local: { ...outputs.local!, endpoints: { ...outputs.local!.endpoints, ses: sesEndpoint } } };
  await writeFile(join(dataDir, 'stack.json'), JSON.stringify(file, null, 2));
}

const SIRET = { a: '11111111111111', b: '22222222222222', c: '33333333333333', d: '44444444444444' };

function dossier(number: number, siret: string, posts: number, overrides: Partial<DossierRecord> = {}): DossierRecord {
  const modified = '2026-03-05T14:22:11+01:00';
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: modified,
    modifiedAtMs: Date.parse(modified), dateDepot: `2026-03-0${number % 10}T09:00:00+01:00`, round: ROUND,
    project: { title: `Projet ${number}`, administration: { name: `Administration ${number}`, siret }, eigPostsRequested: posts },
    issues: [], attachments: [], filesComplete: true, snapshotKey: `dossiers/${number}/1.json`, ingestedAt: '2026-03-05T16:31:00.000Z',
    ...overrides,
  };
}

const REVIEWERS = {
  alice: 'alice.martin@example.gouv.fr',
  bob: 'bob.durand@example.fr',
  carole: 'carole.petit@example.fr',
};
/** Reviewer ids are random: read once the reviewers are imported (`reviewers list` test), found by email. */
const reviewerIds = new Map<string, string>();
const id = (who: keyof typeof REVIEWERS) => {
  const found = reviewerIds.get(REVIEWERS[who]);
  if (!found) throw new Error(`no reviewer id for ${who} yet`);
  return found;
};

/** Alice may not review 2001 (her administration), Carole neither 2002 nor 2003. */
const GOOD_CSV = [
  'email,name,conflicts',
  `${REVIEWERS.alice},Alice Martin,${SIRET.a}`,
  `"${REVIEWERS.bob}","Durand, Bob",`,
  `Carole.Petit@Example.fr,Carole Petit,${SIRET.b};${SIRET.c}`,
  '',
].join('\n');

/** The score columns of a reviews import row, one per criterion of the configuration; `replace` sets some by index. */
function scoreColumns(score: number, replace: Record<number, string> = {}): string {
  return ROUNDS_CONFIG.criteria.map((_, index) => replace[index] ?? String(score)).join(',');
}

function review(dossierNumber: number, who: keyof typeof REVIEWERS, score: number, extra: Partial<ReviewRecord> = {}): ReviewRecord {
  const scores = Object.fromEntries(ROUNDS_CONFIG.criteria.map((criterion) => [criterion.id, score]));
  return {
    roundId: ROUND, dossierNumber, reviewerId: id(who), scores, comment: `Avis de ${who} sur ${dossierNumber}`,
    conflictOfInterest: false, submittedAt: '2026-03-20T10:00:00.000Z', ...extra,
  };
}

beforeAll(async () => {
  [dataDir, workDir] = await Promise.all([mkdtemp(join(tmpdir(), 'cli-rounds-data-')), mkdtemp(join(tmpdir(), 'cli-rounds-work-'))]);
  [dynamo, s3, ses] = await Promise.all([startDynalite(), startS3rver({ bucket: 'ds-selection-cli-rounds' }), startSesLocal()]);
  dossierRepository = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  outputs = {
    stage: 'local', region: REGION, ApiUrl: 'http://127.0.0.1:9/', V2WebhookUrl: 'http://127.0.0.1:9/webhooks/ds-v2',
    TableName: dynamo.tableName, BucketName: s3.bucket,
    // The round commands use no queue.
    IngestQueueUrl: 'http://127.0.0.1:9/000000000000/ingest', DeadLetterQueueUrl: 'http://127.0.0.1:9/000000000000/ingest-dlq',
    local: {
      endpoints: { dynamodb: dynamo.endpoint, s3: s3.endpoint, sqs: 'http://127.0.0.1:9', ses: ses.endpoint },
      credentials: S3RVER_CREDENTIALS, dsApiUrl: 'http://127.0.0.1:9/api/v2/graphql', dsApiToken: 'unused', demarcheNumbers: [98765],
      mailUrl: `${ses.endpoint}/`, reviewPageUrl: REVIEW_PAGE, reviewLinkSecret: LINK_SECRET, dataDir, pid: process.pid,
    },
  };
  await writeStackFile(ses.endpoint);
  // 2001-2003 can be reviewed (2002 has a file still scanning); 2004 is invalid: no reviewer, no decision.
  for (const record of [
    dossier(2001, SIRET.a, 2),
    dossier(2002, SIRET.b, 3, { status: 'files_pending', filesComplete: false }),
    dossier(2003, SIRET.c, 1),
    dossier(2004, SIRET.d, 9, { status: 'invalid', issues: [{ path: 'project.eigPostsRequested', message: 'at most 5 EIG posts' }] }),
  ]) {
    await dossierRepository.saveIfNewer(record);
  }
});

afterAll(async () => {
  await Promise.allSettled([dynamo?.stop(), s3?.stop(), ses?.stop()]);
  await Promise.all([dataDir, workDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('reviewers', () => {
  it('import refuses a file with wrong lines, naming each, and imports nothing (exit 4)', async () => {
    await writeFile(join(workDir, 'bad.csv'), [
      'email,name,conflicts',
      `${REVIEWERS.alice},Alice Martin,${SIRET.a}`,
      'not-an-email,Someone,',
      `${REVIEWERS.bob},Bob,1234`,
      `${REVIEWERS.alice.toUpperCase()},Alice again,`,
    ].join('\n'));
    const { code, stdout, stderr } = await cli('reviewers', 'import', 'bad.csv');
    expect(code).toBe(4);
    expect(stdout).toBe('');
    expect(stderr).toContain('bad.csv: 3 problems, nothing imported');
    expect(stderr).toMatch(/line 3: email: /);
    expect(stderr).toContain('line 4: conflicts.0: a conflict is a 14-digit SIRET');
    expect(stderr).toContain('line 5: same email as line 2');
    expect(await cliJson('reviewers', 'list')).toEqual([]);
  });

  it('import refuses a header it does not know (exit 4)', async () => {
    await writeFile(join(workDir, 'header.csv'), `mail,name\n${REVIEWERS.alice},Alice\n`);
    const { code, stderr } = await cli('reviewers', 'import', 'header.csv');
    expect(code).toBe(4);
    expect(stderr).toContain('line 1: unknown column "mail"; missing column "email"');
  });

  it('import of a good CSV adds every reviewer; again with one change, it updates that one only', async () => {
    await writeFile(join(workDir, 'comite.csv'), GOOD_CSV);
    expect(await cliJson('reviewers', 'import', 'comite.csv')).toEqual({ file: 'comite.csv', format: 'csv', read: 3, imported: 3, updated: 0, unchanged: 0 });

    await writeFile(join(workDir, 'comite.json'), JSON.stringify([
      { email: REVIEWERS.alice, name: 'Alice Martin', conflicts: [SIRET.a] },
      { email: REVIEWERS.bob, name: 'Bob Durand' },
      { email: REVIEWERS.carole, name: 'Carole Petit', conflicts: [SIRET.c, SIRET.b] },
    ]));
    const { code, stdout } = await cli('reviewers', 'import', 'comite.json');
    expect(code).toBe(0);
    expect(stdout).toBe('reviewers import: 3 reviewers read from comite.json: 0 new, 1 updated, 2 unchanged\n');
  });

  it('import of a JSON file names the entry that is wrong', async () => {
    await writeFile(join(workDir, 'bad.json'), JSON.stringify([{ email: REVIEWERS.alice, name: 'Alice' }, { email: REVIEWERS.bob }]));
    const { code, stderr } = await cli('reviewers', 'import', 'bad.json');
    expect(code).toBe(4);
    expect(stderr).toMatch(/entry 2: name: /);
  });

  it('list shows them by email, emails lower-cased', async () => {
    const list = await cliJson('reviewers', 'list');
    for (const reviewer of list) reviewerIds.set(reviewer.email, reviewer.id);
    expect([...reviewerIds.values()].every((value) => /^[0-9a-f]{16}$/.test(value))).toBe(true);
    expect(list.map((reviewer: any) => [reviewer.email, reviewer.name, reviewer.conflicts, reviewer.active])).toEqual([
      [REVIEWERS.alice, 'Alice Martin', [SIRET.a], true],
      [REVIEWERS.bob, 'Bob Durand', [], true],
      [REVIEWERS.carole, 'Carole Petit', [SIRET.b, SIRET.c], true],
    ]);
    const { stdout, stderr } = await cli('reviewers', 'list');
    expect(stdout.split('\n')[0]).toMatch(/^EMAIL +NAME +ACTIVE {2}CONFLICTS$/);
    expect(stderr).toBe('3 reviewers (3 active)\n');
  });
});

describe(`round ${ROUND}, from open to report`, () => {
  it(`open of ${ROUND}, whose period has ended, is refused (exit 6), naming the current round; nothing written`, async () => {
    for (const argv of [['rounds', 'open', '--round', ROUND], ['rounds', 'open', '--round', ROUND, '--dry-run']]) {
      const { code, stdout, stderr } = await cli(...argv);
      expect(code).toBe(6);
      expect(stdout).toBe('');
      expect(stderr).toMatch(new RegExp(`^ds-selection: refused: round ${ROUND} is past: its period \\(March and April 2026\\) ended on 30 April 2026\\. `
        + `The current round is ${roundOf(new Date().toISOString())} \\(today is \\d{4}-\\d\\d-\\d\\d in Paris\\): open that one \\(the default, without a round\\), `
        + `or force to open ${ROUND} anyway \\(--force\\)\n$`));
    }
    expect(await rounds.getRound(ROUND)).toBeUndefined();
    expect(await rounds.listAudit(ROUND)).toEqual([]);
  });

  it('open --dry-run prints the plan and writes nothing', async () => {
    const result = await cliJson('rounds', 'open', '--round', ROUND, '--force', '--dry-run');
    expect(result).toMatchObject({ step: 'open', roundId: ROUND, dryRun: true, changed: false, status: null });
    expect(result.plan.round).toMatchObject({ id: ROUND, status: 'open', capacityPosts: ROUNDS_CONFIG.capacityPosts });
    expect(await rounds.getRound(ROUND)).toBeUndefined();
    expect(await rounds.listAudit(ROUND)).toEqual([]);

    const { code, stdout } = await cli('rounds', 'open', '--round', ROUND, '--force', '--dry-run');
    expect(code).toBe(0);
    expect(stdout).toContain(`open : session ${ROUND} (simulation : rien n'est écrit, aucun mail envoyé)`);
    expect(stdout).toMatch(/phase +aucune → ouverte \(prévu\)/);
    expect(stdout).toMatch(/forcé +oui/);
  });

  it('open creates the round with the configuration, audited with the staff member as actor', async () => {
    const { code, stdout, stderr } = await cli('rounds', 'open', '--round', ROUND, '--force');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^open : session 2026-03\n {2}phase +aucune → ouverte\n/);
    expect(await rounds.getRound(ROUND)).toMatchObject({ status: 'open', capacityPosts: ROUNDS_CONFIG.capacityPosts, reviewersPerDossier: 2 });
    expect(await rounds.listAudit(ROUND)).toEqual([expect.objectContaining({ step: 'open', actor: ACTOR, summary: expect.objectContaining({ forced: true }) })]);
  });

  it('open again changes nothing and exits 0', async () => {
    const result = await cliJson('rounds', 'open', '--round', ROUND);
    expect(result).toMatchObject({ changed: false, status: 'open', summary: { already: true } });
    expect((await cli('rounds', 'open', '--round', ROUND)).stdout).toMatch(/phase +ouverte \(inchangée : étape déjà faite\)/);
  });

  it('rounds list and show give the phase', async () => {
    expect(await cliJson('rounds', 'list')).toEqual([
      { round: ROUND, phase: 'open', total: 4, byStatus: { stored: 2, files_pending: 1, invalid: 1, not_found: 0, deleted: 0 } },
    ]);
    const show = await cliJson('rounds', 'show', ROUND);
    expect(show).toMatchObject({ round: ROUND, phase: 'open', record: { id: ROUND, status: 'open' }, total: 4 });
    const { stdout } = await cli('rounds', 'show', ROUND);
    expect(stdout).toMatch(/^Session 2026-03 : 4 dossiers \(2 stored, 1 files_pending, 1 invalid\)\n {2}phase +open\n/);
  });

  it('a step asked too early is refused: exit 6, nothing written', async () => {
    const { code, stdout, stderr } = await cli('rounds', 'close-selection', '--round', ROUND);
    expect(code).toBe(6);
    expect(stdout).toBe('');
    expect(stderr).toBe(`ds-selection: refused: round ${ROUND} is open: close-selection applies to a round that is reviewing\n`);
    expect((await rounds.getRound(ROUND))?.status).toBe('open');
    // A report of a round not closed is refused; a round never opened is not found (3), for a step as for a report.
    expect((await cli('rounds', 'remind', '--round', '2026-07')).code).toBe(3);
    expect((await cli('report', '--round', ROUND)).code).toBe(6);
    expect((await cli('report', '--round', '2026-07')).code).toBe(3);
  });

  it('close-submissions --dry-run plans the assignments by reviewer, sends nothing', async () => {
    const result = await cliJson('rounds', 'close-submissions', '--round', ROUND, '--dry-run');
    expect(result).toMatchObject({ changed: false, status: 'open', plan: { round: { status: 'reviewing' }, mails: 3, shortfalls: [] } });
    // Alice's administration is 2001's, Carole's conflicts are 2002's and 2003's: two eligible reviewers each.
    expect(result.plan.assignments).toEqual({ [id('alice')]: [2002, 2003], [id('bob')]: [2001, 2002, 2003], [id('carole')]: [2001] });
    const { stdout } = await cli('rounds', 'close-submissions', '--round', ROUND, '--dry-run');
    expect(stdout).toMatch(new RegExp(`${REVIEWERS.carole.replace(/\./g, '\\.')} +1 +2001`));
    expect(stdout).toContain('Mails à envoyer : 3');
    expect(await ses.mails()).toEqual([]);
    expect(await rounds.listAssignments(ROUND)).toEqual([]);
  });

  it('close-submissions assigns, moves the round to reviewing and mails each reviewer a signed link', async () => {
    const result = await cliJson('rounds', 'close-submissions', '--round', ROUND);
    expect(result).toMatchObject({
      step: 'close-submissions', changed: true, status: 'reviewing',
      summary: { reviewableDossiers: 3, assignmentsWritten: 6, mailsSent: 3, mailFailures: 0 },
    });
    const mails = await ses.mails();
    expect(mails.map((mail) => mail.destination.to[0]).sort()).toEqual([REVIEWERS.alice, REVIEWERS.bob, REVIEWERS.carole]);
    expect(mails.every((mail) => mail.from === ROUNDS_CONFIG.mailFrom)).toBe(true);
    const aliceMail = mails.find((mail) => mail.destination.to[0] === REVIEWERS.alice)!;
    const link = /http:\/\/127\.0\.0\.1:9\/review\/2026-03\?token=(\S+)/.exec(aliceMail.body.text ?? '');
    expect(link, aliceMail.body.text).not.toBeNull();
    expect(verifyReviewToken(LINK_SECRET, ROUND, link![1], new Date())).toMatchObject({ valid: true, reviewerId: id('alice') });
  });

  it('close-submissions again sends nothing more and exits 0', async () => {
    const { code, stdout } = await cli('rounds', 'close-submissions', '--round', ROUND);
    expect(code).toBe(0);
    expect(stdout).toMatch(/phase +en évaluation \(inchangée : étape déjà faite\)/);
    expect(stdout).toMatch(/mails déjà envoyés +3/);
    expect(await ses.mails()).toHaveLength(3);
  });

  it('reviews list: one line per assignment, to_do until reviewed, drafts shown', async () => {
    const before = await cliJson('reviews', 'list', '--round', ROUND);
    expect(before).toHaveLength(6);
    expect(before.every((line: any) => line.state === 'to_do' && line.submittedAt === null)).toBe(true);

    // What the review page would write; Bob's review of 2003 is a draft.
    await rounds.putReview(review(2003, 'bob', 4, { status: 'draft', submittedAt: null, version: 1, scores: { [ROUNDS_CONFIG.criteria[0]!.id]: 4 }, writtenBy: 'reviewer' }));
    await rounds.putReview(review(2001, 'bob', 5));
    await rounds.putReview(review(2001, 'carole', 4));
    await rounds.putReview(review(2002, 'alice', 5, { conflictOfInterest: true }));
    await rounds.putReview(review(2002, 'bob', 3));
    await rounds.putReview(review(2003, 'alice', 2));

    const after = await cliJson('reviews', 'list', '--round', ROUND);
    expect(after.map((line: any) => [line.dossierNumber, line.reviewerEmail, line.state, line.counted, line.weightedMean])).toEqual([
      [2001, REVIEWERS.bob, 'submitted', true, 5],
      [2001, REVIEWERS.carole, 'submitted', true, 4],
      [2002, REVIEWERS.alice, 'conflict', false, null],
      [2002, REVIEWERS.bob, 'submitted', true, 3],
      [2003, REVIEWERS.alice, 'submitted', true, 2],
      [2003, REVIEWERS.bob, 'draft', false, null],
    ]);
    expect(after.at(-1)).toMatchObject({ scores: { [ROUNDS_CONFIG.criteria[0]!.id]: 4 }, submittedAt: null, writtenBy: 'reviewer' });
    expect(after.find((line: any) => line.state === 'conflict').comment).toBe('Avis de alice sur 2002');

    const { code, stdout, stderr } = await cli('reviews', 'list', '--round', ROUND);
    expect(code).toBe(0);
    const criteria = ROUNDS_CONFIG.criteria.map((criterion) => criterion.id.toUpperCase()).join(' {2}');
    expect(stdout.split('\n')[0]).toMatch(new RegExp(`^DOSSIER {2}ÉVALUATEUR +${criteria} {2}MOYENNE {2}ÉTAT +ENVOYÉE LE$`));
    expect(stdout).not.toContain('Avis de');
    expect(stdout).toMatch(new RegExp(` 2003 {2}bob\\.durand@example\\.fr +4${' +-'.repeat(ROUNDS_CONFIG.criteria.length)} {2}brouillon +-\\n`));
    expect(stderr).toMatch(/^session 2026-03 \(en évaluation, date limite \S+\) : 6 affectations : 4 envoyées \(4 comptées\), 1 lien d'intérêt, 1 brouillon, 0 à faire\n$/);
  });

  it('rounds show: the review progress of each reviewer, and the dossiers reassigned after a conflict', async () => {
    const show = await cliJson('rounds', 'show', ROUND);
    expect(show.reviewProgress.reviewers.map((r: any) => [r.email, r.name, r.toDo, r.draft, r.submitted, r.conflictsDeclared, r.replacementsReceived])).toEqual([
      [REVIEWERS.alice, 'Alice Martin', 0, 0, 1, 1, 0],
      [REVIEWERS.bob, 'Bob Durand', 0, 1, 2, 0, 0],
      [REVIEWERS.carole, 'Carole Petit', 0, 0, 1, 0, 0],
    ]);
    // Written straight into the table, Alice's conflict found no replacement (Carole's conflicts exclude 2002 too).
    expect(show.reviewProgress.reassignments).toEqual([{
      dossierNumber: 2002, withdrawnReviewerId: id('alice'), withdrawnReviewerEmail: REVIEWERS.alice, replacementReviewerId: null, replacementReviewerEmail: null,
    }]);
    const { stdout } = await cli('rounds', 'show', ROUND);
    expect(stdout).toContain('Avancement des évaluations : 3 évaluateurs');
    expect(stdout).toMatch(/ {2}ÉVALUATEUR +NOM +À FAIRE {2}BROUILLONS {2}ENVOYÉES {2}LIENS D'INTÉRÊT {2}REMPLACEMENTS\n/);
    expect(stdout).toMatch(/ {2}bob\.durand@example\.fr +Bob Durand +0 +1 +2 +0 +0\n/);
    expect(stdout).toContain(`Réaffectés après un lien d'intérêt déclaré : 1 dossier\n  dossier 2002 : ${REVIEWERS.alice} → aucun évaluateur disponible\n`);
  });

  it('remind with SES down: the mail fails, exit 5; run again, it is sent once', async () => {
    await writeStackFile('http://127.0.0.1:9');
    try {
      const { code, stdout, stderr } = await cli('rounds', 'remind', '--round', ROUND);
      expect(code).toBe(5);
      expect(stdout).toMatch(/mails en échec +1/);
      expect(stderr).toContain('remind: 1 mail not sent (SES refused or failed them); run the step again: it sends only those');
    } finally {
      await writeStackFile(ses.endpoint);
    }
    const result = await cliJson('rounds', 'remind', '--round', ROUND);
    expect(result).toMatchObject({ changed: false, status: 'reviewing', summary: { reviewersToRemind: 1, mailsSent: 1, mailFailures: 0 } });
    const reminders = (await ses.mails()).slice(3);
    expect(reminders.map((mail) => mail.destination.to)).toEqual([[REVIEWERS.bob]]);
    // Once a day at most.
    expect(await cliJson('rounds', 'remind', '--round', ROUND)).toMatchObject({ summary: { mailsSent: 0, mailsAlreadySent: 1 } });
    expect(await ses.mails()).toHaveLength(4);
  });

  it('reviewers send-link mails a fresh link once a day (in the local SES store); --print prints it; unknown addresses exit 3', async () => {
    const before = (await ses.mails()).length;
    const sent = await cliJson('reviewers', 'send-link', 'Bob.Durand@example.fr', '--round', ROUND);
    expect(sent).toMatchObject({ roundId: ROUND, reviewerId: id('bob'), mailed: true, alreadySent: false });
    expect(sent.link).toBeUndefined();
    const mails = await ses.mails();
    expect(mails).toHaveLength(before + 1);
    const mail = mails.at(-1)!;
    expect(mail).toMatchObject({ destination: { to: [REVIEWERS.bob] }, subject: `EIG session ${ROUND} : votre lien d'évaluation` });
    const token = /http:\/\/127\.0\.0\.1:9\/review\/2026-03\?token=(\S+)/.exec(mail.body.text ?? '')![1];
    expect(verifyReviewToken(LINK_SECRET, ROUND, token, new Date())).toMatchObject({ valid: true, reviewerId: id('bob'), expiresAt: new Date(sent.expiresAt) });

    const again = await cli('reviewers', 'send-link', REVIEWERS.bob, '--round', ROUND);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('today already (one a day): nothing sent');
    expect(await ses.mails()).toHaveLength(before + 1);

    const printed = await cli('reviewers', 'send-link', REVIEWERS.bob, '--round', ROUND, '--print');
    expect(printed.code).toBe(0);
    const link = printed.stdout.trim();
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:9\/review\/2026-03\?token=\S+$/);
    expect(verifyReviewToken(LINK_SECRET, ROUND, new URL(link).searchParams.get('token'), new Date())).toMatchObject({ valid: true, reviewerId: id('bob') });
    expect(printed.stderr).toMatch(/valid until \S+: give it to this reviewer only/);
    expect(await ses.mails()).toHaveLength(before + 1);

    const unknown = await cli('reviewers', 'send-link', 'mallory@example.fr', '--round', ROUND);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).not.toContain('mallory');
    expect((await cli('reviewers', 'send-link', REVIEWERS.bob, '--round', '2026-07')).code).toBe(3);
  });

  it('close-selection --dry-run shows the decisions it would write and the reviews missing', async () => {
    const { code, stdout } = await cli('rounds', 'close-selection', '--round', ROUND, '--dry-run');
    expect(code).toBe(0);
    expect(stdout).toMatch(/phase +en évaluation → close \(prévu\)/);
    expect(stdout).toMatch(/clôture refusée +évaluations manquantes/);
    expect(stdout).toContain(`Évaluations manquantes : 1 sur 1 dossier (non envoyées, brouillons compris)\n  DOSSIER  ÉVALUATEURS\n     2003  ${REVIEWERS.bob}\n`);
    expect(stdout).toMatch(/^ +RANG {2}DOSSIER {2}DÉCISION +SCORE {2}ÉVALUATIONS {2}POSTES {2}MOTIF$/m);
    expect(await rounds.listDecisions(ROUND)).toEqual([]);
  });

  it('close-selection with a review missing, before the deadline: refused (exit 6), naming what is missing on one line', async () => {
    const { code, stdout, stderr } = await cli('rounds', 'close-selection', '--round', ROUND);
    expect(code).toBe(6);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^ds-selection: refused: round ${ROUND} cannot close yet: 1 review missing \\(dossier 2003: ${id('bob')}\\), `
      + 'and the review deadline \\S+ has not passed; --force closes it anyway\\n$'));
    expect((await rounds.getRound(ROUND))?.status).toBe('reviewing');
    expect((await rounds.listAudit(ROUND)).at(-1)).toMatchObject({ step: 'close-selection', actor: ACTOR, summary: { refused: 'reviews_missing', reviewsMissing: 1 } });
  });

  it('reviews import refuses a file with wrong rows, naming line and column (never the address), and writes nothing (exit 4)', async () => {
    const header = ['dossier', 'email', ...ROUNDS_CONFIG.criteria.map((criterion) => criterion.id), 'comment', 'conflict'].join(',');
    await writeFile(join(workDir, 'bad-scores.csv'), [
      header,
      `2003,${REVIEWERS.bob},${scoreColumns(2, { 1: '6' })},,non`,
      `2003,nobody@example.fr,${scoreColumns(2)},,`,
      `2001,${REVIEWERS.alice},${scoreColumns(2)},,`,
      `2003,${REVIEWERS.bob},${scoreColumns(2, { 2: '' })},"Sans note, pourtant",non`,
      '',
    ].join('\r\n'));
    const before = await rounds.listReviews(ROUND);
    const { code, stdout, stderr } = await cli('reviews', 'import', 'bad-scores.csv', '--round', ROUND);
    expect(code).toBe(4);
    expect(stdout).toBe('');
    expect(stderr).toBe([
      'ds-selection: bad-scores.csv: 5 problems, nothing imported',
      `  line 2, column ${ROUNDS_CONFIG.criteria[1]!.id}: La note de « ${ROUNDS_CONFIG.criteria[1]!.label} » doit être un nombre entier de 1 à 5.`,
      '  line 3, column email: not the email of a known reviewer (ds-selection reviewers list)',
      `  line 4, column dossier: dossier 2001 is not assigned to this reviewer in round ${ROUND}`,
      `  line 5, column ${ROUNDS_CONFIG.criteria[2]!.id}: Notez « ${ROUNDS_CONFIG.criteria[2]!.label} » de 1 à 5 avant d'envoyer l'évaluation.`,
      '  line 5: same dossier and reviewer as line 2',
      '',
    ].join('\n'));
    expect(await rounds.listReviews(ROUND)).toEqual(before);
    await writeFile(join(workDir, 'bad-header.csv'), `dossier,email,${ROUNDS_CONFIG.criteria[0]!.id},originalite\n2003,x@example.fr,1,1\n`);
    const header2 = await cli('reviews', 'import', 'bad-header.csv', '--round', ROUND);
    expect(header2.code).toBe(4);
    expect(header2.stderr).toContain('line 1, column originalite: unknown column');
    expect(header2.stderr).toContain(`line 1, column ${ROUNDS_CONFIG.criteria[1]!.id}: missing column`);
  });

  it('reviews import --dry-run counts, then the import submits the rows as staff: reviews list shows them, audited', async () => {
    const header = ['dossier', 'email', ...ROUNDS_CONFIG.criteria.map((criterion) => criterion.id), 'comment', 'conflict'].join(',');
    await writeFile(join(workDir, 'scores.csv'), [
      header,
      `2003,${REVIEWERS.bob.toUpperCase()},${scoreColumns(2)},"Vu en comité : données absentes,\nà revoir",non`,
      `2001,${REVIEWERS.carole},${scoreColumns(4)},Confirmé en comité,`,
      '',
    ].join('\n'));
    const dry = await cliJson('reviews', 'import', 'scores.csv', '--round', ROUND, '--dry-run');
    expect(dry).toEqual({
      file: 'scores.csv', roundId: ROUND, dryRun: true, rows: 2, written: 2, newReviews: 0, replacedDrafts: 1, replacedSubmitted: 1,
      conflictsDeclared: 0, replacementsAssigned: 0, notWritten: 0, mailsSent: 0, mailFailures: 0,
    });
    expect((await cliJson('reviews', 'list', '--round', ROUND)).find((line: any) => line.dossierNumber === 2003 && line.reviewerId === id('bob')).state).toBe('draft');

    const { code, stdout, stderr } = await cli('reviews', 'import', 'scores.csv', '--round', ROUND);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe(`reviews import : 2 lignes lues dans scores.csv pour la session ${ROUND} : 2 écrites (0 nouvelle, 1 remplaçant un brouillon, 1 remplaçant une évaluation envoyée)\n`);
    const list = await cliJson('reviews', 'list', '--round', ROUND);
    expect(list.find((line: any) => line.dossierNumber === 2003 && line.reviewerId === id('bob'))).toMatchObject({
      state: 'submitted', counted: true, weightedMean: 2, scores: Object.fromEntries(ROUNDS_CONFIG.criteria.map((c) => [c.id, 2])),
      comment: 'Vu en comité : données absentes,\nà revoir', writtenBy: ACTOR, submittedAt: expect.any(String),
    });
    expect(list.find((line: any) => line.dossierNumber === 2001 && line.reviewerId === id('carole'))).toMatchObject({ state: 'submitted', writtenBy: ACTOR });
    expect(list.every((line: any) => line.state === 'submitted' || line.state === 'conflict')).toBe(true);
    expect((await rounds.getReview(ROUND, 2003, id('bob')))?.version).toBe(2);
    const audit = (await rounds.listAudit(ROUND)).at(-1)!;
    expect(audit).toMatchObject({ step: 'import-reviews', actor: ACTOR, summary: { rows: 2, written: 2, replacedDrafts: 1, replacedSubmitted: 1 } });
    expect(JSON.stringify(audit)).not.toMatch(/@|comité/);
  });

  it('dossiers exclude --dry-run writes nothing; exclude then include: reversible, audited, shown by rounds show', async () => {
    const dry = await cli('dossiers', 'exclude', '2003', '--round', ROUND, '--reason', 'Association : non éligible', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(`dossiers exclude : dossier 2003 exclu de la session ${ROUND} (simulation : rien n'est écrit) : `
      + 'ses évaluations manquantes ne bloquent plus la clôture, il ne sera pas classé. Motif : Association : non éligible\n');
    expect(await rounds.listExclusions(ROUND)).toEqual([]);

    const excluded = await cli('dossiers', 'exclude', '2003', '--round', ROUND, '--reason', 'Association : non éligible');
    expect(excluded.code, excluded.stderr).toBe(0);
    expect(await rounds.listExclusions(ROUND)).toMatchObject([{ dossierNumber: 2003, excluded: true, reason: 'Association : non éligible', actor: ACTOR }]);
    const shown = await cli('rounds', 'show', ROUND);
    expect(shown.stdout).toContain("Exclus par l'équipe : 1 dossier\n  dossier 2003 : Association : non éligible\n");
    expect((await cliJson('rounds', 'show', ROUND)).exclusions).toMatchObject([{ dossierNumber: 2003, excluded: true }]);
    // Excluded, it cannot be decided on: include it first (exit 6).
    const decideExcluded = await cli('rounds', 'decide', '--round', ROUND, '--dossier', '2003', '--outcome', 'selected', '--reason', 'x');
    expect(decideExcluded.code).toBe(6);
    expect(decideExcluded.stderr).toContain(`dossier 2003 is excluded from round ${ROUND}: include it first`);

    const included = await cliJson('dossiers', 'include', '2003', '--round', ROUND, '--reason', 'Éligibilité confirmée');
    expect(included).toMatchObject({ excluded: false, changed: true, previous: { excluded: true } });
    expect((await rounds.listAudit(ROUND)).filter((a) => a.step === 'exclude-dossier' || a.step === 'include-dossier').map((a) => [a.step, a.actor, a.summary])).toEqual([
      ['exclude-dossier', ACTOR, { dossierNumber: 2003, excluded: true, changed: true, phase: 'reviewing' }],
      ['include-dossier', ACTOR, { dossierNumber: 2003, excluded: false, changed: true, phase: 'reviewing' }],
    ]);
    // Not a dossier of the round: 3; no reason: commander's usage error, 4.
    expect((await cli('dossiers', 'exclude', '9999', '--round', ROUND, '--reason', 'x')).code).toBe(3);
    expect((await cli('dossiers', 'exclude', '2003', '--round', ROUND)).code).toBe(4);
    expect((await cli('dossiers', 'exclude', '2003', '--round', ROUND, '--reason', '  ')).code).toBe(4);
  });

  it('rounds decide: recorded and audited; a selected over the round capacity is refused (exit 6) with the numbers', async () => {
    const dry = await cli('rounds', 'decide', '--round', ROUND, '--dossier', '2001', '--outcome', 'selected', '--reason', 'Priorité du comité', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.split('\n')[0]).toBe(`rounds decide : session ${ROUND}, dossier 2001 : sélectionné (simulation : rien n'est écrit)`);
    expect(await rounds.listCommitteeDecisions(ROUND)).toEqual([]);

    expect((await cli('rounds', 'decide', '--round', ROUND, '--dossier', '2001', '--outcome', 'selected', '--reason', 'Priorité du comité')).code).toBe(0);
    const second = await cliJson('rounds', 'decide', '--round', ROUND, '--dossier', '2002', '--outcome', 'selected', '--reason', 'Équipe prête');
    expect(second).toMatchObject({ outcome: 'selected', committeePosts: 5, capacity: { roundCapacityPosts: 5 } });
    const over = await cli('rounds', 'decide', '--round', ROUND, '--dossier', '2003', '--outcome', 'selected', '--reason', 'Aussi');
    expect(over.code).toBe(6);
    expect(over.stderr).toBe(`ds-selection: refused: dossier 2003 asks for 1 post and the committee has selected 5 in round ${ROUND} already: `
      + '6 would exceed the round capacity of 5 posts\n');
    expect((await cli('rounds', 'decide', '--round', ROUND, '--dossier', '2003', '--outcome', 'not_selected', '--reason', 'Données absentes : à représenter')).code).toBe(0);
    expect((await cli('rounds', 'decide', '--round', ROUND, '--dossier', '2003', '--outcome', 'maybe', '--reason', 'x')).code).toBe(4);
    expect(await rounds.listCommitteeDecisions(ROUND)).toMatchObject([
      { dossierNumber: 2001, outcome: 'selected', actor: ACTOR }, { dossierNumber: 2002, outcome: 'selected' }, { dossierNumber: 2003, outcome: 'not_selected' },
    ]);
    const audit = (await rounds.listAudit(ROUND)).filter((a) => a.step === 'decide');
    expect(audit.map((a) => a.summary)).toEqual([
      { dossierNumber: 2001, outcome: 'selected', previousOutcome: null, committeePosts: 2 },
      { dossierNumber: 2002, outcome: 'selected', previousOutcome: null, committeePosts: 5 },
      { dossierNumber: 2003, outcome: 'not_selected', previousOutcome: null, committeePosts: 5 },
    ]);
    expect(JSON.stringify(audit)).not.toMatch(/Priorité|Données/);
    // An earlier round of the year, closed with 25 posts: this round's 5 are all that is left of the ceiling of 30.
    await rounds.createRound({ ...(await rounds.getRound(ROUND))!, id: '2026-01', status: 'closed', selectionClosedAt: '2026-03-01T08:00:00.000Z' });
    await rounds.putDecisions([{
      roundId: '2026-01', dossierNumber: 1001, outcome: 'selected', rank: 1, score: 4, reviewCount: 2, eigPostsRequested: 25, reasonCode: 'selected_within_capacity', reason: '',
    }]);
  });

  it('close-selection with every review in, before the deadline: refused; --force closes, audited as forced', async () => {
    const refused = await cli('rounds', 'close-selection', '--round', ROUND);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/cannot close yet: every review is in, but the review deadline \S+ has not passed; --force closes it anyway\n$/);
    expect((await rounds.listAudit(ROUND)).at(-1)).toMatchObject({ summary: { refused: 'before_deadline', reviewsMissing: 0 } });
  });

  it('close-selection --force ranks, decides, writes the report to S3 and mails the staff', async () => {
    const result = await cliJson('rounds', 'close-selection', '--round', ROUND, '--force');
    expect(result).toMatchObject({
      changed: true, status: 'closed', missingReviews: [], summary: { selected: 2, notSelected: 1, mailsSent: 1, forced: true, reviewsMissing: 0, deadlinePassed: false },
    });
    expect((await rounds.listAudit(ROUND)).at(-1)).toMatchObject({ step: 'close-selection', actor: ACTOR, summary: { forced: true } });
    const staffMail = (await ses.mails()).at(-1)!;
    expect(staffMail.destination.to).toEqual(ROUNDS_CONFIG.staffEmails);
    expect(await rounds.listAudit(ROUND)).toContainEqual(expect.objectContaining({ step: 'close-selection', actor: ACTOR }));
    // Closed: the step is done, a second run changes nothing (exit 0).
    expect(await cliJson('rounds', 'close-selection', '--round', ROUND)).toMatchObject({ changed: false, status: 'closed' });
  });

  it('once closed, dossiers exclude and rounds decide are refused (exit 6), nothing written', async () => {
    const exclude = await cli('dossiers', 'exclude', '2003', '--round', ROUND, '--reason', 'Trop tard');
    expect(exclude.code).toBe(6);
    expect(exclude.stderr).toBe(`ds-selection: refused: round ${ROUND} is closed: its decisions are final, excluding a dossier is no longer possible\n`);
    const decide = await cli('rounds', 'decide', '--round', ROUND, '--dossier', '2003', '--outcome', 'selected', '--reason', 'x');
    expect(decide.code).toBe(6);
    expect((await rounds.listExclusions(ROUND)).every((e) => !e.excluded)).toBe(true);
  });

  it('report prints the decisions of the closed round', async () => {
    const { code, stdout, stderr } = await cli('report', '--round', ROUND);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Session 2026-03, sélection close le \S+ : 3 dossiers, 3 classés \(5 évaluations comptées\), 2 sélectionnés \(5 postes EIG sur 5\), 0 en liste d'attente, 1 non sélectionné$/);
    // The round's capacity and the yearly ceiling: 25 posts went to 2026-01, 5 are left, this round filled them.
    expect(lines[1]).toBe('Postes : capacité de la session 5 postes ; plafond 2026 30 postes, 25 postes déjà pourvus par les sessions closes avant, il en reste 5 ; '
      + 'à pourvoir dans cette session : 5 postes ; pourvus : 5 postes.');
    expect(lines[2]).toBe('Hors classement ou décidés par le comité : 3 décisions du comité (proposition du classement en regard).');
    expect(lines[3]).toMatch(/^Postes sélectionnés par profil : aucun profil renseigné/);
    const header = lines.findIndex((line) => line.startsWith('RANG'));
    expect(lines[header]).toMatch(/^RANG {2}DOSSIER {2}PROPOSITION +DÉCISION +SCORE {2}ÉVALUATIONS {2}POSTES {2}ÉLIGIBILITÉ +TITRE +MOTIF$/);
    expect(lines.slice(header + 1, header + 4).map((line) => line.trim().split(/ {2,}/).slice(0, 6))).toEqual([
      ['1', '2001', 'sélectionné', 'sélectionné', '4,50', '2'],
      ['2', '2002', 'sélectionné', 'sélectionné', '3,00', '1'],
      ['3', '2003', 'non sélectionné', 'non sélectionné', '2,00', '2'],
    ]);
    expect(stderr).toBe(`\nLe rapport écrit par close-selection : s3://${s3.bucket}/reports/2026-03/selection.{json,csv}\n`);
  });

  it('report --json prints the report; --out writes the JSON and the CSV, the same bytes as in S3', async () => {
    const report = await cliJson('report', '--round', ROUND);
    expect(report).toMatchObject({
      roundId: ROUND, capacityPosts: 5, totals: { selected: 2, postsSelected: 5, committeeDecisions: 3 },
      capacity: { roundCapacityPosts: 5, ceilingPosts: 30, period: '2026', usedBefore: 25, earlierRounds: ['2026-01'], ceilingLeft: 5, availablePosts: 5 },
      profiles: { selected: [] },
    });
    expect(report.decisions.find((line: any) => line.dossierNumber === 2003)).toMatchObject({
      proposedOutcome: 'not_selected', outcome: 'not_selected', reasonCode: 'committee_decision', committeeReason: 'Données absentes : à représenter',
      eligibility: { flag: expect.stringMatching(/^(eligible|to_check|ineligible)$/) },
    });
    expect(report.decisions.map((line: any) => [line.dossierNumber, line.outcome, line.title])).toEqual([
      [2001, 'selected', 'Projet 2001'], [2002, 'selected', 'Projet 2002'], [2003, 'not_selected', 'Projet 2003'],
    ]);

    const { code, stderr } = await cli('report', '--round', ROUND, '--out', 'selection');
    expect(code).toBe(0);
    expect(stderr).toContain(`wrote ${join(workDir, 'selection', 'selection.json')} and ${join(workDir, 'selection', 'selection.csv')}`);
    const csv = await readFile(join(workDir, 'selection', 'selection.csv'));
    const s3Csv = Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'reports/2026-03/selection.csv' }))).Body!.transformToByteArray());
    expect(csv.equals(s3Csv)).toBe(true);
    const text = csv.toString('utf8');
    expect(text.startsWith('\uFEFFrang,dossier,titre,administration')).toBe(true);
    expect(text.split('\r\n')[1]).toMatch(/^1,2001,Projet 2001,Administration 2001,2,,[^,]*,[^\r\n]*,4\.5,2,sélectionné,sélectionné,"Rang 1, score 4,5 : décision du comité : Priorité du comité \(2 postes demandés\)\."\r?$/);
    expect(JSON.parse(await readFile(join(workDir, 'selection', 'selection.json'), 'utf8'))).toEqual(report);
  });

  it('rounds list shows the closed round; bin/ds-selection.js exits 6 for a refused step', async () => {
    expect((await cliJson('rounds', 'list')).find((round: any) => round.round === ROUND)).toMatchObject({ round: ROUND, phase: 'closed' });
    let failure: { code: number; stderr: string } | undefined;
    try {
      await execFileAsync(process.execPath, [BIN, 'rounds', 'remind', '--round', ROUND], { cwd: workDir, env: { ...process.env, DATA_DIR: dataDir } });
    } catch (error) {
      failure = error as { code: number; stderr: string };
    }
    // remind of a closed round does nothing (later phase): exit 0. A round never opened is refused.
    expect(failure).toBeUndefined();
    try {
      await execFileAsync(process.execPath, [BIN, 'rounds', 'close-submissions', '--round', '2026-05'], { cwd: workDir, env: { ...process.env, DATA_DIR: dataDir } });
    } catch (error) {
      failure = error as { code: number; stderr: string };
    }
    expect(failure?.code).toBe(3);
    expect(failure?.stderr).toContain('ds-selection: round 2026-05 has not been opened (ds-selection rounds open --round 2026-05)');
  });
});

describe('exit codes follow the table (docs/cli.md): 3 not found, 4 usage, 6 refused, whatever the command', () => {
  // Runs after the round above is closed; nothing here writes.
  it.each([
    { argv: ['reviewers', 'import', 'nope.csv'], code: 3, message: /^ds-selection: cannot read nope\.csv: no such file \(\S+nope\.csv\)\n$/ },
    { argv: ['reviews', 'import', 'nope.csv', '--round', ROUND], code: 3, message: /cannot read nope\.csv: no such file/ },
    { argv: ['dossiers', 'show', '999999'], code: 3, message: /dossier 999999 not found/ },
    { argv: ['rounds', 'show', '2025-01'], code: 3, message: /no dossier in round 2025-01, and the round has not been opened/ },
    { argv: ['report', '--round', '2025-01'], code: 3, message: /round 2025-01 has not been opened: no report/ },
    { argv: ['reviews', 'list', '--round', '2025-01'], code: 3, message: /round 2025-01 has not been opened: no reviews/ },
    { argv: ['rounds', 'close-submissions', '--round', '2025-01'], code: 3, message: /round 2025-01 has not been opened \(ds-selection rounds open --round 2025-01\)/ },
    { argv: ['rounds', 'close-selection', '--round', '2025-01', '--dry-run'], code: 3, message: /round 2025-01 has not been opened/ },
    { argv: ['reviewers', 'send-link', 'nobody@example.fr', '--round', ROUND], code: 3, message: /./ },
    { argv: ['reviewers', 'import', '.'], code: 4, message: /cannot read \.: it is a folder/ },
    { argv: ['rounds', 'open', '--round', '2026-04'], code: 4, message: /must be a round id/ },
    { argv: ['rounds', 'frobnicate'], code: 4, message: /unknown command/ },
    { argv: ['rounds', 'open', '--round', '2025-01'], code: 6, message: /refused: round 2025-01 is past/ },
    { argv: ['reviews', 'import', 'scores.csv', '--round', ROUND], code: 6, message: /refused: / },
  ])('$argv exits $code', async ({ argv, code, message }) => {
    const result = await cli(...argv);
    expect(result.code, result.stderr).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});

describe('--stage: the round steps of a deployed stack (AWS mocked)', () => {
  let mocks: { restore(): void }[] = [];
  const API_URL = 'https://abc.execute-api.eu-west-3.amazonaws.com/';
  const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:review-link';
  const stageOutputs = (extra: Record<string, string> = { ReviewLinkSecretArn: SECRET_ARN }): Output[] => Object.entries({
    ApiUrl: API_URL, V2WebhookUrl: `${API_URL}webhooks/ds-v2`, TableName: 'DsSelection-dev-Table', BucketName: 'dsselection-dev-bucket',
    IngestQueueUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest',
    DeadLetterQueueUrl: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest-dlq', ...extra,
  }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

  function mockStage(outputList: Output[]) {
    const cloudFormation = mockClient(CloudFormationClient);
    cloudFormation.on(DescribeStacksCommand, { StackName: 'DsSelection-dev' }).resolves({
      Stacks: [{ StackName: 'DsSelection-dev', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: outputList }],
    });
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: 'stage-review-link-key\n' });
    mocks.push(cloudFormation, secrets);
    return { secrets };
  }

  afterEach(() => {
    for (const mock of mocks) mock.restore();
    mocks = [];
  });

  it('signs review links with the ReviewLinkSecretArn secret, for the review page at ApiUrl', async () => {
    const { secrets } = mockStage(stageOutputs());
    const connection = await connect({ stage: 'dev' }, { stdout: { write: () => {} }, stderr: { write: () => {} }, env: {}, cwd: workDir });
    try {
      const deps = await connection.roundStepDependencies();
      expect(deps.reviewLinks).toEqual({ baseUrl: API_URL, secret: 'stage-review-link-key' });
      expect(deps.config.mailFrom).toBe(ROUNDS_CONFIG.mailFrom);
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    } finally {
      connection.close();
    }
  });

  it('open --dry-run reads the stage\'s table, writes nothing', async () => {
    mockStage(stageOutputs());
    const dynamoDb = mockClient(DynamoDBDocumentClient);
    mocks.push(dynamoDb);
    dynamoDb.on(GetCommand).resolves({});
    dynamoDb.on(QueryCommand).resolves({ Items: [] });
    const current = roundOf(new Date().toISOString());
    const result = await cliJson('--stage', 'dev', 'rounds', 'open', '--round', current, '--dry-run');
    expect(result).toMatchObject({ step: 'open', roundId: current, dryRun: true, plan: { round: { status: 'open' } } });
    expect(dynamoDb.commandCalls(GetCommand)[0]!.args[0].input.TableName).toBe('DsSelection-dev-Table');
    expect(dynamoDb.calls().map((call) => call.args[0].constructor.name).filter((name) => !['GetCommand', 'QueryCommand'].includes(name))).toEqual([]);
  });

  it('a stack without ReviewLinkSecretArn exits 2, saying to redeploy', async () => {
    mockStage(stageOutputs({}));
    const { code, stderr } = await cli('--stage', 'dev', 'rounds', 'remind', '--dry-run');
    expect(code).toBe(2);
    expect(stderr).toContain('stack DsSelection-dev has no ReviewLinkSecretArn output: redeploy it');
  });
});
