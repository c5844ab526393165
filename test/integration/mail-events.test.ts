import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { MAIL_EVENTS_ROUND } from '#core/mail-events/handle-mail-event';
import { messageTagsOf } from '#core/mail-events/message-tags';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import type { StackOutputs } from '#infra/stack-outputs';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { cliRunner } from '../helpers/cli-runner.ts';
import { lambdaContext } from '../helpers/lambda.ts';
import { readJson } from '../helpers/samples.ts';
import { startSesLocal, type SesEngine, type StoredMail } from '../helpers/ses-engine.ts';

/*
 * Issue 8 point 3, "Done when": a simulated permanent bounce suppresses that reviewer before the
 * next reminder, and staff get one mail about it. On dynalite and aws-ses-v2-local, through the
 * staff CLI (found through a stack.json, as with `npm start`) and the handler module the Lambda
 * runs (`mails inject-event` feeds it; this file also calls it directly). The tests run in order.
 */

const ROUND = '2026-03';
const STAFF = ROUNDS_CONFIG.staffEmails;
const ALICE = 'alice.martin@example.gouv.fr';
const BOB = 'bob.durand@example.fr';

let dynamo: RunningEngine;
let ses: SesEngine;
let rounds: DynamoRoundRepository;
let dataDir: string;
let workDir: string;
let handler: (event: unknown, context: Context) => Promise<any>;
const { cli, cliJson } = cliRunner(() => ({ dataDir, workDir }));

const mailsTo = (mails: StoredMail[], email: string) => mails.filter((m) => m.destination.to.includes(email));
const staffMails = async () => (await ses.mails()).filter((m) => STAFF.every((address) => m.destination.to.includes(address)) && /adresse suspendue/.test(m.subject));
const idOf = async (email: string) => (await rounds.listReviewers()).find((r) => r.email === email)!.id;

function dossier(number: number, siret: string): DossierRecord {
  const at = '2026-03-05T14:22:11+01:00';
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: at, modifiedAtMs: Date.parse(at),
    dateDepot: at, round: ROUND, issues: [], attachments: [], filesComplete: true, snapshotKey: null, ingestedAt: '2026-03-05T16:31:00.000Z',
    project: { title: `Projet ${number}`, administration: { name: `Administration ${number}`, siret }, eigPostsRequested: 1 },
  };
}

beforeAll(async () => {
  [dataDir, workDir] = await Promise.all([mkdtemp(join(tmpdir(), 'mail-events-data-')), mkdtemp(join(tmpdir(), 'mail-events-work-'))]);
  [dynamo, ses] = await Promise.all([startDynalite(), startSesLocal()]);
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const outputs: StackOutputs = {
    stage: 'local', region: 'eu-west-3', ApiUrl: 'http://127.0.0.1:9/', V2WebhookUrl: 'http://127.0.0.1:9/webhooks/ds-v2',
    TableName: dynamo.tableName, BucketName: 'unused',
    IngestQueueUrl: 'http://127.0.0.1:9/000000000000/ingest', DeadLetterQueueUrl: 'http://127.0.0.1:9/000000000000/ingest-dlq',
    local: {
      endpoints: { dynamodb: dynamo.endpoint, s3: 'http://127.0.0.1:9', sqs: 'http://127.0.0.1:9', ses: ses.endpoint },
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, dsApiUrl: 'http://127.0.0.1:9/api/v2/graphql', dsApiToken: 'unused',
      demarcheNumbers: [98765], mailUrl: `${ses.endpoint}/`, reviewPageUrl: 'http://127.0.0.1:9/', reviewLinkSecret: 'mail-events-test-review-link-secret',
      dataDir, pid: process.pid,
    },
  };
  await writeFile(join(dataDir, 'stack.json'), JSON.stringify(outputs, null, 2));
  const dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  for (const record of [dossier(3001, '11111111111111'), dossier(3002, '22222222222222')]) await dossiers.saveIfNewer(record);
  await writeFile(join(workDir, 'comite.csv'), `email,name,conflicts\n${ALICE},Alice Martin,\n${BOB},Bob Durand,\n`);
  expect((await cli('reviewers', 'import', 'comite.csv')).code).toBe(0);
  expect((await cli('rounds', 'open', '--round', ROUND, '--force')).code).toBe(0);
  expect((await cli('rounds', 'close-submissions', '--round', ROUND)).code).toBe(0);
});

afterAll(async () => {
  await Promise.allSettled([dynamo?.stop(), ses?.stop()]);
  await Promise.all([dataDir, workDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('mail events, end to end on the local engines', () => {
  it('the round mails are tagged with their notification: a delivery event through the handler records its outcome, once', async () => {
    // The mails went out through SES with their tags (aws-ses-v2-local accepts and ignores them).
    expect(mailsTo(await ses.mails(), ALICE)).toHaveLength(1);
    const aliceId = await idOf(ALICE);
    const notification = (await rounds.listNotifications(ROUND)).find((n) => n.reviewerId === aliceId && n.key === 'assignment')!;
    expect(notification.messageId).toEqual(expect.any(String));
    const event = readJson('events/ses-delivery.json');
    event.detail.mail.messageId = notification.messageId;
    event.detail.delivery.recipients = [ALICE];
    event.detail.mail.tags = { 'ses:configuration-set': ['local'], ...Object.fromEntries(messageTagsOf({ roundId: ROUND, reviewerId: aliceId, key: 'assignment' }).map((t) => [t.Name, [t.Value]])) };

    // The handler module the Lambda runs, the local stack's engines in its environment (as `mails inject-event` loads it).
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_SESV2: ses.endpoint, TABLE_NAME: dynamo.tableName,
    });
    handler = (await import('../../functions/handle-mail-events.ts')).handler as unknown as typeof handler;
    expect(await handler(event, lambdaContext('handle-mail-events'))).toMatchObject({ outcome: 'delivered', notification: 'recorded', suppression: null });
    expect(await handler(event, lambdaContext('handle-mail-events'))).toMatchObject({ notification: 'unchanged' });
    const stored = (await rounds.listNotifications(ROUND)).find((n) => n.reviewerId === aliceId && n.key === 'assignment');
    expect(stored).toMatchObject({ status: 'sent', outcome: 'delivered', outcomeAt: '2026-03-14T08:00:02.840Z' });
    expect((await rounds.getReviewer(aliceId))?.suppressed).toBeUndefined();
  });

  it('a malformed event fails the invocation (retried, then the dead-letter queue)', async () => {
    await expect(handler({ source: 'aws.ses', 'detail-type': 'Email Bounced', id: 'x', detail: {} }, lambdaContext('handle-mail-events')))
      .rejects.toMatchObject({ name: 'InvalidMailEventError' });
  });

  it('done when: an injected permanent bounce suppresses Alice; the next reminder skips her; staff get one mail, however often it comes', async () => {
    const before = await ses.mails();
    const injected = await cliJson('mails', 'inject-event', join(process.cwd(), 'events/ses-bounce.json'), '--to', ALICE);
    const aliceId = await idOf(ALICE);
    expect(injected).toMatchObject({ eventType: 'Bounce', suppression: 'bounce', suppressed: [aliceId], staffMails: { sent: 1, alreadySent: 0, failed: 0 } });
    expect(JSON.stringify(injected)).not.toContain('@');
    // Replayed (SES delivers at least once): nothing more.
    const { code, stdout } = await cli('mails', 'inject-event', join(process.cwd(), 'events/ses-bounce.json'), '--to', ALICE.toUpperCase());
    expect(code).toBe(0);
    expect(stdout).toMatch(/^mails inject-event: Bounce \(outcome bounced\); 0 reviewers suppressed \(bounce\), 1 already; staff mails: 0 sent, 1 already sent/);

    const remind = await cliJson('rounds', 'remind', '--round', ROUND);
    expect(remind.summary).toMatchObject({ reviewersToRemind: 1, reviewersUnreachable: 1, mailsSent: 1 });
    const after = (await ses.mails()).slice(before.length);
    expect(mailsTo(after, ALICE)).toEqual([]);
    expect(mailsTo(after, BOB).map((m) => m.subject)).toEqual([expect.stringContaining('rappel')]);
    const staff = await staffMails();
    expect(staff).toHaveLength(1);
    expect(staff[0]!.body.text).toContain(`Alice Martin (${ALICE})`);
    // A complaint later about the same address: still the one mail.
    await cliJson('mails', 'inject-event', join(process.cwd(), 'events/ses-complaint.json'), '--to', ALICE);
    expect(await staffMails()).toHaveLength(1);
    // The staff mail is a notification of the pseudo-round, tagged like the others.
    expect((await rounds.listNotifications(MAIL_EVENTS_ROUND)).map((n) => [n.reviewerId, n.status])).toEqual([['staff', 'sent']]);
  });

  it('reviewers list shows the suppression and why; unsuppress lifts it, audited without the address; an unknown address exits 3', async () => {
    const list = await cliJson('reviewers', 'list');
    expect(list.find((r: any) => r.email === ALICE)).toMatchObject({ suppressed: true, suppressedReason: 'bounce', suppressedAt: '2026-03-14T08:00:02.669Z' });
    expect(list.find((r: any) => r.email === BOB)).toMatchObject({ suppressed: false, suppressedReason: null, suppressedAt: null });
    const { stdout, stderr } = await cli('reviewers', 'list');
    expect(stdout).toMatch(/alice\.martin@example\.gouv\.fr +Alice Martin +no \(mail suppressed: bounce 2026-03-14\)/);
    expect(stderr).toContain('2 reviewers (1 active, 1 suppressed by SES');

    expect((await cli('reviewers', 'unsuppress', 'nobody@example.org')).code).toBe(3);
    const lifted = await cliJson('reviewers', 'unsuppress', ALICE);
    expect(lifted).toEqual({ reviewerId: await idOf(ALICE), changed: true, previousReason: 'bounce', previousAt: '2026-03-14T08:00:02.669Z' });
    expect((await cliJson('reviewers', 'list')).find((r: any) => r.email === ALICE)).toMatchObject({ suppressed: false, active: true });
    expect((await cliJson('reviewers', 'unsuppress', ALICE)).changed).toBe(false);
    const audit = await rounds.listAudit(MAIL_EVENTS_ROUND);
    expect(audit.map((a) => a.step)).toEqual(['suppress-reviewer', 'unsuppress-reviewer']);
    expect(JSON.stringify(audit)).not.toContain('@');
  });

  it('inject-event refuses a file that is no SES event, and a bad --to (exit 4)', async () => {
    expect((await cli('mails', 'inject-event', join(process.cwd(), 'events/scheduler-run-round-step.json'))).code).toBe(4);
    expect((await cli('mails', 'inject-event', join(process.cwd(), 'events/ses-bounce.json'), '--to', 'not-an-address')).code).toBe(4);
  });
});
