import { beforeEach, describe, expect, it } from 'vitest';
import type { ReviewRecord } from '#core/rounds/model';
import { verifyReviewToken } from '#core/rounds/review-links';
import { runRoundStep, RoundStepRefusedError, type RoundStepRequest, type RoundStepResult } from '#core/rounds/run-round-step';
import {
  CrashError, MemoryReportStore, MemoryRoundDossiers, MemoryRoundRepository, RecordingMailer, reviewerRecord, roundDossier, TEST_CONFIG,
} from '../helpers/memory-round-ports.ts';

const SECRET = 'link-secret';
const MINUTE = 60_000;
const DAY = 86_400_000;

let rounds: MemoryRoundRepository;
let dossiers: MemoryRoundDossiers;
let mailer: RecordingMailer;
let reports: MemoryReportStore;
let now: Date;

const deps = () => ({
  rounds, dossiers, mailer, reports, config: TEST_CONFIG, clock: { now: () => now },
  reviewLinks: { baseUrl: 'https://selection.example.gouv.fr', secret: SECRET },
});
const run = (step: RoundStepRequest['step'], options: Partial<RoundStepRequest> = {}) =>
  runRoundStep({ step, actor: 'schedule', ...options }, deps());
const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RoundStepRefusedError);
  return error as RoundStepRefusedError;
};

const EMAILS = ['alice@example.fr', 'bob@example.fr', 'carole@example.fr', 'david@example.fr'];
const ids = EMAILS.map((e) => reviewerRecord(e).id);
const idOf = (email: string) => reviewerRecord(email).id;

function review(dossierNumber: number, reviewerId: string, impact: number, faisabilite: number, conflictOfInterest = false): ReviewRecord {
  return { roundId: '2026-03', dossierNumber, reviewerId, scores: { impact, faisabilite }, comment: 'ok', conflictOfInterest, submittedAt: now.toISOString() };
}

/** Opens 2026-03 on March 1st and moves the clock to the end of April. */
async function openRound(): Promise<void> {
  now = new Date('2026-03-01T08:00:00.000Z');
  await run('open');
  now = new Date('2026-04-30T18:00:00.000Z');
}

async function reviewingRound(): Promise<void> {
  await openRound();
  await run('close-submissions');
}

beforeEach(async () => {
  rounds = new MemoryRoundRepository();
  dossiers = new MemoryRoundDossiers();
  mailer = new RecordingMailer();
  reports = new MemoryReportStore();
  now = new Date('2026-03-01T08:00:00.000Z');
  await rounds.putReviewers(EMAILS.map((e) => reviewerRecord(e)));
  dossiers.dossiers = [
    roundDossier(101, { posts: 2 }), roundDossier(102, { posts: 3 }), roundDossier(103), roundDossier(104, { status: 'files_pending' }),
    roundDossier(105, { status: 'invalid' }), roundDossier(106, { status: 'deleted' }), roundDossier(201, { round: '2026-05' }),
  ];
  rounds.calls = [];
});

describe('open', () => {
  it('creates the round of the month (roundOf) with the configuration copied, and audits', async () => {
    now = new Date('2026-04-15T10:00:00.000Z');
    const result = await run('open', { actor: 'staff:marie' });
    expect(result).toEqual({
      step: 'open', roundId: '2026-03', dryRun: false, changed: true, status: 'open',
      summary: { already: false, capacityPosts: 5, yearlyCeilingPosts: 30, reviewersPerDossier: 2, criteria: 2 },
    });
    expect(rounds.rounds.get('2026-03')).toEqual({
      id: '2026-03', status: 'open', openedAt: now.toISOString(), submissionsClosedAt: null, reviewDeadline: null, selectionClosedAt: null,
      capacityPosts: 5, yearlyCeilingPosts: 30, ceilingPeriodStartMonth: 1, reviewersPerDossier: 2, criteria: TEST_CONFIG.criteria, version: 1,
    });
    expect(rounds.audit).toEqual([{ roundId: '2026-03', step: 'open', at: now.toISOString(), actor: 'staff:marie', summary: result.summary }]);
  });

  it('a double fire creates one round and changes nothing the second time', async () => {
    await run('open');
    const second = await run('open');
    expect(second).toMatchObject({ changed: false, status: 'open', summary: { already: true } });
    expect(rounds.rounds.size).toBe(1);
    expect(rounds.rounds.get('2026-03')!.version).toBe(1);
    expect(rounds.audit).toHaveLength(2);
  });

  it('dry run: returns the round it would create, writes nothing', async () => {
    const result = await run('open', { dryRun: true });
    expect(result.plan).toEqual({ round: expect.objectContaining({ id: '2026-03', status: 'open', capacityPosts: 5 }), mails: 0 });
    expect(result.changed).toBe(false);
    expect(rounds.rounds.size).toBe(0);
    expect(rounds.writeCount).toBe(0);
  });

  it('refuses while another round is open: its submissions must close first', async () => {
    await run('open');
    now = new Date('2026-05-01T08:00:00.000Z');
    const error = await refusal(run('open'));
    expect(error.reason).toBe('another_round_open');
    expect(error.message).toMatch(/round 2026-03 is still open.*close its submissions first/);
    expect(rounds.rounds.has('2026-05')).toBe(false);
    await run('close-submissions');
    expect(await run('open')).toMatchObject({ roundId: '2026-05', changed: true });
  });

  it('refuses an invalid round id', async () => {
    expect((await refusal(run('open', { roundId: '2026-04' }))).reason).toBe('invalid_round_id');
  });
});

describe('close-submissions', () => {
  it('assigns every reviewable dossier, moves to reviewing with the deadline, mails each reviewer once with a personal link', async () => {
    await openRound();
    const result = await run('close-submissions');
    expect(result).toMatchObject({
      step: 'close-submissions', roundId: '2026-03', changed: true, status: 'reviewing',
      summary: {
        already: false, dossiers: 6, reviewableDossiers: 4, eligibleReviewers: 4, assignmentsWritten: 8, assignmentsKept: 0, shortfalls: 0,
        mailsSent: 4, mailsAlreadySent: 0, mailFailures: 0, reviewDeadline: '2026-05-21T18:00:00.000Z',
      },
    });
    const round = rounds.rounds.get('2026-03')!;
    expect(round).toMatchObject({ status: 'reviewing', submissionsClosedAt: now.toISOString(), reviewDeadline: '2026-05-21T18:00:00.000Z', version: 2 });
    const pairs = rounds.assignmentPairs('2026-03');
    expect(new Set(pairs.map(([n]) => n))).toEqual(new Set([101, 102, 103, 104]));
    expect(mailer.sent).toHaveLength(4);
    for (const email of EMAILS) {
      const [mail] = mailer.to(email);
      const count = pairs.filter(([, id]) => id === idOf(email)).length;
      expect(mail!.subject).toBe(`EIG session 2026-03 : ${count} dossier${count > 1 ? 's' : ''} à évaluer`);
      const link = mail!.text.match(/https:\/\/selection\.example\.gouv\.fr\/review\/2026-03\?token=\S+/)![0];
      const check = verifyReviewToken(SECRET, '2026-03', new URL(link).searchParams.get('token'), now);
      // The link works until the deadline plus the grace days.
      expect(check).toEqual({ valid: true, reviewerId: idOf(email), expiresAt: new Date(Date.parse('2026-05-21T18:00:00.000Z') + 14 * DAY) });
    }
    expect(rounds.notificationsOf('2026-03', 'sent')).toHaveLength(4);
    expect(rounds.audit.at(-1)).toMatchObject({ step: 'close-submissions', summary: result.summary });
    expect(JSON.stringify(rounds.audit)).not.toMatch(/@|alice|Projet/);
  });

  it('dry run: returns assignments per reviewer and the mails it would send, writes and sends nothing', async () => {
    await openRound();
    rounds.calls = [];
    const result = await run('close-submissions', { dryRun: true });
    expect(rounds.writeCount).toBe(0);
    expect(mailer.attempts).toBe(0);
    expect(rounds.rounds.get('2026-03')!.status).toBe('open');
    expect(result).toMatchObject({ changed: false, status: 'open', dryRun: true });
    expect(result.plan!.mails).toBe(4);
    expect(result.plan!.round).toMatchObject({ status: 'reviewing', reviewDeadline: '2026-05-21T18:00:00.000Z' });
    expect(Object.keys(result.plan!.assignments!).sort()).toEqual([...ids].sort());
    expect(Object.values(result.plan!.assignments!).flat().sort()).toEqual([101, 101, 102, 102, 103, 103, 104, 104]);
    // The real run does what the plan said.
    await run('close-submissions');
    const written: Record<string, number[]> = {};
    for (const [n, id] of rounds.assignmentPairs('2026-03')) (written[id] ??= []).push(n);
    expect(written).toEqual(result.plan!.assignments);
  });

  it('a double fire changes nothing and sends no second mail', async () => {
    await reviewingRound();
    const before = rounds.assignmentPairs('2026-03');
    const second = await run('close-submissions');
    expect(second).toMatchObject({ changed: false, status: 'reviewing', summary: { already: true, mailsSent: 0, mailsAlreadySent: 4 } });
    expect(rounds.assignmentPairs('2026-03')).toEqual(before);
    expect(rounds.rounds.get('2026-03')!.version).toBe(2);
    expect(mailer.sent).toHaveLength(4);
  });

  it('a crash between the assignment writes and the round update: the re-run converges, one mail per reviewer', async () => {
    const clean = new MemoryRoundRepository();
    await clean.putReviewers(EMAILS.map((e) => reviewerRecord(e)));
    await openRound();
    await runRoundStep({ step: 'open', roundId: '2026-03', actor: 'schedule' }, { ...deps(), rounds: clean });
    await runRoundStep({ step: 'close-submissions', actor: 'schedule' }, { ...deps(), rounds: clean, mailer: new RecordingMailer() });

    rounds.failNext('updateRound');
    await expect(run('close-submissions')).rejects.toBeInstanceOf(CrashError);
    expect(rounds.assignmentPairs('2026-03')).toEqual(clean.assignmentPairs('2026-03'));
    expect(rounds.rounds.get('2026-03')!.status).toBe('open');
    expect(mailer.sent).toHaveLength(0);

    now = new Date(now.getTime() + 5 * MINUTE);
    const rerun = await run('close-submissions');
    expect(rerun).toMatchObject({ changed: true, status: 'reviewing', summary: { assignmentsWritten: 0, assignmentsKept: 8, mailsSent: 4 } });
    expect(rounds.assignmentPairs('2026-03')).toEqual(clean.assignmentPairs('2026-03'));
    expect(mailer.sent.map((m) => m.to[0]).sort()).toEqual([...EMAILS].sort());
  });

  it('a crash while mailing (after the round update): the re-run sends the rest, once each', async () => {
    await openRound();
    let claims = 0;
    rounds.beforeCall = (method) => {
      if (method === 'claimNotification' && ++claims === 3) throw new CrashError('crashed while mailing');
    };
    await expect(run('close-submissions')).rejects.toBeInstanceOf(CrashError);
    expect(rounds.rounds.get('2026-03')!.status).toBe('reviewing');
    expect(mailer.sent).toHaveLength(2);
    rounds.beforeCall = undefined;
    const rerun = await run('close-submissions');
    expect(rerun).toMatchObject({ changed: false, summary: { already: true, mailsSent: 2, mailsAlreadySent: 2 } });
    expect(mailer.sent.map((m) => m.to[0]).sort()).toEqual([...EMAILS].sort());
  });

  it('a mail the provider rejects is released, the step still completes, and the re-run sends only that one', async () => {
    await openRound();
    mailer.failFor = (m) => m.to.includes('bob@example.fr');
    const result = await run('close-submissions');
    expect(result).toMatchObject({ changed: true, status: 'reviewing', summary: { mailsSent: 3, mailFailures: 1 } });
    expect(rounds.notificationsOf('2026-03').map((n) => n.reviewerId).sort()).toEqual(ids.filter((id) => id !== idOf('bob@example.fr')).sort());
    mailer.failFor = undefined;
    const rerun = await run('close-submissions');
    expect(rerun.summary).toMatchObject({ already: true, mailsSent: 1, mailsAlreadySent: 3, mailFailures: 0 });
    expect(mailer.to('bob@example.fr')).toHaveLength(1);
    expect(mailer.sent).toHaveLength(4);
  });

  it('takes over a claim stuck in sending for 15 minutes, not a fresh one', async () => {
    await reviewingRound();
    const alice = idOf('alice@example.fr');
    const key = `2026-03|assignment|${alice}`;
    rounds.notifications.set(key, { ...rounds.notifications.get(key)!, status: 'sending', updatedAt: new Date(now.getTime() - 10 * MINUTE).toISOString() });
    expect((await run('close-submissions')).summary).toMatchObject({ mailsSent: 0 });
    now = new Date(now.getTime() + 6 * MINUTE);
    expect((await run('close-submissions')).summary).toMatchObject({ mailsSent: 1 });
    expect(mailer.to('alice@example.fr')).toHaveLength(2);
  });

  it('a lost race on the round update reads the round back: changed false, mails still once', async () => {
    await openRound();
    let raced = false;
    rounds.beforeCall = (method) => {
      if (method !== 'updateRound' || raced) return;
      raced = true;
      const round = rounds.rounds.get('2026-03')!;
      rounds.rounds.set('2026-03', { ...round, status: 'reviewing', reviewDeadline: '2026-05-21T17:00:00.000Z', version: round.version + 1 });
    };
    const result = await run('close-submissions');
    expect(result).toMatchObject({ changed: false, status: 'reviewing', summary: { already: true, reviewDeadline: '2026-05-21T17:00:00.000Z', mailsSent: 4 } });
    expect(rounds.rounds.get('2026-03')!.version).toBe(2);
  });

  it('refused for a missing round, or when there is no round at all; nothing for a closed round', async () => {
    expect((await refusal(run('close-submissions', { roundId: '2026-01' }))).reason).toBe('no_round');
    expect((await refusal(run('close-submissions'))).reason).toBe('no_round');
    expect((await refusal(run('close-selection'))).reason).toBe('no_round');
    expect(rounds.writeCount).toBe(0);
    await reviewingRound();
    await run('close-selection', { force: true });
    const sent = mailer.sent.length;
    const result = await run('close-submissions', { roundId: '2026-03' });
    expect(result).toMatchObject({ changed: false, status: 'closed', summary: { already: true, mailsSent: 0 } });
    expect(mailer.sent).toHaveLength(sent);
  });

  it('reports shortfalls, never mails suppressed reviewers', async () => {
    await rounds.putReviewers([
      reviewerRecord('bob@example.fr', { active: false }), reviewerRecord('carole@example.fr', { suppressed: true }),
      reviewerRecord('david@example.fr', { conflicts: ['13002526500013'] }),
    ]);
    // The fixtures' SIRETs share one SIREN (a conflict with one is a conflict with all): 101 gets its own.
    dossiers.dossiers[0] = roundDossier(101, { posts: 2, siret: '13002526500013' });
    await openRound();
    const result = await run('close-submissions');
    // alice and david are left; david may not review 101.
    expect(result.summary).toMatchObject({ eligibleReviewers: 2, shortfalls: 1, mailsSent: 2 });
    expect(rounds.assignmentPairs('2026-03').filter(([n]) => n === 101)).toEqual([[101, idOf('alice@example.fr')]]);
    expect(mailer.to('carole@example.fr')).toHaveLength(0);
  });
});

describe('remind', () => {
  async function withReviews(): Promise<Map<string, number[]>> {
    await reviewingRound();
    const byReviewer = new Map<string, number[]>();
    for (const [n, id] of rounds.assignmentPairs('2026-03')) byReviewer.set(id, [...(byReviewer.get(id) ?? []), n]);
    // alice finishes; bob declares a conflict on his only unfinished one after one review: also finished.
    for (const n of byReviewer.get(idOf('alice@example.fr'))!) await rounds.putReview(review(n, idOf('alice@example.fr'), 4, 4));
    const [first, ...rest] = byReviewer.get(idOf('bob@example.fr'))!;
    await rounds.putReview(review(first!, idOf('bob@example.fr'), 3, 3));
    for (const n of rest) await rounds.putReview(review(n, idOf('bob@example.fr'), 1, 1, true));
    // carole reviews one of hers.
    await rounds.putReview(review(byReviewer.get(idOf('carole@example.fr'))![0]!, idOf('carole@example.fr'), 5, 5));
    mailer = new RecordingMailer();
    return byReviewer;
  }

  it('mails only reviewers with unfinished reviews, once per Paris day', async () => {
    const byReviewer = await withReviews();
    now = new Date('2026-05-10T07:00:00.000Z');
    const result = await run('remind');
    expect(result).toMatchObject({ roundId: '2026-03', changed: false, status: 'reviewing', summary: { reviewersToRemind: 2, mailsSent: 2, reminderDay: '2026-05-10' } });
    expect(mailer.sent.map((m) => m.to[0]).sort()).toEqual(['carole@example.fr', 'david@example.fr']);
    const carole = mailer.to('carole@example.fr')[0]!;
    const left = byReviewer.get(idOf('carole@example.fr'))!.length - 1;
    expect(carole.text).toContain(`Il vous reste ${left} évaluation${left > 1 ? 's' : ''} à envoyer`);
    expect(rounds.notificationsOf('2026-03', 'sent').filter((n) => n.template === 'reminder').map((n) => n.key)).toEqual(['reminder:2026-05-10', 'reminder:2026-05-10']);

    now = new Date('2026-05-10T21:59:00.000Z'); // 23:59 in Paris: still the same day
    expect((await run('remind')).summary).toMatchObject({ mailsSent: 0, mailsAlreadySent: 2 });
    now = new Date('2026-05-10T22:01:00.000Z'); // 00:01 in Paris, the 11th
    expect((await run('remind')).summary).toMatchObject({ mailsSent: 2, reminderDay: '2026-05-11' });
    expect(mailer.sent).toHaveLength(4);
  });

  it('a draft is unfinished: its reviewer is reminded; a submitted review or a declared conflict is done', async () => {
    const byReviewer = await withReviews();
    // alice turns one of her reviews back into a draft (as the page saves one): she has one unfinished again.
    const [first] = byReviewer.get(idOf('alice@example.fr'))!;
    await rounds.putReview({ ...review(first!, idOf('alice@example.fr'), 4, 4), status: 'draft', submittedAt: null, version: 2 });
    now = new Date('2026-05-10T07:00:00.000Z');
    const result = await run('remind');
    expect(result.summary).toMatchObject({ reviewersToRemind: 3, mailsSent: 3 });
    expect(mailer.to('alice@example.fr')[0]!.text).toContain('Il vous reste 1 évaluation à envoyer');
    expect(mailer.to('bob@example.fr')).toHaveLength(0);
  });

  it('dry run counts the mails, sends and writes nothing', async () => {
    await withReviews();
    now = new Date('2026-05-10T07:00:00.000Z');
    rounds.calls = [];
    const result = await run('remind', { dryRun: true });
    expect(result.plan).toEqual({ mails: 2 });
    expect(rounds.writeCount).toBe(0);
    expect(mailer.attempts).toBe(0);
  });

  it('stops 7 days after the deadline, and never for a closed round; refused for an open one', async () => {
    await withReviews();
    now = new Date(Date.parse('2026-05-21T18:00:00.000Z') + 7 * DAY - MINUTE);
    expect((await run('remind')).summary).toMatchObject({ mailsSent: 2 });
    now = new Date(Date.parse('2026-05-21T18:00:00.000Z') + 7 * DAY + MINUTE);
    expect((await run('remind')).summary).toEqual({ already: false, deadlinePassed: true, reviewersToRemind: 0 });
    await run('close-selection', { force: true });
    mailer.sent = [];
    now = new Date(now.getTime() + DAY);
    expect(await run('remind')).toMatchObject({ roundId: null, summary: { rounds: 0 }, rounds: [] });
    expect(await run('remind', { roundId: '2026-03' })).toMatchObject({ changed: false, status: 'closed', summary: { already: true } });
    expect(mailer.sent).toHaveLength(0);
    now = new Date('2026-05-02T08:00:00.000Z');
    await run('open', { roundId: '2026-05' });
    const error = await refusal(run('remind', { roundId: '2026-05' }));
    expect(error.reason).toBe('earlier_phase');
    expect(rounds.audit.at(-1)).toMatchObject({ roundId: '2026-05', step: 'remind', summary: { refused: 'earlier_phase' } });
  });

  it('covers every reviewing round when none is named', async () => {
    await withReviews();
    const round = rounds.rounds.get('2026-03')!;
    rounds.rounds.set('2026-01', { ...round, id: '2026-01' });
    await rounds.putAssignments([{ roundId: '2026-01', dossierNumber: 9, reviewerId: idOf('alice@example.fr'), assignedAt: now.toISOString() }]);
    dossiers.dossiers.push(roundDossier(9, { round: '2026-01' }));
    now = new Date('2026-05-10T07:00:00.000Z');
    const result = await run('remind');
    expect(result).toMatchObject({ roundId: null, status: null, summary: { rounds: 2, reviewersToRemind: 3, mailsSent: 3 } });
    expect(result.rounds!.map((r) => [r.roundId, r.summary.mailsSent])).toEqual([['2026-01', 1], ['2026-03', 2]]);
  });
});

describe('close-selection', () => {
  async function reviewed(): Promise<void> {
    await reviewingRound();
    // 101 (2 posts) 4.75, 102 (3 posts) 4.5, 103 (1 post) 4, 104: only a conflict-declared review.
    const scores: Record<number, [number, number]> = { 101: [5, 4], 102: [5, 2], 103: [4, 4] };
    for (const [n, id] of rounds.assignmentPairs('2026-03')) {
      const s = scores[n];
      await rounds.putReview(s ? review(n, id, s[0], s[1]) : review(n, id, 5, 5, true));
    }
    mailer = new RecordingMailer();
    now = new Date('2026-05-22T08:00:00.000Z');
  }

  it('ranks, decides, writes the report, closes the round and mails the staff once', async () => {
    await reviewed();
    const result = await run('close-selection', { actor: 'staff:marie' });
    expect(result).toMatchObject({
      roundId: '2026-03', changed: true, status: 'closed',
      summary: {
        already: false, roundDossiers: 6, reviews: 8, conflictsDeclared: 2, capacityPosts: 5, postsSelected: 5,
        selected: 2, waitlisted: 1, notSelected: 1, mailsSent: 1, mailFailures: 0,
      },
    });
    expect([...rounds.decisions.values()].map((d) => [d.dossierNumber, d.outcome, d.rank, d.score])).toEqual([
      [101, 'selected', 1, 4.75], [102, 'selected', 2, 4.25], [103, 'waitlisted', 3, 4], [104, 'not_selected', null, null],
    ]);
    expect(rounds.rounds.get('2026-03')).toMatchObject({ status: 'closed', selectionClosedAt: now.toISOString(), version: 3 });
    const report = reports.reports.get('2026-03')!;
    expect(JSON.parse(report.json)).toMatchObject({ roundId: '2026-03', totals: { selected: 2 } });
    expect(report.csv.split('\r\n')).toHaveLength(6);
    expect(report.json + report.csv).not.toMatch(/@|alice/);
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]).toMatchObject({ to: TEST_CONFIG.staffEmails });
    expect(mailer.sent[0]!.text).toContain('reports/2026-03/selection.csv');
    expect(rounds.notificationsOf('2026-03', 'sent').filter((n) => n.key === 'selection_report'))
      .toEqual([expect.objectContaining({ reviewerId: 'staff', template: 'selection_report' })]);
    expect(rounds.audit.at(-1)).toMatchObject({ step: 'close-selection', actor: 'staff:marie' });
  });

  it('refused while reviews are missing: drafts count as missing, declared conflicts as done, non-reviewable dossiers owe nothing', async () => {
    await reviewed();
    const pairs = rounds.assignmentPairs('2026-03');
    const [n1, r1] = pairs.find(([n]) => n === 101)!;
    const [n3, r3] = pairs.find(([n]) => n === 103)!;
    await rounds.putReview({ ...review(n1, r1, 5, 4), status: 'draft', submittedAt: null });
    rounds.reviews.delete(`2026-03|${n3}|${r3}`);
    // A review missing on a dossier withdrawn since the assignment does not hold the closing.
    await rounds.putAssignments([{ roundId: '2026-03', dossierNumber: 106, reviewerId: r1, assignedAt: now.toISOString() }]);
    rounds.calls = [];
    const error = await refusal(run('close-selection', { actor: 'staff:marie' }));
    expect(error.reason).toBe('reviews_missing');
    expect(error.message).toBe(
      `round 2026-03 cannot close yet: 2 reviews missing (dossier 101: ${r1}; dossier 103: ${r3}), and the review deadline 2026-05-21T18:00:00.000Z has passed`,
    );
    expect(error.message).not.toMatch(/@/);
    expect(rounds.rounds.get('2026-03')!.status).toBe('reviewing');
    expect(rounds.decisions.size).toBe(0);
    expect(reports.puts).toBe(0);
    expect(mailer.attempts).toBe(0);
    expect(rounds.audit.at(-1)).toEqual({
      roundId: '2026-03', step: 'close-selection', at: now.toISOString(), actor: 'staff:marie',
      summary: { refused: 'reviews_missing', reviewsMissing: 2, dossiersMissingReviews: 2, deadlinePassed: true },
    });

    // The dry run does not refuse: it lists what is missing and says the run would be refused.
    const dry = await run('close-selection', { dryRun: true });
    expect(dry.summary).toMatchObject({ closingRefused: 'reviews_missing', reviewsMissing: 2, dossiersMissingReviews: 2, deadlinePassed: true, forced: false });
    expect(dry.plan!.missingReviews).toEqual([{ dossierNumber: 101, reviewerIds: [r1] }, { dossierNumber: 103, reviewerIds: [r3] }]);
    expect((await run('close-selection', { dryRun: true, force: true })).summary).toMatchObject({ closingRefused: null, forced: true });

    // Forced: it closes, ranks on the submitted reviews only, and says so.
    const forced = await run('close-selection', { force: true, actor: 'staff:marie' });
    expect(forced).toMatchObject({ changed: true, status: 'closed', summary: { forced: true, reviewsMissing: 2, dossiersMissingReviews: 2 } });
    expect(forced.missingReviews).toEqual(dry.plan!.missingReviews);
    expect(rounds.decisions.get('2026-03|101')).toMatchObject({ reviewCount: 1 });
    expect(rounds.audit.at(-1)).toMatchObject({ step: 'close-selection', actor: 'staff:marie', summary: { forced: true, reviewsMissing: 2 } });
  });

  it('refused before the review deadline even with every review in; forced, it closes', async () => {
    await reviewed();
    now = new Date('2026-05-21T17:59:00.000Z');
    const error = await refusal(run('close-selection'));
    expect(error.reason).toBe('before_deadline');
    expect(error.message).toBe('round 2026-03 cannot close yet: every review is in, but the review deadline 2026-05-21T18:00:00.000Z has not passed');
    now = new Date('2026-05-21T18:00:00.000Z');
    expect(await run('close-selection')).toMatchObject({ changed: true, summary: { forced: false, reviewsMissing: 0, deadlinePassed: true } });
  });

  it('a forced close before the deadline, not a forced one once ready', async () => {
    await reviewed();
    now = new Date('2026-05-10T08:00:00.000Z');
    expect(await run('close-selection', { force: true })).toMatchObject({ changed: true, summary: { forced: true, reviewsMissing: 0, deadlinePassed: false } });
  });

  it('dry run returns the decisions, writes and sends nothing', async () => {
    await reviewed();
    rounds.calls = [];
    const result = await run('close-selection', { dryRun: true });
    expect(rounds.writeCount).toBe(0);
    expect(reports.puts).toBe(0);
    expect(mailer.attempts).toBe(0);
    expect(result).toMatchObject({ changed: false, status: 'reviewing', plan: { mails: 1, round: { status: 'closed' } } });
    expect(result.plan!.decisions!.map((d) => d.outcome)).toEqual(['selected', 'selected', 'waitlisted', 'not_selected']);
  });

  it('a double fire changes nothing and sends no second mail', async () => {
    await reviewed();
    await run('close-selection');
    const second = await run('close-selection', { roundId: '2026-03' });
    expect(second).toMatchObject({ changed: false, status: 'closed', summary: { already: true, mailsSent: 0, mailsAlreadySent: 1 } });
    expect(mailer.sent).toHaveLength(1);
    expect(rounds.rounds.get('2026-03')!.version).toBe(3);
    // The scheduler's double fire names no round: no round is reviewing, the newest closed one is taken.
    expect(await run('close-selection')).toMatchObject({ roundId: '2026-03', changed: false, summary: { already: true, mailsSent: 0 } });
    expect(mailer.sent).toHaveLength(1);
  });

  it('a staff mail failure completes the closing; the re-run sends it, with the same report', async () => {
    await reviewed();
    mailer.failFor = () => true;
    const first = await run('close-selection');
    expect(first).toMatchObject({ changed: true, status: 'closed', summary: { mailsSent: 0, mailFailures: 1 } });
    const report = reports.reports.get('2026-03');
    mailer.failFor = undefined;
    const rerun = await run('close-selection', { roundId: '2026-03' });
    expect(rerun).toMatchObject({ changed: false, summary: { already: true, mailsSent: 1 } });
    expect(reports.reports.get('2026-03')).toEqual(report);
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]!.text).toContain('Postes EIG attribués : 5 sur 5');
  });

  it('a crash after the decisions, before the round update: the re-run gives the same decisions', async () => {
    await reviewed();
    rounds.failNext('updateRound');
    await expect(run('close-selection')).rejects.toBeInstanceOf(CrashError);
    const decisions = [...rounds.decisions.values()];
    expect(rounds.rounds.get('2026-03')!.status).toBe('reviewing');
    expect(mailer.sent).toHaveLength(0);
    await run('close-selection');
    expect([...rounds.decisions.values()]).toEqual(decisions);
    expect(mailer.sent).toHaveLength(1);
  });

  it('refused for an open round (earlier phase), audited', async () => {
    await openRound();
    const error = await refusal(run('close-selection', { roundId: '2026-03' }));
    expect(error.reason).toBe('earlier_phase');
    expect(error.message).toMatch(/round 2026-03 is open/);
    expect(rounds.audit.at(-1)).toMatchObject({ step: 'close-selection', summary: { refused: 'earlier_phase' } });
    rounds.calls = [];
    await refusal(run('close-selection', { roundId: '2026-03', dryRun: true }));
    expect(rounds.writeCount).toBe(0);
  });
});

describe('the whole round', () => {
  it('open → close-submissions → remind → close-selection, every run audited with counts only', async () => {
    const results: RoundStepResult[] = [];
    now = new Date('2026-03-01T08:00:00.000Z');
    results.push(await run('open'));
    now = new Date('2026-04-30T18:00:00.000Z');
    results.push(await run('close-submissions'));
    now = new Date('2026-05-14T07:00:00.000Z');
    results.push(await run('remind'));
    now = new Date('2026-05-22T07:00:00.000Z');
    // Nobody reviewed: closing must be forced.
    await refusal(run('close-selection'));
    results.push(await run('close-selection', { force: true }));
    expect(results.map((r) => [r.step, r.changed, r.status])).toEqual([
      ['open', true, 'open'], ['close-submissions', true, 'reviewing'], ['remind', false, 'reviewing'], ['close-selection', true, 'closed'],
    ]);
    expect(rounds.audit.map((a) => [a.step, a.summary.refused ?? a.summary.forced ?? null])).toEqual([
      ['open', null], ['close-submissions', null], ['remind', null], ['close-selection', 'reviews_missing'], ['close-selection', true],
    ]);
    for (const record of rounds.audit) {
      for (const value of Object.values(record.summary)) expect(['number', 'string', 'boolean'].includes(typeof value) || value === null).toBe(true);
    }
    expect(JSON.stringify(rounds.audit)).not.toMatch(/@/);
    // No review at all: nothing selected, staff still told.
    expect(results[3]!.summary).toMatchObject({ selected: 0, notSelected: 4, mailsSent: 1, forced: true, reviewsMissing: 8, dossiersMissingReviews: 4 });
    expect(mailer.sent).toHaveLength(4 + 4 + 1);
  });
});

