import { beforeEach, describe, expect, it } from 'vitest';
import { requireFormToken, reviewStateOf, writePermission, type ReviewerSession } from '#core/reviews/access';
import { ReviewAccessError } from '#core/reviews/errors';
import { COMMENT_MAX_LENGTH, validateReviewForm, type ReviewFormInput } from '#core/reviews/review-form';
import { attachmentOf, openDossier, openDossierPage, openListPage, reviewPageReadsFrom, type PageDependencies } from '#core/reviews/reviewer-pages';
import { saveReview, type SaveReviewDependencies, type SaveReviewRequest } from '#core/reviews/save-review';
import { chooseReplacement } from '#core/rounds/assign-reviewers';
import type { DossierRecord } from '#core/dossier';
import type { ReviewRecord, ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { formToken, linkExpiry, reviewToken } from '#core/rounds/review-links';
import type { Criterion } from '#schemas/rounds';
import { MemoryRoundRepository, RecordingMailer, roundDossier } from '../helpers/memory-round-ports.ts';

// The review page's decisions, without any HTTP: who may read or write what, in which phase,
// what a form must hold, and what a conflict of interest does.

const SECRET = 'review-link-key';
const NOW = new Date('2026-03-10T09:00:00.000Z');
const DEADLINE = '2026-03-22T07:00:00.000Z';
const CRITERIA: Criterion[] = [
  { id: 'impact', label: 'Impact', description: 'Pour les usagers', weight: 3 },
  { id: 'faisabilite', label: 'Faisabilité', weight: 1 },
];
const CONFIG = { reviewDays: 21, reviewLinkGraceDays: 14 };

const round = (overrides: Partial<RoundRecord> = {}): RoundRecord => ({
  id: '2026-03', status: 'reviewing', openedAt: '2026-03-01T08:00:00.000Z', submissionsClosedAt: '2026-03-01T07:00:00.000Z',
  reviewDeadline: DEADLINE, selectionClosedAt: null, capacityPosts: 5, reviewersPerDossier: 2, criteria: CRITERIA, version: 2, ...overrides,
});
const reviewer = (id: string, overrides: Partial<ReviewerRecord> = {}): ReviewerRecord => ({
  id, email: `${id}@example.gouv.fr`, name: `Reviewer ${id}`, conflicts: [], active: true, ...overrides,
});

let rounds: MemoryRoundRepository;
let mailer: RecordingMailer;
let dossiers: Map<number, DossierRecord>;
let clock: { now(): Date };

function deps(): SaveReviewDependencies {
  return {
    rounds, mailer, clock, config: CONFIG,
    dossiers: { get: async (n: number) => dossiers.get(n) },
    reviewLinks: { baseUrl: 'https://selection.example.gouv.fr', secret: SECRET },
  };
}

function assign(dossierNumber: number, reviewerId: string, extra: { replaces?: string } = {}) {
  rounds.assignments.set(`2026-03|${dossierNumber}|${reviewerId}`, { roundId: '2026-03', dossierNumber, reviewerId, assignedAt: '2026-03-01T07:00:00.000Z', ...extra });
}

const session = (id = 'alice'): ReviewerSession => ({ round: rounds.rounds.get('2026-03')!, reviewer: rounds.reviewers.get(id)!, linkExpiresAt: new Date('2026-04-05T07:00:00.000Z') });

/** The pages' reads as the in-memory store gives them (the reference composition of single reads). */
const pageDeps = (): PageDependencies => ({ reads: reviewPageReadsFrom(rounds, { get: async (n: number) => dossiers.get(n) }), secret: SECRET, clock });
const linkOf = (id: string, roundId = '2026-03') => reviewToken(SECRET, roundId, id, new Date('2026-04-05T07:00:00.000Z'));

const form = (overrides: Partial<SaveReviewRequest['form']> = {}): SaveReviewRequest['form'] => ({
  intent: 'submit', scores: { impact: 4, faisabilite: 3 }, comment: 'Solide.', conflictOfInterest: false, ...overrides,
});

const request = (overrides: Partial<SaveReviewRequest> = {}): SaveReviewRequest => ({
  round: rounds.rounds.get('2026-03')!, reviewer: rounds.reviewers.get('alice')!, dossierNumber: 101, form: form(), expectedVersion: 0, actor: 'reviewer', ...overrides,
});

beforeEach(() => {
  rounds = new MemoryRoundRepository();
  mailer = new RecordingMailer();
  clock = { now: () => NOW };
  rounds.rounds.set('2026-03', round());
  for (const id of ['alice', 'bob', 'carol', 'dave']) rounds.reviewers.set(id, reviewer(id));
  dossiers = new Map([101, 102, 103].map((n) => [n, roundDossier(n)]));
  assign(101, 'alice');
  assign(101, 'bob');
  assign(102, 'alice');
  assign(102, 'carol');
  assign(103, 'bob');
  assign(103, 'carol');
});

describe('a link opens one round for one active reviewer, on the list and on a dossier alike', () => {
  const expiry = new Date('2026-04-05T07:00:00.000Z');
  /** The session each page opens, or the refusal both give (they must give the same). */
  async function openSession(roundId: string, token: string | undefined) {
    const [list, dossier] = await Promise.allSettled([openListPage(roundId, token, pageDeps()), openDossier(roundId, token, 101, pageDeps())]);
    if (list.status === 'rejected' || dossier.status === 'rejected') {
      expect(list).toMatchObject({ status: 'rejected' });
      expect(dossier).toEqual(list);
      throw (list as PromiseRejectedResult).reason;
    }
    expect(dossier.value.session).toEqual(list.value.session);
    return list.value.session;
  }

  it('opens a session for a genuine, unexpired token of this round', async () => {
    const opened = await openSession('2026-03', reviewToken(SECRET, '2026-03', 'alice', expiry));
    expect(opened.reviewer.id).toBe('alice');
    expect(opened.round.id).toBe('2026-03');
    expect(opened.linkExpiresAt).toEqual(expiry);
  });

  it('reads nothing for a link that is not genuine or has expired', async () => {
    for (const token of [undefined, reviewToken('other-key', '2026-03', 'alice', expiry), reviewToken(SECRET, '2026-03', 'alice', new Date(NOW.getTime() - 1000))]) {
      await expect(openSession('2026-03', token)).rejects.toBeInstanceOf(ReviewAccessError);
    }
    expect(rounds.calls).toEqual([]);
  });

  it.each([
    ['a token of another round', () => reviewToken(SECRET, '2026-05', 'alice', expiry), 'invalid_link', 403],
    ['a token signed with another key', () => reviewToken('other-key', '2026-03', 'alice', expiry), 'invalid_link', 403],
    ['a token whose reviewer id was changed', () => reviewToken(SECRET, '2026-03', 'alice', expiry).replace(/^alice/, 'bob'), 'invalid_link', 403],
    ['a token whose expiry was pushed back', () => {
      const [id, exp, sig] = reviewToken(SECRET, '2026-03', 'alice', expiry).split('.');
      return `${id}.${Number(exp) + 86_400}.${sig}`;
    }, 'invalid_link', 403],
    ['no token', () => undefined, 'invalid_link', 403],
    ['a genuine token past its expiry', () => reviewToken(SECRET, '2026-03', 'alice', new Date(NOW.getTime() - 1000)), 'expired_link', 403],
  ])('refuses %s', async (_what, token, reason, status) => {
    const refusal = await openSession('2026-03', token()).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ReviewAccessError);
    expect(refusal).toMatchObject({ reason, status });
  });

  it('refuses an inactive reviewer, and a reviewer no longer in the committee, even with a genuine link', async () => {
    rounds.reviewers.set('alice', reviewer('alice', { active: false }));
    await expect(openSession('2026-03', reviewToken(SECRET, '2026-03', 'alice', expiry))).rejects.toMatchObject({ reason: 'inactive_reviewer' });
    await expect(openSession('2026-03', reviewToken(SECRET, '2026-03', 'nobody', expiry))).rejects.toMatchObject({ reason: 'inactive_reviewer' });
  });

  it('refuses a genuine link to a round that does not exist', async () => {
    await expect(openSession('2026-05', reviewToken(SECRET, '2026-05', 'alice', expiry))).rejects.toMatchObject({ reason: 'unknown_round', status: 404 });
  });

  it('checks the anti-forgery token against the reviewer, the round and the link', () => {
    const s = session();
    expect(() => requireFormToken(s, formToken(SECRET, '2026-03', 'alice', s.linkExpiresAt), SECRET)).not.toThrow();
    for (const forged of [undefined, '', formToken(SECRET, '2026-03', 'bob', s.linkExpiresAt), formToken(SECRET, '2026-05', 'alice', s.linkExpiresAt),
      formToken(SECRET, '2026-03', 'alice', new Date('2026-04-06T07:00:00.000Z')), formToken('other', '2026-03', 'alice', s.linkExpiresAt)]) {
      expect(() => requireFormToken(s, forged, SECRET)).toThrow(expect.objectContaining({ reason: 'invalid_form_token' }));
    }
  });

  it('makes links expire at the review deadline plus the grace days', () => {
    expect(linkExpiry({ reviewDeadline: DEADLINE }, CONFIG, NOW).toISOString()).toBe('2026-04-05T07:00:00.000Z');
    // Before submissions close, the deadline is not known yet: from now on.
    expect(linkExpiry({ reviewDeadline: null }, CONFIG, NOW).toISOString()).toBe('2026-04-14T09:00:00.000Z');
  });
});

describe('writePermission: reviews are written while the round is reviewing, and never after a declared conflict', () => {
  const review = (overrides: Partial<ReviewRecord>): ReviewRecord => ({
    roundId: '2026-03', dossierNumber: 101, reviewerId: 'alice', scores: {}, comment: '', conflictOfInterest: false, submittedAt: null, ...overrides,
  });

  it.each([
    ['open', undefined, { canWrite: false, reason: 'round_not_reviewing_yet' }],
    ['reviewing', undefined, { canWrite: true }],
    ['closed', undefined, { canWrite: false, reason: 'round_closed' }],
    ['reviewing', review({ status: 'draft' }), { canWrite: true }],
    ['reviewing', review({ status: 'submitted', submittedAt: NOW.toISOString() }), { canWrite: true }],
    ['reviewing', review({ status: 'submitted', conflictOfInterest: true }), { canWrite: false, reason: 'conflict_declared' }],
    ['closed', review({ status: 'submitted', conflictOfInterest: true }), { canWrite: false, reason: 'round_closed' }],
  ] as const)('round %s, review %j', (status, stored, expected) => {
    expect(writePermission({ status }, stored)).toEqual(expected);
  });

  it('tells the states the list shows', () => {
    expect(reviewStateOf(undefined)).toBe('to_do');
    expect(reviewStateOf(review({ status: 'draft', conflictOfInterest: true }))).toBe('draft');
    expect(reviewStateOf(review({ status: 'submitted' }))).toBe('submitted');
    // Records from before drafts existed have no status: they were submitted.
    expect(reviewStateOf(review({}))).toBe('submitted');
    expect(reviewStateOf(review({ status: 'submitted', conflictOfInterest: true }))).toBe('conflict');
  });
});

describe('validateReviewForm: the same rules for the page and the staff import', () => {
  const input = (overrides: Partial<ReviewFormInput> = {}): ReviewFormInput => ({
    intent: 'submit', scores: { impact: '4', faisabilite: '2' }, comment: '  Bon dossier. ', conflictOfInterest: false, ...overrides,
  });

  it('accepts a complete submission, trimming the comment', () => {
    expect(validateReviewForm(input(), CRITERIA)).toEqual({
      valid: true, value: { intent: 'submit', scores: { impact: 4, faisabilite: 2 }, comment: 'Bon dossier.', conflictOfInterest: false },
    });
  });

  it('lets a draft leave criteria unscored, but not a submission', () => {
    expect(validateReviewForm(input({ intent: 'draft', scores: { impact: '5' } }), CRITERIA)).toMatchObject({ valid: true, value: { scores: { impact: 5 } } });
    const refused = validateReviewForm(input({ scores: { impact: '5', faisabilite: '' } }), CRITERIA);
    expect(refused).toEqual({ valid: false, errors: { score_faisabilite: 'Notez « Faisabilité » de 1 à 5 avant d\'envoyer l\'évaluation.' } });
  });

  it.each(['0', '6', '3.5', '-1', 'quatre', '1e0', '04x'])('refuses the score %j, in a draft too', (score) => {
    const result = validateReviewForm(input({ intent: 'draft', scores: { impact: score } }), CRITERIA);
    expect(result).toEqual({ valid: false, errors: { score_impact: 'La note de « Impact » doit être un nombre entier de 1 à 5.' } });
  });

  it('needs no score for a submission that declares a conflict of interest', () => {
    expect(validateReviewForm(input({ scores: {}, conflictOfInterest: true }), CRITERIA)).toMatchObject({ valid: true, value: { conflictOfInterest: true } });
  });

  it('refuses a comment over the limit, counting characters, not bytes, and CRLF as one', () => {
    const atLimit = 'é'.repeat(COMMENT_MAX_LENGTH - 2) + '\r\n.';
    expect(validateReviewForm(input({ comment: atLimit }), CRITERIA).valid).toBe(true);
    const result = validateReviewForm(input({ comment: 'a'.repeat(COMMENT_MAX_LENGTH + 1) }), CRITERIA);
    expect(result).toEqual({ valid: false, errors: { comment: expect.stringMatching(/^Le commentaire fait 5\s001 caractères ; la limite est de 5\s000\.$/) } });
  });

  it('refuses an unknown intent and a criterion the round does not have', () => {
    const result = validateReviewForm(input({ intent: 'publish', scores: { impact: '3', faisabilite: '3', budget: '5' } }), CRITERIA);
    expect(result).toEqual({ valid: false, errors: { intent: expect.stringContaining('Enregistrer le brouillon'), score_budget: expect.stringContaining('budget') } });
  });
});

describe('saveReview', () => {
  it('saves a draft, then submits it, each write one version further', async () => {
    const draft = await saveReview(request({ form: form({ intent: 'draft', scores: { impact: 4 } }) }), deps());
    expect(draft).toMatchObject({ outcome: 'saved', review: { status: 'draft', version: 1, submittedAt: null, scores: { impact: 4 }, writtenBy: 'reviewer' } });
    const sent = await saveReview(request({ expectedVersion: 1 }), deps());
    expect(sent).toMatchObject({ outcome: 'saved', review: { status: 'submitted', version: 2, submittedAt: NOW.toISOString() } });
    expect(await rounds.getReview('2026-03', 101, 'alice')).toMatchObject({ status: 'submitted', version: 2, scores: { impact: 4, faisabilite: 3 } });
    // Back to a draft after a submission keeps when it was submitted (it is no longer counted).
    const again = await saveReview(request({ expectedVersion: 2, form: form({ intent: 'draft' }) }), deps());
    expect(again).toMatchObject({ outcome: 'saved', review: { status: 'draft', version: 3, submittedAt: NOW.toISOString() } });
  });

  it('refuses a stale form and writes nothing', async () => {
    await saveReview(request({ form: form({ intent: 'draft' }) }), deps());
    const stale = await saveReview(request({ expectedVersion: 0, form: form({ comment: 'other tab' }) }), deps());
    expect(stale).toMatchObject({ outcome: 'stale', current: { version: 1, comment: 'Solide.' } });
    expect((await rounds.getReview('2026-03', 101, 'alice'))!.comment).toBe('Solide.');
  });

  it('refuses when another write lands between the read and the write (conditional put)', async () => {
    rounds.beforeCall = async (method) => {
      if (method !== 'putReviewIfVersion') return;
      rounds.beforeCall = undefined;
      await rounds.putReview({ roundId: '2026-03', dossierNumber: 101, reviewerId: 'alice', scores: {}, comment: 'racing tab', conflictOfInterest: false, status: 'draft', version: 1, submittedAt: null });
    };
    expect(await saveReview(request(), deps())).toMatchObject({ outcome: 'stale', current: { comment: 'racing tab' } });
  });

  it('refuses a dossier not assigned to the reviewer, and writes nothing', async () => {
    await expect(saveReview(request({ dossierNumber: 103 }), deps())).rejects.toMatchObject({ reason: 'not_assigned', status: 404 });
    expect(rounds.reviews.size).toBe(0);
  });

  it.each(['deleted', 'invalid', 'not_found'] as const)('writes nothing for a dossier that became %s after assignment, and says so on its page', async (status) => {
    dossiers.set(101, roundDossier(101, { status }));
    expect(await saveReview(request(), deps())).toEqual({ outcome: 'read_only', reason: 'dossier_withdrawn' });
    expect(rounds.reviews.size).toBe(0);
    const page = await openDossierPage('2026-03', linkOf('alice'), 101, pageDeps());
    expect(page.permission).toEqual({ canWrite: false, reason: 'dossier_withdrawn' });
  });

  it('decides from what the page read when given (no second read), with the same checks', async () => {
    const { records } = await openDossier('2026-03', linkOf('alice'), 101, pageDeps());
    rounds.calls.length = 0;
    const saved = await saveReview(request({ known: records }), deps());
    expect(saved).toMatchObject({ outcome: 'saved', review: { version: 1 } });
    expect(rounds.calls).toEqual(['putReviewIfVersion']);
    // The write is still conditional on the version: a read that is out of date gives `stale`.
    expect(await saveReview(request({ known: records }), deps())).toMatchObject({ outcome: 'stale', current: { version: 1 } });
    await expect(saveReview(request({ known: { ...records, assigned: false } }), deps())).rejects.toMatchObject({ reason: 'not_assigned' });
    await expect(saveReview(request({ known: { ...records, dossier: undefined } }), deps())).rejects.toMatchObject({ reason: 'not_assigned' });
    expect(await saveReview(request({ known: { ...records, dossier: roundDossier(101, { status: 'deleted' }) } }), deps()))
      .toEqual({ outcome: 'read_only', reason: 'dossier_withdrawn' });
  });

  it.each(['open', 'closed'] as const)('writes nothing in a round that is %s', async (status) => {
    rounds.rounds.set('2026-03', round({ status }));
    const result = await saveReview(request(), deps());
    expect(result).toEqual({ outcome: 'read_only', reason: status === 'closed' ? 'round_closed' : 'round_not_reviewing_yet' });
    expect(rounds.reviews.size).toBe(0);
  });

  describe('a declared conflict of interest', () => {
    it('keeps the review uncounted, assigns the least-loaded eligible reviewer, audits, and mails them once', async () => {
      const result = await saveReview(request({ form: form({ conflictOfInterest: true }) }), deps());
      // dave has no dossier: the least loaded; bob is on the dossier already.
      expect(result).toMatchObject({ outcome: 'saved', review: { conflictOfInterest: true, status: 'submitted', scores: {} }, conflict: { replacementId: 'dave', mails: { sent: 1 } } });
      expect(rounds.assignments.get('2026-03|101|dave')).toMatchObject({ replaces: 'alice' });
      expect(rounds.audit).toEqual([expect.objectContaining({
        step: 'declare-conflict', actor: 'reviewer:alice', summary: { dossier: 101, withdrawnReviewer: 'alice', replacementReviewer: 'dave', replaced: true },
      })]);
      expect(mailer.to('dave@example.gouv.fr')).toHaveLength(1);
      expect(mailer.sent[0]!.subject).toContain('dossier supplémentaire');
      expect(mailer.sent[0]!.text).toMatch(/https:\/\/selection\.example\.gouv\.fr\/review\/2026-03\?token=dave\.\d+\./);
      // The audit names ids only, never an address or a name.
      expect(JSON.stringify(rounds.audit)).not.toMatch(/@|Reviewer /);
      // Final: the reviewer cannot change it afterwards.
      expect(await saveReview(request({ expectedVersion: 1 }), deps())).toEqual({ outcome: 'read_only', reason: 'conflict_declared' });
    });

    it('never picks a reviewer with a declared conflict with the administration, nor an inactive one', async () => {
      const siret = dossiers.get(101)!.project!.administration!.siret;
      rounds.reviewers.set('dave', reviewer('dave', { conflicts: [siret] }));
      rounds.reviewers.set('carol', reviewer('carol', { active: false }));
      const result = await saveReview(request({ form: form({ conflictOfInterest: true, scores: {} }) }), deps());
      expect(result).toMatchObject({ outcome: 'saved', conflict: { replacementId: null } });
      expect(rounds.audit[0]!.summary).toMatchObject({ replaced: false, replacementReviewer: null });
      expect(mailer.sent).toHaveLength(0);
    });

    it('keeps the jury balanced: the replacement brings a college the dossier lacks, and a SIREN conflict is never chosen', async () => {
      rounds.reviewers.set('alice', reviewer('alice', { college: 'recherche' }));
      rounds.reviewers.set('bob', reviewer('bob', { college: 'administration' }));
      // dave is the least loaded but of bob's college, already on the dossier; erin is a researcher of the dossier's organisation (SIREN).
      rounds.reviewers.set('dave', reviewer('dave', { college: 'administration' }));
      const siren = dossiers.get(101)!.project!.administration!.siret.slice(0, 9);
      rounds.reviewers.set('erin', reviewer('erin', { college: 'recherche', conflicts: [`${siren}00099`] }));
      rounds.reviewers.set('frank', reviewer('frank', { college: 'recherche' }));
      assign(103, 'frank');
      const result = await saveReview(request({ form: form({ conflictOfInterest: true }) }), deps());
      expect(result).toMatchObject({ conflict: { replacementId: 'frank' } });
    });

    it('after a crash between the replacement and the review, a retry finds the same replacement and mails once', async () => {
      rounds.failNext('putReviewIfVersion');
      await expect(saveReview(request({ form: form({ conflictOfInterest: true }) }), deps())).rejects.toThrow(/crashed/);
      expect(rounds.assignments.get('2026-03|101|dave')).toMatchObject({ replaces: 'alice' });
      const retried = await saveReview(request({ form: form({ conflictOfInterest: true }) }), deps());
      expect(retried).toMatchObject({ conflict: { replacementId: 'dave', mails: { sent: 1 } } });
      expect([...rounds.assignments.values()].filter((a) => a.dossierNumber === 101).map((a) => a.reviewerId).sort()).toEqual(['alice', 'bob', 'dave']);
      expect(mailer.sent).toHaveLength(1);
    });

    it('is only a declaration once sent: a draft with the box ticked reassigns nothing', async () => {
      const result = await saveReview(request({ form: form({ intent: 'draft', conflictOfInterest: true }) }), deps());
      expect(result).toMatchObject({ outcome: 'saved', review: { status: 'draft', conflictOfInterest: true, scores: { impact: 4 } } });
      expect(result).not.toHaveProperty('conflict');
      expect(rounds.assignments.size).toBe(6);
    });
  });
});

describe('chooseReplacement', () => {
  it('is deterministic: the least loaded, ties by id, whatever the order given', () => {
    const reviewers = ['erin', 'dave', 'carol', 'bob', 'alice'].map((id) => reviewer(id));
    const pairs = [{ dossierNumber: 1, reviewerId: 'alice' }, { dossierNumber: 2, reviewerId: 'carol' }, { dossierNumber: 3, reviewerId: 'bob' }];
    expect(chooseReplacement({ number: 1, project: null }, reviewers, pairs)?.id).toBe('dave');
    expect(chooseReplacement({ number: 1, project: null }, [...reviewers].reverse(), [...pairs].reverse())?.id).toBe('dave');
    expect(chooseReplacement({ number: 1, project: null }, reviewers.slice(0, 2).map((r) => ({ ...r, suppressed: true })), pairs)).toBeUndefined();
  });
});

describe('reviewer pages: only assigned dossiers, only the reviewer\'s own review', () => {
  it('lists the reviewer\'s dossiers with their state, and what is left', async () => {
    await saveReview(request({ form: form({ intent: 'draft' }) }), deps());
    await rounds.putReview({ roundId: '2026-03', dossierNumber: 102, reviewerId: 'carol', scores: { impact: 1, faisabilite: 1 }, comment: 'carol only', conflictOfInterest: false, status: 'submitted', version: 1, submittedAt: NOW.toISOString() });
    const page = await openListPage('2026-03', linkOf('alice'), pageDeps());
    expect(page.items).toEqual([
      { dossierNumber: 101, title: 'Projet 101', administration: 'Administration 101', state: 'draft', reviewable: true },
      // Carol's submitted review of 102 is hers: Alice's state is still "to do".
      { dossierNumber: 102, title: 'Projet 102', administration: 'Administration 102', state: 'to_do', reviewable: true },
    ]);
    expect(page.remaining).toBe(2);
    expect(page.roundOpenForReviews).toBe(true);
  });

  it('says when an assigned dossier is no longer reviewable, and does not count it as left', async () => {
    dossiers.set(102, roundDossier(102, { status: 'deleted' }));
    const page = await openListPage('2026-03', linkOf('alice'), pageDeps());
    expect(page.items.find((i) => i.dossierNumber === 102)).toMatchObject({ reviewable: false });
    expect(page.remaining).toBe(1);
  });

  it('shows an assigned dossier with the reviewer\'s own review and its version', async () => {
    await saveReview(request({ form: form({ intent: 'draft' }) }), deps());
    const page = await openDossierPage('2026-03', linkOf('alice'), 101, pageDeps());
    expect(page).toMatchObject({ dossier: { number: 101 }, state: 'draft', version: 1, permission: { canWrite: true }, review: { reviewerId: 'alice' } });
    const bobs = await openDossierPage('2026-03', linkOf('bob'), 101, pageDeps());
    expect(bobs.review).toBeUndefined();
    expect(bobs.version).toBe(0);
  });

  it('refuses a dossier not assigned, a missing one, and an attachment out of range', async () => {
    await expect(openDossierPage('2026-03', linkOf('alice'), 103, pageDeps())).rejects.toMatchObject({ reason: 'not_assigned' });
    assign(999, 'alice');
    await expect(openDossierPage('2026-03', linkOf('alice'), 999, pageDeps())).rejects.toMatchObject({ reason: 'not_assigned' });
    dossiers.set(101, { ...roundDossier(101), attachments: [{ champId: 'c', label: 'Fiche', filename: 'fiche.pdf', contentType: 'application/pdf', byteSize: 3, checksum: 'x', virusScan: 'safe', key: 'attachments/101/fiche.pdf' }] });
    const page = await openDossierPage('2026-03', linkOf('alice'), 101, pageDeps());
    expect(attachmentOf(page, 0)).toMatchObject({ filename: 'fiche.pdf' });
    for (const index of [1, -1, 0.5, Number.NaN]) {
      expect(() => attachmentOf(page, index)).toThrow(expect.objectContaining({ reason: 'not_assigned' }));
    }
    await expect(openDossierPage('2026-03', linkOf('carol'), 101, pageDeps())).rejects.toMatchObject({ reason: 'not_assigned' });
  });
});

describe('French dates', () => {
  it('writes the first of a month "1er", in Paris time', async () => {
    const { readableCalendarDay, readableParisDate } = await import('#core/rounds/paris-dates');
    expect(readableParisDate('2026-03-31T22:30:00.000Z')).toBe('mercredi 1er avril 2026 à 00:30 (heure de Paris)');
    expect(readableParisDate('2026-04-11T07:00:00.000Z')).toBe('samedi 11 avril 2026 à 09:00 (heure de Paris)');
    expect(readableCalendarDay('2026-10-01')).toBe('1er octobre 2026');
    expect(readableCalendarDay('2026-10-21')).toBe('21 octobre 2026');
    expect(readableCalendarDay('pas une date')).toBeUndefined();
  });
});
