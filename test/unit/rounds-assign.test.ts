import { beforeEach, describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { assignReviewers } from '#core/rounds/assign-reviewers';
import type { CloseSubmissionsPlan } from '#core/rounds/close-submissions';
import type { ReviewerRecord } from '#core/rounds/model';
import { runRoundStep, type RoundStepRequest } from '#core/rounds/run-round-step';
import { DEFAULT_JURY_CONFIG } from '#schemas/jury';
import type { College } from '#schemas/rounds';
import {
  MemoryReportStore, MemoryRoundDossiers, MemoryRoundRepository, RecordingMailer, reviewerRecord, roundDossier, TEST_CONFIG,
} from '../helpers/memory-round-ports.ts';

const member = (name: string, college?: College, overrides: Partial<Omit<ReviewerRecord, 'id' | 'email'>> = {}) =>
  reviewerRecord(`${name}@example.fr`, { ...(college ? { college } : {}), ...overrides });
const idOf = (name: string) => member(name).id;

function withContacts(record: DossierRecord, contacts: string[]): DossierRecord {
  return { ...record, project: { ...record.project, contactEmails: contacts, team: [] } };
}

const collegesOf = (plan: ReturnType<typeof assignReviewers>, reviewers: ReviewerRecord[], number: number) =>
  plan.assignments.filter((a) => a.dossierNumber === number).map((a) => reviewers.find((r) => r.id === a.reviewerId)!.college).sort();

describe('assignReviewers: a balanced jury', () => {
  const jury = [
    member('adele', 'administration'), member('alain', 'administration'), member('anne', 'administration'), member('arthur', 'administration'),
    member('nadia', 'numerique'), member('noe', 'numerique'), member('remi', 'recherche'), member('rose', 'recherche'),
  ];

  it('takes the K reviewers of a dossier from distinct colleges, even when one college is larger', () => {
    const dossiers = [1, 2, 3, 4, 5, 6].map((n) => roundDossier(n));
    const plan = assignReviewers(dossiers, jury, 3);
    expect(plan.shortfalls).toEqual([]);
    expect(plan.collegeShortfalls).toEqual([]);
    for (const n of [1, 2, 3, 4, 5, 6]) expect(collegesOf(plan, jury, n)).toEqual(['administration', 'numerique', 'recherche']);
    // Within a college, loads within one: 6 places over 4 administrations, 2 numerique, 2 recherche.
    const load = (name: string) => plan.assignments.filter((a) => a.reviewerId === idOf(name)).length;
    expect(['adele', 'alain', 'anne', 'arthur'].map(load).sort()).toEqual([1, 1, 2, 2]);
    expect(['nadia', 'noe', 'remi', 'rose'].map(load)).toEqual([3, 3, 3, 3]);
  });

  it('with K below the number of colleges, distinct colleges and loads within one overall', () => {
    const dossiers = Array.from({ length: 12 }, (_, i) => roundDossier(i + 1));
    const plan = assignReviewers(dossiers, jury, 2);
    expect(plan.collegeShortfalls).toEqual([]);
    for (let n = 1; n <= 12; n++) expect(new Set(collegesOf(plan, jury, n)).size).toBe(2);
    const loads = jury.map((r) => plan.assignments.filter((a) => a.reviewerId === r.id).length);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
  });

  it('reports a dossier whose eligible reviewers span too few colleges, with the colleges it got (never who)', () => {
    // The only researcher works where dossier 2's contact works: it cannot have one.
    const pool = [...jury.filter((r) => r.college !== 'recherche'), { ...member('remi', 'recherche'), email: 'remi@labo.fr' }];
    const dossiers = [roundDossier(1), withContacts(roundDossier(2), ['porteuse@labo.fr'])];
    const plan = assignReviewers(dossiers, pool, 3);
    expect(plan.shortfalls).toEqual([]);
    expect(plan.collegeShortfalls).toEqual([{ dossierNumber: 2, colleges: ['administration', 'administration', 'numerique'] }]);
    expect(collegesOf(plan, pool, 1)).toEqual(['administration', 'numerique', 'recherche']);
    expect(JSON.stringify(plan.collegeShortfalls)).not.toMatch(/@|remi/);
  });

  it('a committee without colleges is assigned as before colleges (each reviewer a college of their own); mixed committees too', () => {
    const plain = ['a', 'b', 'c', 'd', 'e'].map((n) => member(n));
    const dossiers = [5, 3, 1, 4, 2, 6, 7].map((n) => roundDossier(n));
    const plan = assignReviewers(dossiers, plain, 2);
    expect(plan.collegeShortfalls).toEqual([]);
    // The least loaded, ties by id: the same pairs as taking the two smallest (load, id) each time.
    const load = new Map(plain.map((r) => [r.id, 0]));
    const expected = [1, 2, 3, 4, 5, 6, 7].flatMap((n) => {
      const chosen = [...plain].sort((x, y) => load.get(x.id)! - load.get(y.id)! || (x.id < y.id ? -1 : 1)).slice(0, 2);
      for (const r of chosen) load.set(r.id, load.get(r.id)! + 1);
      return chosen.map((r) => r.id).sort().map((reviewerId) => ({ dossierNumber: n, reviewerId }));
    });
    expect(plan.assignments).toEqual(expected);
    // Two administrations and a reviewer without college, K = 2: never the two administrations together.
    const mixed = [member('adele', 'administration'), member('alain', 'administration'), member('zoe')];
    const mixedPlan = assignReviewers([1, 2, 3, 4].map((n) => roundDossier(n)), mixed, 2);
    expect(mixedPlan.collegeShortfalls).toEqual([]);
    for (const n of [1, 2, 3, 4]) expect(mixedPlan.assignments.filter((a) => a.dossierNumber === n).map((a) => a.reviewerId)).toContain(idOf('zoe'));
    // K = 3 there: a college repeats, null stands for the reviewer without one.
    expect(assignReviewers([roundDossier(1)], mixed, 3).collegeShortfalls).toEqual([{ dossierNumber: 1, colleges: ['administration', 'administration', null] }]);
  });

  it('is deterministic whatever the order, and a re-run with earlier assignments completes them with the same colleges', () => {
    const dossiers = Array.from({ length: 9 }, (_, i) => roundDossier(i + 1));
    const first = assignReviewers(dossiers, jury, 3);
    expect(assignReviewers([...dossiers].reverse(), [...jury].reverse(), 3)).toEqual(first);
    const half = first.assignments.slice(0, 10);
    const rest = assignReviewers(dossiers, jury, 3, half);
    expect([...half, ...rest.assignments].sort((x, y) => x.dossierNumber - y.dossierNumber || (x.reviewerId < y.reviewerId ? -1 : 1))).toEqual(first.assignments);
    expect(rest.collegeShortfalls).toEqual([]);
  });

  it('never assigns on a SIREN or an email-domain conflict; domain conflicts follow the configuration', () => {
    const pool = [
      member('adele', 'administration', { conflicts: ['13002526500021'] }), member('alain', 'administration'),
      { ...member('nadia', 'numerique'), email: 'nadia@culture.gouv.fr' }, member('noe', 'numerique'),
    ];
    const target = withContacts(roundDossier(1, { siret: '13002526500013' }), ['contact@culture.gouv.fr']);
    const plan = assignReviewers([target], pool, 2);
    expect(plan.assignments.map((a) => a.reviewerId).sort()).toEqual([idOf('alain'), idOf('noe')].sort());
    const off = assignReviewers([target], pool, 4, [], { ...DEFAULT_JURY_CONFIG, emailDomainConflicts: false });
    expect(off.assignments.map((a) => a.reviewerId)).toContain(pool[2]!.id);
    expect(off.assignments.map((a) => a.reviewerId)).not.toContain(idOf('adele'));
    expect(off.shortfalls).toEqual([{ dossierNumber: 1, assigned: 3, wanted: 4 }]);
  });
});

describe('close-submissions: exclusions and colleges', () => {
  let rounds: MemoryRoundRepository;
  let dossiers: MemoryRoundDossiers;
  let now: Date;
  const deps = (extra: object = {}) => ({
    rounds, dossiers, mailer: new RecordingMailer(), reports: new MemoryReportStore(), config: TEST_CONFIG, clock: { now: () => now },
    reviewLinks: { baseUrl: 'https://selection.example.gouv.fr', secret: 'secret' }, ...extra,
  });
  const run = (options: Partial<RoundStepRequest> = {}, extra: object = {}) =>
    runRoundStep({ step: 'close-submissions', actor: 'staff:marie', ...options }, deps(extra));

  beforeEach(async () => {
    rounds = new MemoryRoundRepository();
    dossiers = new MemoryRoundDossiers();
    now = new Date('2026-03-01T08:00:00.000Z');
    await runRoundStep({ step: 'open', actor: 'schedule' }, deps());
    now = new Date('2026-04-30T18:00:00.000Z');
    await rounds.putReviewers([
      member('adele', 'administration'), member('alain', 'administration'), member('nadia', 'numerique'),
      { ...member('remi', 'recherche'), email: 'remi@labo.fr' },
    ]);
    dossiers.dossiers = [101, 102, 103, 104].map((n) => roundDossier(n));
    dossiers.dossiers[1] = withContacts(dossiers.dossiers[1]!, ['porteuse@labo.fr']);
    const exclusion = { roundId: '2026-03', reason: 'doublon', actor: 'staff:marie', at: '2026-04-20T10:00:00.000Z' };
    // 103 excluded; 104 excluded then put back (the latest word is what counts).
    await rounds.putExclusion({ ...exclusion, dossierNumber: 103, excluded: true });
    await rounds.putExclusion({ ...exclusion, dossierNumber: 104, excluded: true });
    await rounds.putExclusion({ ...exclusion, dossierNumber: 104, excluded: false, at: '2026-04-21T10:00:00.000Z' });
  });

  it('dry run: leaves excluded dossiers out (the latest word per dossier), counts them, plans college shortfalls; writes nothing', async () => {
    rounds.calls = [];
    const result = await run({ dryRun: true });
    expect(result.summary).toMatchObject({ dossiers: 4, excludedDossiers: 1, reviewableDossiers: 3, shortfalls: 0, collegeShortfalls: 0 });
    const plan = result.plan as CloseSubmissionsPlan;
    expect(Object.values(plan.assignments!).flat().sort()).toEqual([101, 101, 102, 102, 104, 104]);
    // K = 2 and remi (the only researcher) may not take 102: administration + numerique is still two colleges.
    expect(plan.collegeShortfalls).toEqual([]);
    expect(rounds.writeCount).toBe(0);
  });

  it('writes no assignment for an excluded dossier, and the audit holds counts only', async () => {
    rounds.rounds.set('2026-03', { ...rounds.rounds.get('2026-03')!, reviewersPerDossier: 4 });
    const result = await run();
    expect(result).toMatchObject({ changed: true, status: 'reviewing' });
    expect(new Set(rounds.assignmentPairs('2026-03').map(([n]) => n))).toEqual(new Set([101, 102, 104]));
    // K = 4 over 3 colleges: every dossier repeats one; 102 also lacks its researcher (a shortfall of reviewers).
    expect(result.summary).toMatchObject({ excludedDossiers: 1, reviewableDossiers: 3, shortfalls: 1, collegeShortfalls: 3 });
    const audit = rounds.audit.at(-1)!;
    expect(audit.summary).toEqual(result.summary);
    expect(Object.values(audit.summary).every((value) => typeof value !== 'object' || value === null)).toBe(true);
    expect(JSON.stringify(rounds.audit)).not.toMatch(/@|labo|administration|numerique/);
  });

  it('takes the jury rules from the dependencies when given', async () => {
    rounds.rounds.set('2026-03', { ...rounds.rounds.get('2026-03')!, reviewersPerDossier: 4 });
    const withDomains = await run({ dryRun: true });
    expect((withDomains.plan as CloseSubmissionsPlan).assignments![idOf('remi')]).toEqual([101, 104]);
    const without = await run({ dryRun: true }, { jury: { ...DEFAULT_JURY_CONFIG, emailDomainConflicts: false } });
    expect((without.plan as CloseSubmissionsPlan).assignments![idOf('remi')]).toEqual([101, 102, 104]);
    expect(without.summary).toMatchObject({ shortfalls: 0 });
  });
});
