import { beforeEach, describe, expect, it } from 'vitest';
import { importReviews, ReviewImportError, ReviewImportRefusedError, type ReviewTable } from '#core/reviews/import-reviews';
import { sendLink, SendLinkRefusedError } from '#core/reviews/send-link';
import type { AssignmentRecord, ReviewRecord, RoundRecord } from '#core/rounds/model';
import { verifyReviewToken } from '#core/rounds/review-links';
import { closingReadiness, reviewProgress } from '#core/rounds/review-progress';
import {
  MemoryRoundDossiers, MemoryRoundRepository, RecordingMailer, reviewerRecord, roundDossier, TEST_CONFIG,
} from '../helpers/memory-round-ports.ts';

/*
 * The staff side of the review workflow, on the in-memory ports: what close-selection and
 * `rounds show` compute from the records, `reviews import` (all or nothing, the page's rules,
 * then saveReview row by row) and `reviewers send-link`.
 */

const SECRET = 'link-secret';
const ROUND: RoundRecord = {
  id: '2026-03', status: 'reviewing', openedAt: '2026-03-01T08:00:00.000Z', submissionsClosedAt: '2026-04-30T08:00:00.000Z',
  reviewDeadline: '2026-05-21T08:00:00.000Z', selectionClosedAt: null, capacityPosts: 5, reviewersPerDossier: 2,
  criteria: TEST_CONFIG.criteria, version: 2,
};
const alice = reviewerRecord('alice@example.fr', { name: 'Alice' });
const bob = reviewerRecord('bob@example.fr', { name: 'Bob' });
const carole = reviewerRecord('carole@example.fr', { name: 'Carole' });
const david = reviewerRecord('david@example.fr', { name: 'David', active: false });

const assignment = (dossierNumber: number, reviewerId: string, extra: Partial<AssignmentRecord> = {}): AssignmentRecord =>
  ({ roundId: '2026-03', dossierNumber, reviewerId, assignedAt: '2026-04-30T08:00:00.000Z', ...extra });
const review = (dossierNumber: number, reviewerId: string, extra: Partial<ReviewRecord> = {}): ReviewRecord => ({
  roundId: '2026-03', dossierNumber, reviewerId, scores: { impact: 4, faisabilite: 3 }, comment: '', conflictOfInterest: false,
  status: 'submitted', version: 1, updatedAt: '2026-05-10T10:00:00.000Z', submittedAt: '2026-05-10T10:00:00.000Z', writtenBy: 'reviewer', ...extra,
});

describe('closingReadiness and reviewProgress', () => {
  const dossiers = [roundDossier(101), roundDossier(102), roundDossier(103, { status: 'deleted' })];
  const assignments = [
    assignment(101, alice.id), assignment(101, bob.id),
    assignment(102, alice.id), assignment(102, bob.id), assignment(102, carole.id, { replaces: alice.id }),
    assignment(103, carole.id),
  ];
  const reviews = [
    review(101, alice.id),
    review(101, bob.id, { status: 'draft', submittedAt: null }),
    review(102, alice.id, { conflictOfInterest: true, scores: {} }),
    // Written before drafts existed: no status, submitted.
    { roundId: '2026-03', dossierNumber: 102, reviewerId: bob.id, scores: { impact: 2, faisabilite: 2 }, comment: '', conflictOfInterest: false, submittedAt: '2026-05-01T10:00:00.000Z' },
  ];

  it('missing: assigned, reviewable, not submitted (a draft is missing, a declared conflict done, a deleted dossier owes nothing)', () => {
    const readiness = closingReadiness(ROUND, dossiers, assignments, reviews, new Date('2026-05-22T08:00:00.000Z'));
    expect(readiness).toEqual({
      missing: [{ dossierNumber: 101, reviewerIds: [bob.id] }, { dossierNumber: 102, reviewerIds: [carole.id] }],
      reviewsMissing: 2, deadlinePassed: true, ready: false,
    });
    const all = [...reviews, review(101, bob.id), review(102, carole.id)];
    expect(closingReadiness(ROUND, dossiers, assignments, all, new Date('2026-05-21T08:00:00.000Z'))).toMatchObject({ reviewsMissing: 0, deadlinePassed: true, ready: true });
    expect(closingReadiness(ROUND, dossiers, assignments, all, new Date('2026-05-21T07:59:59.999Z'))).toMatchObject({ reviewsMissing: 0, deadlinePassed: false, ready: false });
    expect(closingReadiness({ ...ROUND, reviewDeadline: null }, dossiers, assignments, all, new Date())).toMatchObject({ deadlinePassed: false, ready: false });
  });

  it('progress per reviewer, and the reassignments after a conflict (with or without a replacement)', () => {
    const progress = reviewProgress(ROUND, dossiers, [...assignments, assignment(101, carole.id)], [...reviews, review(101, carole.id, { conflictOfInterest: true, scores: {} })]);
    expect(progress.reviewers).toEqual([
      { reviewerId: alice.id, toDo: 0, draft: 0, submitted: 1, conflictsDeclared: 1, replacementsReceived: 0 },
      { reviewerId: bob.id, toDo: 0, draft: 1, submitted: 1, conflictsDeclared: 0, replacementsReceived: 0 },
      { reviewerId: carole.id, toDo: 1, draft: 0, submitted: 0, conflictsDeclared: 1, replacementsReceived: 1 },
    ].sort((a, b) => a.reviewerId.localeCompare(b.reviewerId)));
    expect(progress.reassignments).toEqual([
      { dossierNumber: 101, withdrawnReviewerId: carole.id, replacementReviewerId: null },
      { dossierNumber: 102, withdrawnReviewerId: alice.id, replacementReviewerId: carole.id },
    ]);
  });
});

describe('importReviews', () => {
  let rounds: MemoryRoundRepository;
  let dossiers: MemoryRoundDossiers;
  let mailer: RecordingMailer;
  const now = new Date('2026-05-12T08:00:00.000Z');
  const deps = () => ({
    rounds, dossiers, mailer, config: TEST_CONFIG, clock: { now: () => now }, reviewLinks: { baseUrl: 'https://selection.example.gouv.fr', secret: SECRET },
  });
  const table = (...lines: string[][]): ReviewTable => {
    const [header, ...rows] = lines;
    return { header: { line: 1, cells: header! }, rows: rows.map((cells, index) => ({ line: index + 2, cells })) };
  };
  const HEADER = ['dossier', 'email', 'impact', 'faisabilite', 'comment', 'conflict'];
  const issuesOf = async (t: ReviewTable) => {
    const error = await importReviews({ roundId: '2026-03', table: t, actor: 'staff:marie' }, deps()).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ReviewImportError);
    expect(rounds.writeCount).toBe(0);
    expect((error as Error).message).not.toMatch(/@/);
    return (error as ReviewImportError).issues.map((i) => [i.line, i.column, i.message]);
  };

  beforeEach(async () => {
    rounds = new MemoryRoundRepository();
    dossiers = new MemoryRoundDossiers();
    mailer = new RecordingMailer();
    dossiers.dossiers = [roundDossier(101), roundDossier(102), roundDossier(103)];
    rounds.rounds.set('2026-03', { ...ROUND });
    await rounds.putReviewers([alice, bob, carole, david]);
    await rounds.putAssignments([assignment(101, alice.id), assignment(101, bob.id), assignment(102, alice.id), assignment(102, bob.id)]);
    rounds.calls = [];
  });

  it('writes every row through saveReview as staff, replacing drafts, and audits the counts', async () => {
    await rounds.putReview(review(102, bob.id, { status: 'draft', submittedAt: null, scores: { impact: 2 }, version: 3 }));
    rounds.calls = [];
    const result = await importReviews({
      roundId: '2026-03', actor: 'staff:marie',
      table: table(HEADER, ['101', 'Alice@Example.fr', '5', '4', 'Très bien, vraiment', 'non'], ['101', 'bob@example.fr', '3', '3', '', ''], ['102', 'bob@example.fr', '4', '2', '', 'false']),
    }, deps());
    expect(result).toEqual({
      roundId: '2026-03', dryRun: false, rows: 3, written: 3, newReviews: 2, replacedDrafts: 1, replacedSubmitted: 0,
      conflictsDeclared: 0, replacementsAssigned: 0, notWritten: 0, mailsSent: 0, mailFailures: 0,
    });
    expect(await rounds.getReview('2026-03', 101, alice.id)).toMatchObject({
      scores: { impact: 5, faisabilite: 4 }, comment: 'Très bien, vraiment', status: 'submitted', version: 1, writtenBy: 'staff:marie', submittedAt: now.toISOString(),
    });
    expect(await rounds.getReview('2026-03', 102, bob.id)).toMatchObject({ scores: { impact: 4, faisabilite: 2 }, status: 'submitted', version: 4 });
    expect(rounds.audit).toEqual([{
      roundId: '2026-03', step: 'import-reviews', at: now.toISOString(), actor: 'staff:marie',
      summary: { rows: 3, written: 3, newReviews: 2, replacedDrafts: 1, replacedSubmitted: 0, conflictsDeclared: 0, replacementsAssigned: 0, notWritten: 0, mailsSent: 0, mailFailures: 0 },
    }]);
    expect(JSON.stringify(rounds.audit)).not.toMatch(/@|Très bien/);
  });

  it('a declared conflict goes through saveReview: no score kept, a replacement assigned and mailed once', async () => {
    const result = await importReviews({ roundId: '2026-03', actor: 'staff:marie', table: table(HEADER, ['101', 'alice@example.fr', '', '', '', 'oui']) }, deps());
    expect(result).toMatchObject({ written: 1, conflictsDeclared: 1, replacementsAssigned: 1, mailsSent: 1 });
    expect(await rounds.getReview('2026-03', 101, alice.id)).toMatchObject({ conflictOfInterest: true, scores: {}, status: 'submitted' });
    expect((await rounds.listAssignments('2026-03')).find((a) => a.replaces === alice.id)).toMatchObject({ dossierNumber: 101, reviewerId: carole.id });
    expect(mailer.to('carole@example.fr')).toHaveLength(1);
    expect(rounds.audit.map((a) => a.step)).toEqual(['declare-conflict', 'import-reviews']);
  });

  it('dry run: checks and counts, writes and sends nothing', async () => {
    const result = await importReviews({ roundId: '2026-03', actor: 'staff:marie', dryRun: true, table: table(HEADER, ['101', 'alice@example.fr', '5', '4', '', '']) }, deps());
    expect(result).toMatchObject({ dryRun: true, rows: 1, written: 1, newReviews: 1 });
    expect(rounds.writeCount).toBe(0);
    expect(mailer.attempts).toBe(0);
  });

  it('a bad score, a missing criterion, a bad conflict value: named by line and column, nothing written', async () => {
    expect(await issuesOf(table(
      HEADER,
      ['101', 'alice@example.fr', '6', '4', '', ''],
      ['101', 'bob@example.fr', '4', '', '', 'non'],
      ['102', 'alice@example.fr', '4', '3', '', 'peut-être'],
      ['102', 'bob@example.fr', '4.5', '3', 'x'.repeat(5001), ''],
    ))).toEqual([
      [2, 'impact', 'La note de « Impact » doit être un nombre entier de 1 à 5.'],
      [3, 'faisabilite', 'Notez « Faisabilité » de 1 à 5 avant d\'envoyer l\'évaluation.'],
      [4, 'conflict', 'must be oui, non, true, false or empty'],
      [5, 'impact', 'La note de « Impact » doit être un nombre entier de 1 à 5.'],
      [5, 'comment', 'Le commentaire fait 5\u202f001 caractères ; la limite est de 5\u202f000.'],
    ]);
  });

  it('an unknown column, a missing criterion column, a repeated one: the header is named, nothing else checked', async () => {
    expect(await issuesOf(table(['dossier', 'email', 'impact', 'impact', 'originalite'], ['101', 'alice@example.fr', '4', '4', '4']))).toEqual([
      [1, 'originalite', 'unknown column: not a criterion of the round (the header is dossier,email,impact,faisabilite,comment,conflict)'],
      [1, 'faisabilite', 'missing column (the header is dossier,email,impact,faisabilite,comment,conflict)'],
      [1, 'impact', 'repeated column'],
    ]);
  });

  it('an unknown email, a dossier not assigned to the reviewer, a repeated row, a bad dossier number, too many fields', async () => {
    expect(await issuesOf(table(
      HEADER,
      ['101', 'mallory@example.fr', '4', '4', '', ''],
      ['103', 'alice@example.fr', '4', '4', '', ''],
      ['101', 'carole@example.fr', '4', '4', '', ''],
      ['101', 'alice@example.fr', '4', '4', '', ''],
      ['101', 'ALICE@example.fr', '5', '5', '', ''],
      ['n° 12', 'bob@example.fr', '4', '4', '', ''],
      ['102', 'bob@example.fr', '4', '4', 'a', 'b', 'c'],
    ))).toEqual([
      [2, 'email', 'not the email of a known reviewer (ds-selection reviewers list)'],
      [3, 'dossier', 'dossier 103 is not assigned to this reviewer in round 2026-03'],
      [4, 'dossier', 'dossier 101 is not assigned to this reviewer in round 2026-03'],
      [6, null, 'same dossier and reviewer as line 5'],
      [7, 'dossier', 'not a dossier number'],
      [8, null, '7 fields for 6 columns (quote a comment that holds a comma)'],
    ]);
  });

  it('a review the reviewer closed by declaring a conflict is final', async () => {
    await rounds.putReview(review(101, alice.id, { conflictOfInterest: true, scores: {} }));
    rounds.calls = [];
    expect(await issuesOf(table(HEADER, ['101', 'alice@example.fr', '4', '4', '', '']))).toEqual([
      [2, 'dossier', 'the reviewer declared a conflict of interest with dossier 101: that review is final'],
    ]);
  });

  it('refused for a round that is not reviewing, or missing', async () => {
    rounds.rounds.set('2026-03', { ...ROUND, status: 'closed' });
    const refused = (roundId: string) => importReviews({ roundId, actor: 'staff:marie', table: table(HEADER, ['101', 'alice@example.fr', '4', '4', '', '']) }, deps())
      .then(() => undefined, (e: unknown) => e as ReviewImportRefusedError);
    expect(await refused('2026-03')).toMatchObject({ name: 'ReviewImportRefusedError', reason: 'not_reviewing', message: 'round 2026-03 is closed: reviews are imported while it is reviewing' });
    expect(await refused('2026-05')).toMatchObject({ reason: 'no_round' });
    expect(rounds.writeCount).toBe(0);
  });
});

describe('sendLink', () => {
  let rounds: MemoryRoundRepository;
  let mailer: RecordingMailer;
  let now: Date;
  const deps = () => ({ rounds, mailer, config: TEST_CONFIG, clock: { now: () => now }, reviewLinks: { baseUrl: 'https://selection.example.gouv.fr', secret: SECRET } });
  const refusedWith = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SendLinkRefusedError);
    return (error as SendLinkRefusedError).reason;
  };

  beforeEach(async () => {
    rounds = new MemoryRoundRepository();
    mailer = new RecordingMailer();
    now = new Date('2026-05-12T08:00:00.000Z');
    rounds.rounds.set('2026-03', { ...ROUND });
    await rounds.putReviewers([alice, bob, carole, david, reviewerRecord('eve@example.fr', { suppressed: true })]);
    await rounds.putAssignments([assignment(101, alice.id), assignment(101, david.id), assignment(101, reviewerRecord('eve@example.fr').id)]);
  });

  it('mails a fresh link (valid until the deadline plus the grace days), at most once a Paris day', async () => {
    const result = await sendLink({ roundId: '2026-03', email: ' Alice@Example.fr' }, deps());
    expect(result).toEqual({ roundId: '2026-03', reviewerId: alice.id, expiresAt: '2026-06-04T08:00:00.000Z', mail: { sent: 1, alreadySent: 0, failed: 0 } });
    const [mail] = mailer.to('alice@example.fr');
    expect(mail!.subject).toBe("EIG session 2026-03 : votre lien d'évaluation");
    const token = new URL(/https:\/\/selection\.example\.gouv\.fr\/review\/2026-03\?token=\S+/.exec(mail!.text)![0]).searchParams.get('token');
    expect(verifyReviewToken(SECRET, '2026-03', token, now)).toMatchObject({ valid: true, reviewerId: alice.id });
    expect(rounds.notificationsOf('2026-03', 'sent')).toEqual([expect.objectContaining({ reviewerId: alice.id, key: 'link:2026-05-12', template: 'link' })]);

    expect((await sendLink({ roundId: '2026-03', email: 'alice@example.fr' }, deps())).mail).toEqual({ sent: 0, alreadySent: 1, failed: 0 });
    now = new Date('2026-05-12T22:30:00.000Z'); // the 13th in Paris
    expect((await sendLink({ roundId: '2026-03', email: 'alice@example.fr' }, deps())).mail).toEqual({ sent: 1, alreadySent: 0, failed: 0 });
  });

  it('--print returns the link and sends and records nothing (a suppressed address too)', async () => {
    rounds.calls = [];
    const result = await sendLink({ roundId: '2026-03', email: 'eve@example.fr', print: true }, deps());
    expect(verifyReviewToken(SECRET, '2026-03', new URL(result.link!).searchParams.get('token'), now)).toMatchObject({ valid: true });
    expect(result.mail).toBeUndefined();
    expect(rounds.writeCount).toBe(0);
    expect(mailer.attempts).toBe(0);
  });

  it('refused: unknown, inactive, suppressed (mail), no dossier, no round, open round, expired links', async () => {
    expect(await refusedWith(sendLink({ roundId: '2026-03', email: 'mallory@example.fr' }, deps()))).toBe('unknown_reviewer');
    expect(await refusedWith(sendLink({ roundId: '2026-03', email: 'david@example.fr', print: true }, deps()))).toBe('inactive_reviewer');
    expect(await refusedWith(sendLink({ roundId: '2026-03', email: 'eve@example.fr' }, deps()))).toBe('suppressed_address');
    expect(await refusedWith(sendLink({ roundId: '2026-03', email: 'bob@example.fr' }, deps()))).toBe('not_assigned');
    expect(await refusedWith(sendLink({ roundId: '2026-05', email: 'alice@example.fr' }, deps()))).toBe('no_round');
    rounds.rounds.set('2026-03', { ...ROUND, status: 'open', reviewDeadline: null });
    expect(await refusedWith(sendLink({ roundId: '2026-03', email: 'alice@example.fr' }, deps()))).toBe('round_not_reviewing');
    // Closed: links still work until the deadline plus the grace days.
    rounds.rounds.set('2026-03', { ...ROUND, status: 'closed' });
    expect((await sendLink({ roundId: '2026-03', email: 'alice@example.fr', print: true }, deps())).link).toBeDefined();
    now = new Date('2026-06-04T08:00:00.000Z');
    expect(await refusedWith(sendLink({ roundId: '2026-03', email: 'alice@example.fr', print: true }, deps()))).toBe('links_expired');
    expect(mailer.attempts).toBe(0);
  });
});
