import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DossierRecord, DossierStatus } from '#core/dossier';
import { roundOf } from '#core/round';
import type { ReviewerRecord } from '#core/rounds/model';
import { verifyReviewToken } from '#core/rounds/review-links';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { captureFunctionLogs, lambdaContext, withEnv } from '../helpers/lambda.ts';
import { readJson } from '../helpers/samples.ts';
import { S3RVER_CREDENTIALS, startS3rver, type S3Engine } from '../helpers/s3-engine.ts';
import { startSesLocal, type SesEngine, type StoredMail } from '../helpers/ses-engine.ts';
import { testReviewerId } from '../helpers/memory-round-ports.ts';

// run-round-step, the real handler module, against dynalite, s3rver and aws-ses-v2-local: a whole
// round, from opening to the selection report, with each step fired twice and dry-run first.
// The tests run in order: each starts from the state the previous one left.

const ROUND = roundOf(new Date().toISOString());
const SECRET = 'review-link-secret-for-tests-0123456789';
const REVIEW_PAGE_URL = 'http://127.0.0.1:3999/';
const MAIL_FROM = 'selection-test@example.gouv.fr';
const STAFF = ROUNDS_CONFIG.staffEmails;
const SIRET = { a: '11000000100011', b: '12000000200029', c: '13000000300037', d: '14000000400045' };

let dynamo: RunningEngine;
let s3: S3Engine;
let ses: SesEngine;
let rounds: DynamoRoundRepository;
let dossiers: DynamoDossierRepository;
let handler: (event: unknown, context: Context) => Promise<any>;
let restoreEnv: () => void;
const logLines: string[] = [];

const reviewer = (email: string, overrides: Partial<ReviewerRecord> = {}): ReviewerRecord =>
  ({ id: testReviewerId(email), email, name: email.split('@')[0]!, conflicts: [], active: true, ...overrides });
const alice = reviewer('alice.martin@example.gouv.fr');
const bruno = reviewer('bruno.petit@example.gouv.fr', { conflicts: [SIRET.a] });
const chloe = reviewer('chloe.durand@example.gouv.fr');
const denis = reviewer('denis.roux@example.gouv.fr', { active: false });

function dossier(number: number, round: string, status: DossierStatus, siret: string, eigPostsRequested: number): DossierRecord {
  const at = '2026-03-05T14:22:11+01:00';
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status, dateDerniereModification: at, modifiedAtMs: Date.parse(at) + number,
    dateDepot: at, round, issues: [], attachments: [], filesComplete: status === 'stored', snapshotKey: null, ingestedAt: new Date().toISOString(),
    project: { title: `Projet ${number}`, administration: { name: `Administration ${number}`, siret }, eigPostsRequested },
  };
}

const context = () => lambdaContext('run-round-step');
const run = (event: unknown) => handler(event, context());
const mailsTo = (mails: StoredMail[], email: string) => mails.filter((m) => m.destination.to.includes(email));

/** Everything a step may write or send: a dry run must leave all of it as it was. */
async function state(roundId = ROUND) {
  const [round, assignments, reviews, notifications, decisions, audit, mails, objects] = await Promise.all([
    rounds.getRound(roundId), rounds.listAssignments(roundId), rounds.listReviews(roundId), rounds.listNotifications(roundId),
    rounds.listDecisions(roundId), rounds.listAudit(roundId), ses.mails(),
    s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket })).then((r) => (r.Contents ?? []).map((o) => o.Key)),
  ]);
  return { round, assignments, reviews, notifications, decisions, audit, mails, objects };
}

/** The token of the review link in a mail, checked against the key and the round. */
function linkedReviewer(mail: StoredMail, roundId = ROUND): string | undefined {
  const match = /(http:\/\/127\.0\.0\.1:3999\/review\/([^?\s]+)\?token=([A-Za-z0-9_.-]+))/.exec(mail.body.text ?? '');
  if (!match || decodeURIComponent(match[2]!) !== roundId) return undefined;
  const check = verifyReviewToken(SECRET, roundId, match[3], new Date());
  return check.valid ? check.reviewerId : undefined;
}

beforeAll(async () => {
  [dynamo, s3, ses] = await Promise.all([startDynalite(), startS3rver({ bucket: 'ds-selection-rounds-test' }), startSesLocal()]);
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  await rounds.putReviewers([alice, bruno, chloe, denis]);
  for (const record of [
    dossier(101, ROUND, 'stored', SIRET.a, 2),
    dossier(102, ROUND, 'stored', SIRET.b, 1),
    dossier(103, ROUND, 'files_pending', SIRET.c, 2),
    dossier(104, ROUND, 'invalid', SIRET.d, 1),
  ]) await dossiers.saveIfNewer(record);

  restoreEnv = withEnv({
    TABLE_NAME: dynamo.tableName, BUCKET_NAME: s3.bucket, REVIEW_PAGE_URL, REVIEW_LINK_SECRET: SECRET, MAIL_FROM,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ENDPOINT_URL_SESV2: ses.endpoint,
    AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  vi.resetModules();
  handler = (await import('../../functions/run-round-step.ts')).handler as unknown as typeof handler;
  // The function's log lines, to check they carry no personal data.
  captureFunctionLogs(logLines);
});
afterAll(async () => {
  vi.restoreAllMocks();
  restoreEnv?.();
  await Promise.all([dynamo?.stop(), s3?.stop(), ses?.stop()]);
});

describe('run-round-step on dynalite, s3rver and aws-ses-v2-local', () => {
  it('refuses an invalid event with a message naming each bad field, and writes nothing', async () => {
    await expect(run({})).rejects.toMatchObject({ name: 'InvalidScheduleEventError', message: expect.stringMatching(/invalid round step event:[\s\S]*step must be one of open, close-submissions, remind, close-selection/) });
    await expect(run({ step: 'open', round: '2026-02' })).rejects.toThrow(/a round id is the year and opening month, e\.g\. 2026-03[\s\S]*→ at round/);
    await expect(run({ step: 'close-selection', dryRun: 'yes' })).rejects.toThrow(/dryRun must be true or false/);
    await expect(run({ step: 'close-selection', force: 1 })).rejects.toThrow(/force must be true or false/);
    await expect(run({ step: 'remind', actor: 'someone@example.gouv.fr' })).rejects.toThrow(/actor must be "schedule" or "staff:<name>"/);
    await expect(run({ step: 'remind', roundId: ROUND })).rejects.toThrow(/Unrecognized key: "roundId"/);
    await expect(run({ step: 'open', round: '2020-01', force: true })).rejects.toThrow(/force is for staff only: set actor to "staff:<name>" \(the schedules never force\)/);
    await expect(run(null)).rejects.toThrow(/invalid round step event/);
    expect(await rounds.listRounds()).toEqual([]);
  });

  it('before any round: a scheduled step has nothing to do, the same asked by staff is refused', async () => {
    expect(await run({ step: 'close-selection' })).toEqual({
      step: 'close-selection', roundId: null, dryRun: false, changed: false, status: null, summary: { nothingToDo: true, reason: 'no_round' },
    });
    await expect(run({ step: 'close-submissions', actor: 'staff:jdupont' })).rejects.toMatchObject({
      name: 'RoundStepRefusedError', reason: 'no_round', message: expect.stringMatching(/no round is open/),
    });
    expect(await run({ step: 'remind' })).toMatchObject({ roundId: null, summary: { rounds: 0, reviewersToRemind: 0 } });
    expect(await rounds.listRounds()).toEqual([]);
  });

  it('open of a round whose period has ended is refused, naming the current round; staff may force it (dry run here)', async () => {
    await expect(run({ step: 'open', round: '2020-01', actor: 'staff:jdupont' })).rejects.toMatchObject({
      name: 'RoundPastError', reason: 'round_past', roundId: '2020-01', currentRoundId: ROUND,
      message: expect.stringMatching(new RegExp(`^round 2020-01 is past: its period \\(January and February 2020\\) ended on 29 February 2020\\. The current round is ${ROUND} \\(today is \\d{4}-\\d\\d-\\d\\d in Paris\\)`)),
    });
    expect(await run({ step: 'open', round: '2020-01', actor: 'staff:jdupont', force: true, dryRun: true }))
      .toMatchObject({ roundId: '2020-01', changed: false, summary: { forced: true }, plan: { round: { id: '2020-01', status: 'open' } } });
    expect(await rounds.listRounds()).toEqual([]);
  });

  it('open: a dry run writes nothing; the step creates the round from the configuration; a double fire changes nothing', async () => {
    const before = await state();
    const dry = await run({ step: 'open', dryRun: true });
    expect(dry).toMatchObject({ step: 'open', roundId: ROUND, dryRun: true, changed: false, plan: { round: { id: ROUND, status: 'open' }, mails: 0 } });
    expect(await state()).toEqual(before);

    const opened = await run({ step: 'open' });
    expect(opened).toMatchObject({ step: 'open', roundId: ROUND, dryRun: false, changed: true, status: 'open' });
    const round = await rounds.getRound(ROUND);
    expect(round).toMatchObject({
      id: ROUND, status: 'open', version: 1, capacityPosts: ROUNDS_CONFIG.capacityPosts, reviewersPerDossier: ROUNDS_CONFIG.reviewersPerDossier,
      criteria: ROUNDS_CONFIG.criteria,
    });

    const again = await run({ step: 'open' });
    expect(again).toMatchObject({ changed: false, status: 'open', summary: { already: true } });
    expect(await rounds.getRound(ROUND)).toEqual(round);
    const audit = await rounds.listAudit(ROUND);
    expect(audit.map((a) => [a.step, a.actor, a.summary.already])).toEqual([['open', 'schedule', false], ['open', 'schedule', true]]);
  });

  it('close-submissions: assigns 2 reviewers per valid dossier (no conflict, no inactive reviewer), mails each reviewer once with a signed link', async () => {
    expect(readJson('events/scheduler-run-round-step.json')).toEqual({ step: 'close-submissions' });
    const before = await state();
    const dry = await run({ step: 'close-submissions', dryRun: true, actor: 'staff:jdupont' });
    expect(dry).toMatchObject({ dryRun: true, changed: false, status: 'open', plan: { mails: 3, round: { status: 'reviewing' } } });
    expect(Object.values(dry.plan.assignments as Record<string, number[]>).flat()).toHaveLength(6);
    expect(await state()).toEqual(before);

    const result = await run(readJson('events/scheduler-run-round-step.json'));
    expect(result).toMatchObject({
      step: 'close-submissions', roundId: ROUND, changed: true, status: 'reviewing',
      summary: { dossiers: 4, reviewableDossiers: 3, eligibleReviewers: 3, assignmentsWritten: 6, shortfalls: 0, mailsSent: 3, mailFailures: 0 },
    });
    const round = (await rounds.getRound(ROUND))!;
    expect(round.status).toBe('reviewing');
    expect(Date.parse(round.reviewDeadline!) - Date.parse(round.submissionsClosedAt!)).toBe(ROUNDS_CONFIG.reviewDays * 86_400_000);

    const assignments = await rounds.listAssignments(ROUND);
    expect(assignments).toHaveLength(6);
    expect(new Set(assignments.map((a) => a.dossierNumber))).toEqual(new Set([101, 102, 103]));
    expect(assignments.filter((a) => a.dossierNumber === 101).map((a) => a.reviewerId)).not.toContain(bruno.id);
    expect(assignments.map((a) => a.reviewerId)).not.toContain(denis.id);
    for (const r of [alice, bruno, chloe]) expect(assignments.filter((a) => a.reviewerId === r.id)).toHaveLength(2);

    const mails = await ses.mails();
    expect(mails).toHaveLength(3);
    for (const r of [alice, bruno, chloe]) {
      const [mail, ...others] = mailsTo(mails, r.email);
      expect(others).toHaveLength(0);
      expect(mail).toMatchObject({ from: MAIL_FROM, destination: { to: [r.email] }, subject: expect.stringContaining(ROUND) });
      expect(linkedReviewer(mail!)).toBe(r.id);
    }
    expect(mailsTo(mails, denis.email)).toEqual([]);

    // The schedule fires again (or Lambda retries): the round it closed, nothing more to send.
    const again = await run({ step: 'close-submissions' });
    expect(again).toMatchObject({ roundId: ROUND, changed: false, status: 'reviewing', summary: { already: true, mailsSent: 0, mailsAlreadySent: 3 } });
    expect(await rounds.listAssignments(ROUND)).toEqual(assignments);
    expect(await rounds.getRound(ROUND)).toEqual(round);
    expect(await ses.mails()).toHaveLength(3);
    expect((await rounds.listAudit(ROUND)).filter((a) => a.step === 'close-submissions').map((a) => a.actor)).toEqual(['schedule', 'schedule']);
  });

  it('remind: mails only the reviewers with unfinished reviews, once a day', async () => {
    const assignments = await rounds.listAssignments(ROUND);
    const scores = (value: number) => Object.fromEntries(ROUNDS_CONFIG.criteria.map((c) => [c.id, value]));
    const review = (reviewerId: string, dossierNumber: number, value: number) => rounds.putReview({
      roundId: ROUND, dossierNumber, reviewerId, scores: scores(value), comment: 'Évaluation de test', conflictOfInterest: false, submittedAt: new Date().toISOString(),
    });
    for (const a of assignments.filter((x) => x.reviewerId === alice.id)) await review(alice.id, a.dossierNumber, 5);
    // Bruno reviews the dossier Alice does not have (Chloe, his other reviewer there, reviews nothing).
    const alices = new Set(assignments.filter((x) => x.reviewerId === alice.id).map((x) => x.dossierNumber));
    const brunoFirst = assignments.find((x) => x.reviewerId === bruno.id && !alices.has(x.dossierNumber))!;
    await review(bruno.id, brunoFirst.dossierNumber, 4);
    await ses.clear();

    const before = await state();
    const dry = await run({ step: 'remind', dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, plan: { mails: 2 }, summary: { reviewersToRemind: 2, unfinishedReviews: 3 } });
    expect(await state()).toEqual(before);

    const result = await run({ step: 'remind' });
    expect(result).toMatchObject({ roundId: ROUND, changed: false, status: 'reviewing', summary: { reviewersToRemind: 2, mailsSent: 2, mailFailures: 0 } });
    const mails = await ses.mails();
    expect(mails.flatMap((m) => m.destination.to).sort()).toEqual([bruno.email, chloe.email].sort());
    for (const mail of mails) expect(linkedReviewer(mail)).toBe(mail.destination.to[0] === bruno.email ? bruno.id : chloe.id);

    const again = await run({ step: 'remind' });
    expect(again).toMatchObject({ summary: { mailsSent: 0, mailsAlreadySent: 2 } });
    expect(await ses.mails()).toHaveLength(2);
    expect((await rounds.getRound(ROUND))!.status).toBe('reviewing');
  });

  it('close-selection on schedule with reviews missing, before the deadline: refused (the run fails and alerts), audited, nothing written', async () => {
    await ses.clear();
    const before = await state();
    const dry = await run({ step: 'close-selection', dryRun: true });
    expect(dry).toMatchObject({
      dryRun: true, changed: false, status: 'reviewing', plan: { round: { status: 'closed' }, mails: 1 },
      summary: { closingRefused: 'reviews_missing', reviewsMissing: 3, dossiersMissingReviews: 3, deadlinePassed: false, forced: false },
    });
    expect(dry.plan.missingReviews.flatMap((m: { reviewerIds: string[] }) => m.reviewerIds).sort()).toEqual([bruno.id, chloe.id, chloe.id].sort());
    expect(await state()).toEqual(before);

    await expect(run({ step: 'close-selection' })).rejects.toMatchObject({
      name: 'ClosingNotReadyError', reason: 'reviews_missing',
      message: expect.stringMatching(new RegExp(`^round ${ROUND} cannot close yet: 3 reviews missing \\(dossier \\d+: [0-9a-f]{16}.*\\), and the review deadline \\S+ has not passed$`)),
    });
    const after = await state();
    expect({ ...after, audit: before.audit }).toEqual(before);
    expect(after.audit.at(-1)).toMatchObject({
      step: 'close-selection', actor: 'schedule', summary: { refused: 'reviews_missing', reviewsMissing: 3, dossiersMissingReviews: 3, deadlinePassed: false },
    });
    expect(logLines.some((line) => line.includes('"level":"ERROR"') && line.includes('round step refused') && line.includes('reviews_missing'))).toBe(true);
  });

  it('close-selection forced by staff: decisions, the report in S3, one staff mail; a double fire changes and sends nothing', async () => {
    await ses.clear();
    const result = await run({ step: 'close-selection', actor: 'staff:jdupont', force: true });
    expect(result).toMatchObject({
      roundId: ROUND, changed: true, status: 'closed', summary: { reviews: 3, forced: true, reviewsMissing: 3, mailsSent: 1, mailFailures: 0 },
    });
    expect((await rounds.listAudit(ROUND)).at(-1)).toMatchObject({ step: 'close-selection', actor: 'staff:jdupont', summary: { forced: true, reviewsMissing: 3 } });
    expect((await rounds.getRound(ROUND))!.status).toBe('closed');

    const decisions = await rounds.listDecisions(ROUND);
    const outcome = (n: number) => decisions.find((d) => d.dossierNumber === n)?.outcome;
    expect(decisions.map((d) => d.dossierNumber)).toEqual(expect.arrayContaining([101, 102, 103]));
    // Every reviewable dossier has at least one counted review of 4 or 5 here: all fit in the 5 posts of a round (2 + 1 + 2).
    expect([outcome(101), outcome(102), outcome(103)]).toEqual(['selected', 'selected', 'selected']);
    expect(outcome(104)).not.toBe('selected');

    const get = async (key: string) => {
      const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      return Buffer.from(await Body!.transformToByteArray());
    };
    expect((await state()).objects.sort()).toEqual([`reports/${ROUND}/selection.csv`, `reports/${ROUND}/selection.json`]);
    const json = JSON.parse((await get(`reports/${ROUND}/selection.json`)).toString('utf8'));
    expect(JSON.stringify(json)).toContain('Projet 101');
    expect([...(await get(`reports/${ROUND}/selection.csv`)).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);

    const mails = await ses.mails();
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: MAIL_FROM, destination: { to: STAFF }, subject: expect.stringContaining(ROUND) });
    expect(mails[0]!.body.text).toContain(`reports/${ROUND}/selection.csv`);

    const after = await state();
    const again = await run({ step: 'close-selection' });
    expect(again).toMatchObject({ roundId: ROUND, changed: false, status: 'closed', summary: { already: true, mailsSent: 0, mailsAlreadySent: 1 } });
    const { audit: auditAfter, ...rest } = await state();
    const { audit: auditBefore, ...restBefore } = after;
    expect(rest).toEqual(restBefore);
    expect(auditAfter).toHaveLength(auditBefore.length + 1);
    // Steps asked of a round in a later phase do nothing.
    expect(await run({ step: 'close-submissions', round: ROUND })).toMatchObject({ changed: false, status: 'closed', summary: { already: true } });
    expect(await run({ step: 'remind', round: ROUND })).toMatchObject({ changed: false, status: 'closed', summary: { reviewersToRemind: 0 } });
    expect(await ses.mails()).toHaveLength(1);
  });

  it('a step asked of a missing round is refused, by the schedule too', async () => {
    await expect(run({ step: 'close-selection', round: '2019-01' })).rejects.toMatchObject({ name: 'RoundStepRefusedError', reason: 'no_round' });
  });

  it('mails SES refused make the run fail (so it is retried); the next run sends those only', async () => {
    const next = '2031-01';
    await dossiers.saveIfNewer(dossier(201, next, 'stored', SIRET.b, 1));
    expect(await run({ step: 'open', round: next, actor: 'staff:jdupont' })).toMatchObject({ roundId: next, changed: true });
    await ses.clear();
    const sesMock = mockClient(SESv2Client);
    sesMock.on(SendEmailCommand).rejects(Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } }));
    try {
      await expect(run({ step: 'close-submissions' })).rejects.toMatchObject({
        name: 'RoundStepIncompleteError', message: expect.stringMatching(/close-submissions of round 2031-01: 2 mail\(s\) not sent .*running the step again sends those only/),
      });
    } finally {
      sesMock.restore();
    }
    expect((await rounds.getRound(next))!.status).toBe('reviewing');
    expect(await rounds.listNotifications(next)).toEqual([]);
    expect(await ses.mails()).toEqual([]);

    // Lambda's retry: the same event, no round given.
    const retried = await run({ step: 'close-submissions' });
    expect(retried).toMatchObject({ roundId: next, changed: false, summary: { already: true, mailsSent: 2, mailFailures: 0 } });
    const mails = await ses.mails();
    expect(mails).toHaveLength(2);
    for (const mail of mails) expect(linkedReviewer(mail, next)).toBe(testReviewerId(mail.destination.to[0]!));
    expect((await rounds.listAudit(next)).map((a) => a.actor)).toEqual(['staff:jdupont', 'schedule', 'schedule']);
  });

  it('logged ids, statuses and counts only: no email, name or score', () => {
    expect(logLines.filter((line) => line.includes('"level":"WARN"')).every((line) => line.includes('nothing to do'))).toBe(true);
    const done = logLines.filter((line) => line.includes('round step done'));
    expect(done.length).toBeGreaterThan(10);
    expect(JSON.parse(done[0]!)).toMatchObject({ level: 'INFO', message: 'round step done', step: expect.any(String), by: expect.any(String) });
    const all = logLines.join('\n');
    for (const r of [alice, bruno, chloe, denis]) {
      expect(all).not.toContain(r.email);
      expect(all).not.toContain(r.name);
    }
    expect(all).not.toContain('@');
    expect(all).not.toContain('Projet 10');
    expect(all).not.toContain('jdupont');
  });
});
