import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assignReviewers } from '#core/rounds/assign-reviewers';
import type { ReviewRecord, RoundRecord } from '#core/rounds/model';
import { rankDossiers, reviewMean } from '#core/rounds/rank-dossiers';
import { importReviewers } from '#core/rounds/import-reviewers';
import { formToken, linkExpiry, reviewLink, reviewToken, verifyFormToken, verifyReviewToken } from '#core/rounds/review-links';
import { newReviewerId } from '#core/rounds/reviewer-id';
import { assignmentMail, escapeHtml, reminderMail, selectionReportMail } from '#core/rounds/round-mails';
import { csvField, selectionReport } from '#core/rounds/selection-report';
import { MemoryRoundRepository, reviewerRecord, roundDossier, TEST_CONFIG } from '../helpers/memory-round-ports.ts';

const ROUND: RoundRecord = {
  id: '2026-03', status: 'reviewing', openedAt: '2026-03-01T08:00:00.000Z', submissionsClosedAt: '2026-04-30T08:00:00.000Z',
  reviewDeadline: '2026-05-21T08:00:00.000Z', selectionClosedAt: null, capacityPosts: 5, reviewersPerDossier: 2,
  criteria: TEST_CONFIG.criteria, version: 2,
};
const RULES = { minimumScore: 3, waitlistSize: 2 };

/** A review with both criteria scored `impact`/`faisabilite` (weights 3 and 1). */
function review(dossierNumber: number, reviewer: string, impact: number | undefined, faisabilite: number | undefined, conflictOfInterest = false): ReviewRecord {
  const scores: Record<string, number> = {};
  if (impact !== undefined) scores.impact = impact;
  if (faisabilite !== undefined) scores.faisabilite = faisabilite;
  return { roundId: '2026-03', dossierNumber, reviewerId: reviewer, scores, comment: '', conflictOfInterest, submittedAt: '2026-05-10T10:00:00.000Z' };
}

describe('reviewer ids', () => {
  it('newReviewerId is 16 random hex characters, different each time', () => {
    const ids = Array.from({ length: 50 }, () => newReviewerId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(50);
  });

  it('an import keeps the id of a known address (matched on email) and gives a new one a random id', async () => {
    const rounds = new MemoryRoundRepository();
    const known = reviewerRecord('alice@example.gouv.fr');
    await rounds.putReviewers([known]);
    let next = 0;
    await importReviewers(
      [{ email: 'Alice@Example.GOUV.fr', name: 'Alice' }, { email: 'bob@example.gouv.fr', name: 'Bob' }],
      { rounds, newId: () => `new${++next}` },
    );
    expect([...rounds.reviewers.keys()].sort()).toEqual([known.id, 'new1'].sort());
    expect(rounds.reviewers.get(known.id)).toMatchObject({ email: 'alice@example.gouv.fr', name: 'Alice' });
    expect(rounds.reviewers.get('new1')).toMatchObject({ email: 'bob@example.gouv.fr' });
    // The id is not derived from the address: nothing of it is in the id.
    await importReviewers([{ email: 'carole@example.gouv.fr', name: 'Carole' }], { rounds });
    const carole = [...rounds.reviewers.values()].find((r) => r.email === 'carole@example.gouv.fr')!;
    expect(carole.id).toMatch(/^[0-9a-f]{16}$/);
    expect(carole.id).not.toBe(createHash('sha256').update('carole@example.gouv.fr').digest('hex').slice(0, 16));
  });
});

describe('review links', () => {
  const settings = { baseUrl: 'https://selection.example.gouv.fr/', secret: 's3cret' };
  const id = newReviewerId();
  const NOW = new Date('2026-05-01T08:00:00.000Z');
  const EXPIRES = new Date('2026-06-04T08:00:00.000Z');
  const exp = String(EXPIRES.getTime() / 1000);

  it('builds baseUrl/review/<round>?token=<id>.<expiry, epoch s>.<base64url HMAC>', () => {
    const link = reviewLink(settings, '2026-03', id, EXPIRES);
    expect(link).toMatch(new RegExp(`^https://selection\\.example\\.gouv\\.fr/review/2026-03\\?token=${id}\\.${exp}\\.[A-Za-z0-9_-]{43}$`));
    const token = new URL(link).searchParams.get('token')!;
    expect(token).toBe(reviewToken('s3cret', '2026-03', id, EXPIRES));
  });

  it('verifies its own tokens until they expire: the reviewer id and the expiry', () => {
    const token = reviewToken('s3cret', '2026-03', id, EXPIRES);
    expect(verifyReviewToken('s3cret', '2026-03', token, NOW)).toEqual({ valid: true, reviewerId: id, expiresAt: EXPIRES });
    expect(verifyReviewToken('s3cret', '2026-03', token, new Date(EXPIRES.getTime() - 1000))).toMatchObject({ valid: true });
  });

  it('a genuine token past its expiry is expired, not invalid', () => {
    const token = reviewToken('s3cret', '2026-03', id, EXPIRES);
    expect(verifyReviewToken('s3cret', '2026-03', token, EXPIRES)).toEqual({ valid: false, reason: 'expired' });
    expect(verifyReviewToken('s3cret', '2026-03', token, new Date(EXPIRES.getTime() + 86_400_000))).toEqual({ valid: false, reason: 'expired' });
  });

  it('refuses forged, altered and other rounds\' tokens as invalid (expiry never told for those)', () => {
    const token = reviewToken('s3cret', '2026-03', id, EXPIRES);
    const invalid = { valid: false, reason: 'invalid' };
    const [, , mac] = token.split('.');
    // Another key, another round.
    expect(verifyReviewToken('other', '2026-03', token, NOW)).toEqual(invalid);
    expect(verifyReviewToken('s3cret', '2026-05', token, NOW)).toEqual(invalid);
    // Another reviewer with this signature; a later expiry with this signature; a flipped signature.
    expect(verifyReviewToken('s3cret', '2026-03', `${newReviewerId()}.${exp}.${mac}`, NOW)).toEqual(invalid);
    expect(verifyReviewToken('s3cret', '2026-03', `${id}.${Number(exp) + 86_400}.${mac}`, NOW)).toEqual(invalid);
    const flipped = `${id}.${exp}.${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`;
    expect(verifyReviewToken('s3cret', '2026-03', flipped, NOW)).toEqual(invalid);
    // An expired forgery is invalid, not expired.
    const past = new Date(EXPIRES.getTime() + 86_400_000);
    expect(verifyReviewToken('other', '2026-03', token, past)).toEqual(invalid);
    // A token forged with the right key shape but for a past expiry still needs the key.
    const forgedPast = `${id}.1.${mac}`;
    expect(verifyReviewToken('s3cret', '2026-03', forgedPast, NOW)).toEqual(invalid);
  });

  it('refuses malformed tokens as invalid', () => {
    const token = reviewToken('s3cret', '2026-03', id, EXPIRES);
    const [, , mac] = token.split('.');
    for (const malformed of [
      '', '.', '..', id, `${id}.`, `${id}.${exp}`, `${id}.${exp}.`, `.${exp}.${mac}`, `${id}..${mac}`, `${id}.${exp}.${mac}.x`,
      `${id}.${exp}.${mac}x`, `../x.${exp}.${mac}`, `${id}.-1.${mac}`, `${id}.1e9.${mac}`, `${id}.${exp}0000000000.${mac}`,
      `${token}${'a'.repeat(200)}`, undefined, null,
    ]) {
      expect(verifyReviewToken('s3cret', '2026-03', malformed as string, NOW), String(malformed)).toEqual({ valid: false, reason: 'invalid' });
    }
  });

  it('refuses an empty secret, a bad reviewer id or an invalid expiry when building a link', () => {
    expect(() => reviewLink({ baseUrl: 'https://x', secret: '' }, '2026-03', id, EXPIRES)).toThrow(/secret/);
    expect(() => reviewToken('s3cret', '2026-03', 'a.b', EXPIRES)).toThrow(/reviewer id/);
    expect(() => reviewToken('s3cret', '2026-03', id, new Date(Number.NaN))).toThrow(/expiry/);
  });

  it('links expire reviewLinkGraceDays after the review deadline (before one is set: now + reviewDays + grace)', () => {
    const config = { reviewDays: 21, reviewLinkGraceDays: 14 };
    expect(linkExpiry({ reviewDeadline: '2026-05-21T08:00:00.000Z' }, config, NOW).toISOString()).toBe('2026-06-04T08:00:00.000Z');
    expect(linkExpiry({ reviewDeadline: null }, config, NOW).toISOString()).toBe('2026-06-05T08:00:00.000Z');
  });

  it('form tokens are bound to the round, the reviewer and the link expiry', () => {
    const form = formToken('s3cret', '2026-03', id, EXPIRES);
    expect(verifyFormToken('s3cret', '2026-03', id, EXPIRES, form)).toBe(true);
    expect(verifyFormToken('s3cret', '2026-05', id, EXPIRES, form)).toBe(false);
    expect(verifyFormToken('s3cret', '2026-03', newReviewerId(), EXPIRES, form)).toBe(false);
    expect(verifyFormToken('s3cret', '2026-03', id, new Date(EXPIRES.getTime() + 1000), form)).toBe(false);
    for (const bad of ['', undefined, null, 'x'.repeat(101)]) expect(verifyFormToken('s3cret', '2026-03', id, EXPIRES, bad)).toBe(false);
  });
});

describe('assignReviewers', () => {
  const reviewers = ['a', 'b', 'c', 'd', 'e'].map((n) => reviewerRecord(`${n}@example.fr`));

  it('is deterministic whatever the input order, and balanced (max - min load <= 1)', () => {
    const dossiers = [5, 3, 1, 4, 2, 6, 7].map((n) => roundDossier(n));
    const first = assignReviewers(dossiers, reviewers, 2);
    const second = assignReviewers([...dossiers].reverse(), [...reviewers].reverse(), 2);
    expect(second).toEqual(first);
    expect(first.shortfalls).toEqual([]);
    expect(first.assignments).toHaveLength(14);
    const loads = reviewers.map((r) => first.assignments.filter((a) => a.reviewerId === r.id).length);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    for (const n of [1, 2, 3, 4, 5, 6, 7]) {
      const on = first.assignments.filter((a) => a.dossierNumber === n).map((a) => a.reviewerId);
      expect(new Set(on).size).toBe(2);
    }
    expect(first.assignments.map((a) => a.dossierNumber)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
  });

  it('never assigns a reviewer whose conflicts hold the SIRET, nor inactive or suppressed ones', () => {
    const siret = '13002526500013';
    const pool = [
      reviewerRecord('a@example.fr', { conflicts: [siret] }),
      reviewerRecord('b@example.fr', { active: false }),
      reviewerRecord('c@example.fr', { suppressed: true }),
      reviewerRecord('d@example.fr'),
      reviewerRecord('e@example.fr'),
    ];
    const { assignments, shortfalls } = assignReviewers([roundDossier(1, { siret }), roundDossier(2)], pool, 2);
    const d = reviewerRecord('d@example.fr').id;
    const e = reviewerRecord('e@example.fr').id;
    const a = reviewerRecord('a@example.fr').id;
    expect(assignments.filter((x) => x.dossierNumber === 1).map((x) => x.reviewerId).sort()).toEqual([d, e].sort());
    expect(assignments.filter((x) => x.dossierNumber === 2).map((x) => x.reviewerId)).toContain(a);
    expect(assignments.map((x) => x.reviewerId)).not.toContain(reviewerRecord('b@example.fr').id);
    expect(assignments.map((x) => x.reviewerId)).not.toContain(reviewerRecord('c@example.fr').id);
    expect(shortfalls).toEqual([]);
  });

  it('reviews only stored and files_pending dossiers', () => {
    const dossiers = [
      roundDossier(1), roundDossier(2, { status: 'files_pending' }), roundDossier(3, { status: 'invalid' }),
      roundDossier(4, { status: 'not_found' }), roundDossier(5, { status: 'deleted' }),
    ];
    const { assignments } = assignReviewers(dossiers, reviewers, 1);
    expect(assignments.map((a) => a.dossierNumber)).toEqual([1, 2]);
  });

  it('reports a shortfall when too few eligible reviewers remain', () => {
    const siret = '13002526500013';
    const pool = [reviewerRecord('a@example.fr', { conflicts: [siret] }), reviewerRecord('b@example.fr'), reviewerRecord('c@example.fr')];
    const { assignments, shortfalls } = assignReviewers([roundDossier(1, { siret }), roundDossier(2)], pool, 3);
    expect(shortfalls).toEqual([{ dossierNumber: 1, assigned: 2, wanted: 3 }]);
    expect(assignments.filter((a) => a.dossierNumber === 2)).toHaveLength(3);
    expect(assignReviewers([roundDossier(1)], [], 2).shortfalls).toEqual([{ dossierNumber: 1, assigned: 0, wanted: 2 }]);
  });

  it('keeps earlier assignments and only completes them (a re-run converges)', () => {
    const dossiers = [1, 2, 3].map((n) => roundDossier(n));
    const full = assignReviewers(dossiers, reviewers, 2);
    const half = full.assignments.slice(0, 3);
    const rest = assignReviewers(dossiers, reviewers, 2, half);
    expect([...half, ...rest.assignments].sort((x, y) => x.dossierNumber - y.dossierNumber || (x.reviewerId < y.reviewerId ? -1 : 1)))
      .toEqual(full.assignments);
    expect(assignReviewers(dossiers, reviewers, 2, full.assignments)).toEqual({ assignments: [], shortfalls: [], collegeShortfalls: [] });
  });
});

describe('rankDossiers', () => {
  it('weighted mean per review, mean of reviews, rounded to 2 decimals', () => {
    expect(reviewMean(review(1, 'r1', 4, 2), ROUND.criteria)).toBe(3.5);
    // (3*5+1*4)/4 = 4.75 and (3*3+1*3)/4 = 3 → 3.875 → 3.88
    const { decisions } = rankDossiers([roundDossier(1)], [review(1, 'r1', 5, 4), review(1, 'r2', 3, 3)], ROUND, RULES);
    expect(decisions[0]).toMatchObject({ dossierNumber: 1, score: 3.88, reviewCount: 2, rank: 1, outcome: 'selected' });
  });

  it('does not count reviews with a declared conflict or a missing criterion', () => {
    const reviews = [review(1, 'r1', 5, 5), review(1, 'r2', 1, 1, true), review(1, 'r3', 1, undefined), review(2, 'r1', 2, 2, true)];
    const { decisions } = rankDossiers([roundDossier(1), roundDossier(2)], reviews, ROUND, RULES);
    expect(decisions).toEqual([
      expect.objectContaining({ dossierNumber: 1, score: 5, reviewCount: 1, rank: 1, outcome: 'selected' }),
      expect.objectContaining({ dossierNumber: 2, score: null, reviewCount: 0, rank: null, outcome: 'not_selected', reasonCode: 'no_counted_review', reason: 'Aucune évaluation comptée : dossier non classé.' }),
    ]);
  });

  it('does not count drafts, however complete; a submitted review (or one written before drafts existed) counts', () => {
    const draft = { ...review(1, 'r2', 1, 1), status: 'draft' as const, submittedAt: null };
    const submitted = { ...review(1, 'r1', 5, 5), status: 'submitted' as const, version: 2 };
    expect(reviewMean(draft, ROUND.criteria)).toBeUndefined();
    const { decisions, totals } = rankDossiers([roundDossier(1), roundDossier(2)], [submitted, draft, { ...review(2, 'r1', 4, 4), status: 'draft' as const }], ROUND, RULES);
    expect(decisions.map((d) => [d.dossierNumber, d.score, d.reviewCount, d.outcome])).toEqual([[1, 5, 1, 'selected'], [2, null, 0, 'not_selected']]);
    expect(totals.countedReviews).toBe(1);
  });

  it('breaks ties by more counted reviews, then earlier deposit, then number', () => {
    const dossiers = [
      roundDossier(10, { dateDepot: '2026-03-05T10:00:00+01:00' }),
      roundDossier(11, { dateDepot: '2026-03-04T10:00:00+01:00' }),
      roundDossier(12, { dateDepot: '2026-03-04T10:00:00+01:00' }),
      roundDossier(13, { dateDepot: '2026-03-09T10:00:00+01:00' }),
    ];
    const reviews = [
      review(10, 'r1', 4, 4), review(11, 'r1', 4, 4), review(12, 'r1', 4, 4),
      review(13, 'r1', 4, 4), review(13, 'r2', 4, 4),
    ];
    const { decisions } = rankDossiers(dossiers, reviews, { ...ROUND, capacityPosts: 100 }, RULES);
    expect(decisions.map((d) => [d.dossierNumber, d.rank])).toEqual([[13, 1], [11, 2], [12, 3], [10, 4]]);
  });

  it('skips a dossier too big for the capacity left and selects a smaller one further down (waitlisting the big one)', () => {
    const dossiers = [roundDossier(1, { posts: 3 }), roundDossier(2, { posts: 3 }), roundDossier(3, { posts: 1 }), roundDossier(4, { posts: 2 })];
    const reviews = [review(1, 'r', 5, 5), review(2, 'r', 5, 4), review(3, 'r', 4, 4), review(4, 'r', 4, 3)];
    const { decisions, totals } = rankDossiers(dossiers, reviews, ROUND, RULES);
    expect(decisions.map((d) => [d.dossierNumber, d.outcome])).toEqual([[1, 'selected'], [2, 'waitlisted'], [3, 'selected'], [4, 'waitlisted']]);
    expect(decisions[0]).toMatchObject({ reasonCode: 'selected_within_capacity', reason: 'Rang 1, score 5 : 3 postes demandés, dans la capacité (il reste 2 postes sur 5).' });
    expect(decisions[1]).toMatchObject({
      reasonCode: 'waitlisted_over_capacity',
      reason: "Rang 2, score 4,75 : liste d'attente, position 1 ; 3 postes demandés, plus que la capacité restante (2 postes sur 5). "
        + 'Un dossier classé après, plus petit, peut encore être sélectionné.',
    });
    expect(decisions[2]!.reason).toBe('Rang 3, score 4 : 1 poste demandé, dans la capacité (il reste 1 poste sur 5).');
    expect(totals).toMatchObject({ capacityPosts: 5, postsSelected: 4, selected: 2, waitlisted: 2, notSelected: 0, ranked: 4 });
  });

  it('never selects below minimumScore, whatever the capacity', () => {
    const dossiers = [roundDossier(1), roundDossier(2)];
    const { decisions } = rankDossiers(dossiers, [review(1, 'r', 3, 3), review(2, 'r', 3, 1)], { ...ROUND, capacityPosts: 100 }, RULES);
    expect(decisions.map((d) => [d.dossierNumber, d.score, d.outcome])).toEqual([[1, 3, 'selected'], [2, 2.5, 'not_selected']]);
    expect(decisions[1]).toMatchObject({ reasonCode: 'below_minimum_score', reason: 'Rang 2, score 2,5 : en dessous du score minimum (3).' });
  });

  it('waitlists the next waitlistSize dossiers at or above the minimum, the rest not_selected', () => {
    const dossiers = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => roundDossier(n, { posts: 1 }));
    const reviews = [5, 5, 5, 4, 4, 4, 4, 2].map((impact, i) => review(i + 1, 'r', impact, 5 - (i % 2)));
    const { decisions, totals } = rankDossiers(dossiers, reviews, { ...ROUND, capacityPosts: 3 }, RULES);
    expect(decisions.map((d) => d.outcome)).toEqual([
      'selected', 'selected', 'selected', 'waitlisted', 'waitlisted', 'not_selected', 'not_selected', 'not_selected',
    ]);
    expect(decisions[5]).toMatchObject({ reasonCode: 'over_capacity_waitlist_full' });
    expect(decisions[5]!.reason).toMatch(/^Rang 6, score [\d,]+ : 1 poste demandé, plus que la capacité restante \(0 poste sur 3\), et la liste d'attente est complète\.$/);
    expect(decisions[7]).toMatchObject({ reasonCode: 'below_minimum_score' });
    expect(totals).toMatchObject({ selected: 3, waitlisted: 2, notSelected: 3, postsSelected: 3 });
  });

  it('gives decisions to reviewable dossiers only', () => {
    const dossiers = [roundDossier(1), roundDossier(2, { status: 'invalid' }), roundDossier(3, { status: 'deleted' })];
    const { decisions } = rankDossiers(dossiers, [review(1, 'r', 4, 4), review(2, 'r', 5, 5)], ROUND, RULES);
    expect(decisions.map((d) => d.dossierNumber)).toEqual([1]);
  });
});

describe('selectionReport', () => {
  it('writes stable pretty JSON and RFC 4180 CSV, with no emails or names of people', () => {
    const dossiers = [
      roundDossier(1, { title: 'Données "ouvertes", enfin', administration: 'Ministère A, direction B' }),
      roundDossier(2, { title: 'Ligne 1\nLigne 2' }),
      roundDossier(3, { title: '=HYPERLINK("http://evil")' }),
    ];
    const reviews = [review(1, 'r', 5, 5), review(2, 'r', 4, 4)];
    const round = { ...ROUND, status: 'closed' as const, selectionClosedAt: '2026-05-22T08:00:00.000Z' };
    const { decisions } = rankDossiers(dossiers, reviews, round, RULES);
    const report = selectionReport(round, decisions, dossiers);
    expect(selectionReport(round, [...decisions].reverse(), [...dossiers].reverse())).toEqual(report);

    const json = JSON.parse(report.json);
    expect(report.json).toBe(`${JSON.stringify(json, null, 2)}\n`);
    expect(json).toMatchObject({ roundId: '2026-03', capacityPosts: 5, totals: { selected: 2, notSelected: 1 } });
    expect(json.decisions.map((d: { dossierNumber: number }) => d.dossierNumber)).toEqual([1, 2, 3]);

    const lines = report.csv.split('\r\n');
    expect(lines[0]).toBe("rang,dossier,titre,administration,postes demandés,profils,éligibilité,motif d'éligibilité,score,évaluations comptées,"
      + 'proposition du classement,décision,motif');
    expect(lines[1]).toMatch(/^1,1,"Données ""ouvertes"", enfin","Ministère A, direction B",1,,,,5,1,sélectionné,sélectionné,/);
    expect(report.csv).toContain('2,2,"Ligne 1\nLigne 2",Administration 2,1,,,,4,1,sélectionné,sélectionné,');
    expect(report.csv).toContain(`,3,"'=HYPERLINK(""http://evil"")",Administration 3,1,,,,,0,non sélectionné,non sélectionné,Aucune évaluation comptée : dossier non classé.\r\n`);
    expect(json.decisions[2]).toMatchObject({ outcome: 'not_selected', reasonCode: 'no_counted_review' });
    expect(report.csv.endsWith('\r\n')).toBe(true);
    expect(report.json + report.csv).not.toMatch(/@/);
  });

  it('quotes only what needs quoting', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('a\r\nb')).toBe('"a\r\nb"');
    expect(csvField(null)).toBe('');
    expect(csvField(4.25)).toBe('4.25');
    expect(csvField('-1')).toBe("'-1");
  });
});

describe('round mails', () => {
  const reviewer = { name: 'Zoé <script>alert(1)</script> & Cie', email: 'zoe@example.fr' };

  it('assignment: name, round, count, deadline, personal link; says opening changes nothing, drafts, conflicts; escapes HTML', () => {
    const mail = assignmentMail({ reviewer, roundId: '2026-03', dossierCount: 3, deadline: '2026-05-21T08:00:00.000Z', link: 'https://x/review/2026-03?token=a.b&c=<d>' });
    expect(mail.to).toEqual(['zoe@example.fr']);
    expect(mail.subject).toBe('EIG session 2026-03 : 3 dossiers à évaluer');
    expect(mail.text).toContain('Bonjour Zoé <script>alert(1)</script> & Cie,');
    expect(mail.text).toContain('jeudi 21 mai 2026 à 10:00 (heure de Paris)');
    expect(mail.text).toContain('https://x/review/2026-03?token=a.b&c=<d>');
    expect(mail.text).toMatch(/L'ouvrir ne change rien : vous pouvez y enregistrer un brouillon, puis envoyer votre évaluation/);
    expect(mail.html).toContain('Zoé &lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('href="https://x/review/2026-03?token=a.b&amp;c=&lt;d&gt;"');
    expect(mail.html).not.toMatch(/<img/);
  });

  it('reminder: unfinished count, deadline (past or not), link', () => {
    const mail = reminderMail({ reviewer, roundId: '2026-03', unfinished: 1, deadline: '2026-05-21T08:00:00.000Z', link: 'https://x/l', now: new Date('2026-05-23T08:00:00Z') });
    expect(mail.subject).toBe('EIG session 2026-03 : rappel, 1 évaluation en attente');
    expect(mail.text).toContain('Il vous reste 1 évaluation à envoyer');
    expect(mail.text).toContain('La date limite était le jeudi 21 mai 2026');
    expect(mail.text).toContain('https://x/l');
  });

  it('selection report: counts, posts, report keys, to every staff address', () => {
    const mail = selectionReportMail({
      staffEmails: ['a@x.fr', 'b@x.fr'], roundId: '2026-03',
      totals: { capacityPosts: 12, postsSelected: 11, dossiers: 20, ranked: 18, selected: 8, waitlisted: 3, notSelected: 9, countedReviews: 36, excluded: 0, withdrawn: 0, committeeDecisions: 0 },
      reportKeys: { jsonKey: 'reports/2026-03/selection.json', csvKey: 'reports/2026-03/selection.csv' },
    });
    expect(mail.to).toEqual(['a@x.fr', 'b@x.fr']);
    expect(mail.text).toContain('Dossiers soumis à la sélection (dossiers valides) : 20');
    expect(mail.text).toContain('Dossiers classés (au moins une évaluation comptée) : 18');
    expect(mail.text).toContain('Évaluations comptées : 36');
    expect(mail.text).toContain("2 dossiers sans évaluation comptée n'ont pas été classés (non sélectionnés).");
    expect(mail.text).toContain('Postes EIG attribués : 11 sur 12');
    expect(mail.text).toContain('Sélectionnés : 8');
    expect(mail.text).toContain('reports/2026-03/selection.csv');
    expect(mail.subject).toBe('EIG session 2026-03 : sélection close, 8 dossiers sélectionnés');
  });

  it('selection report: says plainly when no review was counted (not "2 dossiers évalués")', () => {
    const mail = selectionReportMail({
      staffEmails: ['a@x.fr'], roundId: '2026-03',
      totals: { capacityPosts: 12, postsSelected: 0, dossiers: 2, ranked: 0, selected: 0, waitlisted: 0, notSelected: 2, countedReviews: 0, excluded: 0, withdrawn: 0, committeeDecisions: 0 },
      reportKeys: { jsonKey: 'reports/2026-03/selection.json', csvKey: 'reports/2026-03/selection.csv' },
    });
    expect(mail.subject).toBe('EIG session 2026-03 : sélection close, 0 dossier sélectionné (aucune évaluation comptée)');
    expect(mail.text).toContain("Aucune évaluation n'a été comptée");
    expect(mail.text).toContain("aucun dossier n'a été classé ni sélectionné.");
    expect(mail.text).toContain('Dossiers classés (au moins une évaluation comptée) : 0');
    expect(mail.text).toContain('Évaluations comptées : 0');
    expect(mail.text).not.toMatch(/évalués/);
  });

  it('escapeHtml escapes the five characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
