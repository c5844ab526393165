import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '#core/errors';
import { capacityUse, ceilingPeriodOf } from '#core/rounds/capacity';
import { decideDossier } from '#core/rounds/decide-dossier';
import { DossierNotInRoundError, RoundStepRefusedError } from '#core/rounds/errors';
import { setDossierExclusion } from '#core/rounds/exclude-dossier';
import type { AssignmentRecord, CapacityUse, CommitteeDecisionRecord, DecisionRecord, ExclusionRecord, ReviewRecord, RoundRecord } from '#core/rounds/model';
import { rankDossiers } from '#core/rounds/rank-dossiers';
import { runRoundStep } from '#core/rounds/run-round-step';
import { postsByProfile, reportLines, selectionReport } from '#core/rounds/selection-report';
import { parseRoundsConfig, roundsConfigName, roundsConfigNamed, ROUNDS_CONFIG, ROUNDS_CONFIG_NAME } from '#shared/rounds-config';
import {
  MemoryReportStore, MemoryRoundDossiers, MemoryRoundRepository, RecordingMailer, roundDossier, TEST_CONFIG,
} from '../helpers/memory-round-ports.ts';

/** Issue #11: the programme's criteria as configuration, the yearly ceiling, exclusions, withdrawals and the committee's word. */

const ROUND: RoundRecord = {
  id: '2026-03', status: 'reviewing', openedAt: '2026-03-01T08:00:00.000Z', submissionsClosedAt: '2026-04-30T08:00:00.000Z',
  reviewDeadline: '2026-05-21T08:00:00.000Z', selectionClosedAt: null, capacityPosts: 5, reviewersPerDossier: 2,
  criteria: TEST_CONFIG.criteria, version: 2,
};
const RULES = { minimumScore: 3, waitlistSize: 2 };
const review = (dossierNumber: number, score: number, reviewerId = 'r1'): ReviewRecord => ({
  roundId: '2026-03', dossierNumber, reviewerId, scores: { impact: score, faisabilite: score }, comment: '', conflictOfInterest: false, submittedAt: '2026-05-10T10:00:00.000Z',
});
const capacity = (roundCapacityPosts: number, ceilingLeft: number): CapacityUse => ({
  roundCapacityPosts, ceilingPosts: 30, period: '2026', usedBefore: 30 - ceilingLeft, earlierRounds: [], ceilingLeft, availablePosts: Math.min(roundCapacityPosts, ceilingLeft),
});
const byNumber = (decisions: readonly DecisionRecord[]) => new Map(decisions.map((d) => [d.dossierNumber, d]));

describe('rounds configuration', () => {
  const raw = JSON.parse(readFileSync(new URL('../../schemas/rounds-config.json', import.meta.url), 'utf8')) as Record<string, unknown> & { criteria: Record<string, unknown>[] };
  const message = (mutate: (config: typeof raw) => void) => {
    const config = structuredClone(raw);
    mutate(config);
    try {
      parseRoundsConfig(config, 'test.json');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as Error).message;
    }
    throw new Error('the configuration was accepted');
  };

  it('both bundled files validate: the 2024 call (default) and the 2022 call', () => {
    const c2024 = roundsConfigNamed('eig-2024');
    const c2022 = roundsConfigNamed('eig-2022');
    expect(c2024.criteria.map((c) => c.label)).toEqual([
      'Contribution aux politiques publiques prioritaires', 'Soutien à haut niveau de décision', 'Ambition entrepreneuriale',
      'Résultats mesurables et significatifs', 'Conditions favorables à une dynamique entrepreneuriale',
    ]);
    expect(c2022.criteria.map((c) => c.id)).toEqual(['impact_usagers', 'caractere_entrepreneurial', 'portage_hierarchique', 'transformation_numerique', 'ouverture']);
    for (const config of [c2024, c2022]) {
      expect(config).toMatchObject({ capacityPosts: 5, yearlyCeilingPosts: 30, ceilingPeriodStartMonth: 1 });
      expect(config.criteria.every((c) => c.description && c.description.length > 10 && c.weight > 0)).toBe(true);
    }
    expect(ROUNDS_CONFIG_NAME).toBe('eig-2024');
    expect(ROUNDS_CONFIG).toEqual(c2024);
  });

  it('ROUNDS_CONFIG picks a file by name; a wrong name names the variable and the choices', () => {
    expect(roundsConfigName(undefined)).toBe('eig-2024');
    expect(roundsConfigName('')).toBe('eig-2024');
    expect(roundsConfigName('eig-2022')).toBe('eig-2022');
    expect(() => roundsConfigName('eig-2019')).toThrow('ROUNDS_CONFIG: "eig-2019" is not a rounds configuration: use one of eig-2024, eig-2022');
  });

  it('says clearly what is wrong: a weight of 0, duplicate ids, an empty label', () => {
    expect(message((c) => { c.criteria[1]!.weight = 0; })).toMatch(/a criterion weight must be above 0[^\n]*\n\s+→ at criteria\[1\]\.weight/);
    expect(message((c) => { c.criteria[2]!.id = c.criteria[0]!.id; }))
      .toMatch(/criterion ids must be unique: "politiques_prioritaires" appears more than once\n\s+→ at criteria/);
    expect(message((c) => { c.criteria[0]!.label = '   '; })).toMatch(/a criterion needs a label: it is empty\n\s+→ at criteria\[0\]\.label/);
    expect(message((c) => { delete c.criteria[0]!.label; })).toContain('a criterion needs a label');
    expect(message((c) => { c.ceilingPeriodStartMonth = 2; })).toContain('ceilingPeriodStartMonth must be a round opening month');
    expect(message((c) => { c.capacityPost = 5; })).toMatch(/Unrecognized key: "capacityPost"/);
  });
});

describe('yearly ceiling', () => {
  it('a period is the calendar year of the round id by default, or a year from a start month', () => {
    expect(ceilingPeriodOf('2026-11')).toEqual({ key: '2026', label: '2026' });
    expect(ceilingPeriodOf('2027-01', 9)).toEqual({ key: '2026-09', label: '2026-09/2027-07' });
    expect(ceilingPeriodOf('2026-09', 9).key).toBe('2026-09');
    expect(ceilingPeriodOf('2026-07', 9).key).toBe('2025-09');
  });

  it('counts the posts selected in earlier CLOSED rounds of the same period only', () => {
    const decision = (roundId: string, posts: number, outcome: DecisionRecord['outcome'] = 'selected'): DecisionRecord => ({
      roundId, dossierNumber: posts, outcome, rank: 1, score: 4, reviewCount: 1, eigPostsRequested: posts, reasonCode: 'selected_within_capacity', reason: '',
    });
    const use = capacityUse({ id: '2026-09', capacityPosts: 5 }, [
      { round: { id: '2025-11', status: 'closed' }, decisions: [decision('2025-11', 5)] }, // last year
      { round: { id: '2026-01', status: 'closed' }, decisions: [decision('2026-01', 3), decision('2026-01', 2), decision('2026-01', 2, 'waitlisted')] },
      { round: { id: '2026-03', status: 'closed' }, decisions: [decision('2026-03', 12), decision('2026-03', 10)] },
      { round: { id: '2026-07', status: 'reviewing' }, decisions: [decision('2026-07', 3)] }, // not closed
      { round: { id: '2026-11', status: 'closed' }, decisions: [decision('2026-11', 3)] }, // later
    ], { yearlyCeilingPosts: 30, ceilingPeriodStartMonth: 1 });
    expect(use).toEqual({
      roundCapacityPosts: 5, ceilingPosts: 30, period: '2026', usedBefore: 27, earlierRounds: ['2026-01', '2026-03'], ceilingLeft: 3, availablePosts: 3,
    });
  });

  it('the ranking fills the lower of the round capacity and what is left of the ceiling, and says which limit skipped a dossier', () => {
    const dossiers = [roundDossier(1, { posts: 2 }), roundDossier(2, { posts: 2 }), roundDossier(3, { posts: 1 }), roundDossier(4, { posts: 3 })];
    const reviews = [review(1, 5), review(2, 4.5), review(3, 4), review(4, 3.5)];
    const { decisions, totals } = rankDossiers(dossiers, reviews, ROUND, RULES, { capacity: capacity(5, 3) });
    const d = byNumber(decisions);
    expect(d.get(1)).toMatchObject({ outcome: 'selected', reasonCode: 'selected_within_capacity', rank: 1 });
    expect(d.get(1)!.reason).toBe('Rang 1, score 5 : 2 postes demandés, dans la capacité (il reste 1 poste sur 3 à pourvoir, plafond 2026 atteint au-delà).');
    // 2 posts fit the round (3 left of 5) but not the ceiling (1 left): the ceiling is named.
    expect(d.get(2)).toMatchObject({ outcome: 'waitlisted', reasonCode: 'waitlisted_over_ceiling' });
    expect(d.get(2)!.reason).toContain("plus que ce qu'il reste du plafond 2026 (1 poste sur 30)");
    expect(d.get(3)).toMatchObject({ outcome: 'selected', reasonCode: 'selected_within_capacity' });
    expect(d.get(4)).toMatchObject({ outcome: 'waitlisted', reasonCode: 'waitlisted_over_capacity' });
    expect(totals).toMatchObject({ postsSelected: 3, selected: 2, waitlisted: 2 });
    expect(decisions.every((x) => x.proposedOutcome === x.outcome && x.committeeReason === undefined)).toBe(true);
  });

  it('a ceiling used up fills nothing', () => {
    const { decisions } = rankDossiers([roundDossier(1)], [review(1, 5)], ROUND, RULES, { capacity: capacity(5, 0) });
    expect(decisions[0]).toMatchObject({ outcome: 'waitlisted', reasonCode: 'waitlisted_over_ceiling' });
  });
});

describe('exclusions and withdrawals leave the ranking with a reason', () => {
  const exclusion = (dossierNumber: number, excluded = true): ExclusionRecord => ({
    roundId: '2026-03', dossierNumber, excluded, reason: 'Association : non éligible', actor: 'staff:marie', at: '2026-05-01T10:00:00.000Z',
  });

  it('an excluded dossier gets no rank, not_selected, `excluded` and staff reason; re-included it is ranked', () => {
    const dossiers = [roundDossier(1), roundDossier(2), roundDossier(3)];
    const reviews = [review(1, 5), review(2, 4), review(3, 3)];
    const { decisions, totals } = rankDossiers(dossiers, reviews, ROUND, RULES, { exclusions: [exclusion(1), exclusion(3, false)] });
    expect(byNumber(decisions).get(1)).toMatchObject({
      outcome: 'not_selected', rank: null, score: null, reviewCount: 0, reasonCode: 'excluded', reason: "Exclu de la session par l'équipe : Association : non éligible",
    });
    expect(byNumber(decisions).get(2)).toMatchObject({ rank: 1, outcome: 'selected' });
    expect(byNumber(decisions).get(3)).toMatchObject({ rank: 2, outcome: 'selected' });
    expect(totals).toMatchObject({ excluded: 1, ranked: 2, dossiers: 3 });
  });

  it('a dossier withdrawn after assignment leaves with `withdrawn` and the reason; one never assigned gets no decision', () => {
    const dossiers = [
      roundDossier(1), { ...roundDossier(2), state: 'sans_suite' }, roundDossier(3, { status: 'deleted' }), roundDossier(4, { status: 'invalid' }),
      roundDossier(5, { status: 'invalid' }),
    ];
    const withdrawalOf = (d: { status: string; state: string | null }) => (d.state === 'sans_suite'
      ? { reasonCode: 'classe_sans_suite', reason: 'Classé sans suite sur Démarches Simplifiées' }
      : d.status === 'deleted' ? { reasonCode: 'deleted_on_ds', reason: 'Supprimé sur Démarches Simplifiées' } : undefined);
    const { decisions, totals } = rankDossiers(dossiers, [review(1, 4), review(2, 5)], ROUND, RULES, { assigned: new Set([1, 2, 3, 4]), withdrawalOf });
    const d = byNumber(decisions);
    expect(d.get(1)).toMatchObject({ rank: 1, outcome: 'selected' });
    expect(d.get(2)).toMatchObject({
      rank: null, outcome: 'not_selected', reasonCode: 'withdrawn', reason: "Retiré après l'affectation des évaluateurs (Classé sans suite sur Démarches Simplifiées) : dossier non classé.",
    });
    expect(d.get(3)).toMatchObject({ rank: null, reasonCode: 'withdrawn' });
    expect(d.get(4)).toMatchObject({ rank: null, reasonCode: 'not_reviewable' });
    expect(d.has(5)).toBe(false);
    expect(totals).toMatchObject({ withdrawn: 3, dossiers: 4 });
  });
});

describe('the committee decides, the ranking proposes', () => {
  const word = (dossierNumber: number, outcome: CommitteeDecisionRecord['outcome']): CommitteeDecisionRecord => ({
    roundId: '2026-03', dossierNumber, outcome, reason: `Comité du 20 mai (${dossierNumber})`, actor: 'staff:marie', at: '2026-05-20T10:00:00.000Z',
  });
  const dossiers = [roundDossier(1, { posts: 3 }), roundDossier(2, { posts: 2 }), roundDossier(3, { posts: 2 }), roundDossier(4, { posts: 1 })];
  const reviews = [review(1, 5), review(2, 4.5), review(3, 4), review(4, 3.5)];

  it('its selected take their posts first and the rest is decided again in rank order with what is left', () => {
    const { decisions, totals } = rankDossiers(dossiers, reviews, ROUND, RULES, { committee: [word(3, 'selected'), word(1, 'waitlisted')] });
    const d = byNumber(decisions);
    expect(d.get(1)).toMatchObject({ proposedOutcome: 'selected', outcome: 'waitlisted', reasonCode: 'committee_decision', committeeActor: 'staff:marie' });
    expect(d.get(1)!.reason).toBe("Rang 1, score 5 : décision du comité : Comité du 20 mai (1) : liste d'attente, position 1. Le classement proposait : sélectionné.");
    expect(d.get(2)).toMatchObject({ proposedOutcome: 'selected', outcome: 'selected', reasonCode: 'selected_within_capacity' });
    expect(d.get(3)).toMatchObject({ proposedOutcome: 'waitlisted', outcome: 'selected', reasonCode: 'committee_decision', committeeReason: 'Comité du 20 mai (3)' });
    expect(d.get(4)).toMatchObject({ proposedOutcome: 'waitlisted', outcome: 'selected' });
    expect(totals).toMatchObject({ postsSelected: 5, selected: 3, waitlisted: 1, committeeDecisions: 2 });
  });

  it('a committee selection that no longer fits at closing is waitlisted, with a code that says so', () => {
    const { decisions } = rankDossiers(dossiers, reviews, ROUND, RULES, { capacity: capacity(5, 2), committee: [word(1, 'selected')] });
    expect(byNumber(decisions).get(1)).toMatchObject({ outcome: 'waitlisted', reasonCode: 'committee_selection_over_capacity' });
    expect(byNumber(decisions).get(2)).toMatchObject({ outcome: 'selected' });
  });

  it('the report shows proposed and final side by side, profiles (sum of selected posts per profile) and eligibility', () => {
    const withProfiles = dossiers.map((d, i) => ({ ...d, project: { ...d.project, profiles: i === 0 ? ['Directeur·rice de produit', 'Directeur·rice technique'] : i === 3 ? [] : ['Directeur·rice technique'] } }));
    const { decisions } = rankDossiers(withProfiles, reviews, ROUND, RULES, { committee: [word(3, 'selected'), word(1, 'waitlisted')] });
    const eligibility = (d: { number: number }) => (d.number === 2
      ? { flag: 'to_check' as const, reasonCode: 'legal_form_to_check', reason: 'Catégorie juridique à vérifier.' }
      : { flag: 'eligible' as const, reasonCode: 'legal_form_eligible', reason: 'Éligible.' });
    const report = selectionReport({ ...ROUND, selectionClosedAt: '2026-05-22T08:00:00.000Z', capacityUse: capacity(5, 30) }, decisions, withProfiles, eligibility);
    const json = JSON.parse(report.json);
    expect(json.capacity).toMatchObject({ roundCapacityPosts: 5, ceilingPosts: 30, availablePosts: 5 });
    expect(json.decisions[0]).toMatchObject({
      dossierNumber: 1, proposedOutcome: 'selected', outcome: 'waitlisted', committeeReason: 'Comité du 20 mai (1)',
      profiles: ['Directeur·rice de produit', 'Directeur·rice technique'], eligibility: { flag: 'eligible' },
    });
    // Selected: 2 (2 posts, technique), 3 (2 posts, technique), 4 (1 post, no profile).
    expect(json.profiles.selected).toEqual([{ profile: 'Directeur·rice technique', posts: 4, dossiers: 2 }]);
    expect(json.profiles.note).toContain('compte dans chacun');
    const csv = report.csv.split('\r\n');
    expect(csv[1]).toMatch(/^1,1,Projet 1,Administration 1,3,Directeur·rice de produit ; Directeur·rice technique,éligible,Éligible\.,5,1,sélectionné,liste d'attente,/);
    expect(csv[2]).toContain(',à vérifier,Catégorie juridique à vérifier.,');
    expect(report.json).not.toContain('staff:marie');
  });

  it('profiles are read defensively (older dossiers have none), and a dossier asking two counts in both', () => {
    const lines = reportLines(
      [{ roundId: '2026-03', dossierNumber: 1, outcome: 'selected', rank: 1, score: 4, reviewCount: 1, eigPostsRequested: 2, reasonCode: 'selected_within_capacity', reason: '' }],
      [{ ...roundDossier(1), project: { ...roundDossier(1).project, profiles: ['A', 'B'] } }],
    );
    expect(postsByProfile(lines)).toEqual([{ profile: 'A', posts: 2, dossiers: 1 }, { profile: 'B', posts: 2, dossiers: 1 }]);
    expect(reportLines([{ ...lines[0]!, outcome: 'selected', proposedOutcome: undefined } as unknown as DecisionRecord], [{ ...roundDossier(1), project: null }])[0])
      .toMatchObject({ profiles: [], eligibility: null, proposedOutcome: 'selected' });
  });
});

describe('staff use cases: exclude / include, decide', () => {
  let rounds: MemoryRoundRepository;
  let dossiers: MemoryRoundDossiers;
  const clock = { now: () => new Date('2026-05-10T10:00:00.000Z') };
  const deps = () => ({ rounds, dossiers, clock, config: TEST_CONFIG });
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RoundStepRefusedError);
    return error as RoundStepRefusedError;
  };

  beforeEach(async () => {
    rounds = new MemoryRoundRepository();
    dossiers = new MemoryRoundDossiers();
    dossiers.dossiers = [roundDossier(1, { posts: 3 }), roundDossier(2, { posts: 2 }), roundDossier(3, { posts: 1 }), roundDossier(4, { status: 'deleted' })];
    await rounds.createRound({ ...ROUND });
  });

  it('exclude, then include: reversible, audited without the reason, a dry run writes nothing', async () => {
    const request = { roundId: '2026-03', dossierNumber: 2, excluded: true, reason: '  Doublon du dossier 1  ', actor: 'staff:marie' };
    const writes = rounds.writeCount;
    const dry = await setDossierExclusion({ ...request, dryRun: true }, deps());
    expect(dry).toMatchObject({ changed: true, dryRun: true, record: { reason: 'Doublon du dossier 1' } });
    expect(rounds.writeCount).toBe(writes);
    expect(await setDossierExclusion(request, deps())).toMatchObject({ changed: true, previous: null });
    expect(await setDossierExclusion(request, deps())).toMatchObject({ changed: false });
    expect((await rounds.listExclusions('2026-03'))).toMatchObject([{ dossierNumber: 2, excluded: true, reason: 'Doublon du dossier 1', actor: 'staff:marie' }]);
    const back = await setDossierExclusion({ ...request, excluded: false, reason: 'Pas un doublon' }, deps());
    expect(back).toMatchObject({ changed: true, previous: { excluded: true } });
    expect((await rounds.listExclusions('2026-03'))[0]).toMatchObject({ excluded: false, reason: 'Pas un doublon' });
    expect(rounds.audit.map((a) => [a.step, a.summary])).toEqual([
      ['exclude-dossier', { dossierNumber: 2, excluded: true, changed: true, phase: 'reviewing' }],
      ['exclude-dossier', { dossierNumber: 2, excluded: true, changed: false, phase: 'reviewing' }],
      ['include-dossier', { dossierNumber: 2, excluded: false, changed: true, phase: 'reviewing' }],
    ]);
    expect(JSON.stringify(rounds.audit)).not.toContain('doublon');
  });

  it('exclude is refused on a closed round, and names a dossier not in the round', async () => {
    await expect(setDossierExclusion({ roundId: '2026-03', dossierNumber: 99, excluded: true, reason: 'x', actor: 'staff:m' }, deps()))
      .rejects.toBeInstanceOf(DossierNotInRoundError);
    await expect(setDossierExclusion({ roundId: '2026-03', dossierNumber: 1, excluded: true, reason: ' ', actor: 'staff:m' }, deps())).rejects.toThrow('a reason is required');
    rounds.rounds.set('2026-03', { ...ROUND, status: 'closed' });
    expect((await refusal(setDossierExclusion({ roundId: '2026-03', dossierNumber: 1, excluded: true, reason: 'x', actor: 'staff:m' }, deps()))).reason).toBe('round_closed');
  });

  it('decide: a selected that fits is recorded and audited; one over the round capacity is refused with the numbers', async () => {
    const result = await decideDossier({ roundId: '2026-03', dossierNumber: 1, outcome: 'selected', reason: 'Priorité', actor: 'staff:marie' }, deps());
    expect(result).toMatchObject({ committeePosts: 3, capacity: { roundCapacityPosts: 5, ceilingLeft: 30 } });
    expect(rounds.audit.at(-1)).toMatchObject({ step: 'decide', actor: 'staff:marie', summary: { dossierNumber: 1, outcome: 'selected', previousOutcome: null, committeePosts: 3 } });
    await decideDossier({ roundId: '2026-03', dossierNumber: 2, outcome: 'selected', reason: 'Oui', actor: 'staff:marie' }, deps());
    const over = await refusal(decideDossier({ roundId: '2026-03', dossierNumber: 3, outcome: 'selected', reason: 'Aussi', actor: 'staff:marie' }, deps()));
    expect(over.reason).toBe('over_capacity');
    expect(over.message).toBe('dossier 3 asks for 1 post and the committee has selected 5 in round 2026-03 already: 6 would exceed the round capacity of 5 posts');
    // Not selected always fits; changing dossier 2's word frees its posts.
    await decideDossier({ roundId: '2026-03', dossierNumber: 2, outcome: 'not_selected', reason: 'Finalement non', actor: 'staff:marie' }, deps());
    await expect(decideDossier({ roundId: '2026-03', dossierNumber: 3, outcome: 'selected', reason: 'Aussi', actor: 'staff:marie' }, deps())).resolves.toMatchObject({ committeePosts: 4 });
  });

  it('decide: over the yearly ceiling is refused and says so, with what earlier closed rounds used', async () => {
    await rounds.createRound({ ...ROUND, id: '2026-01', status: 'closed' });
    await rounds.putDecisions([{ roundId: '2026-01', dossierNumber: 9, outcome: 'selected', rank: 1, score: 4, reviewCount: 2, eigPostsRequested: 28, reasonCode: 'selected_within_capacity', reason: '' }]);
    const over = await refusal(decideDossier({ roundId: '2026-03', dossierNumber: 1, outcome: 'selected', reason: 'Priorité', actor: 'staff:m' }, deps()));
    expect(over.reason).toBe('over_ceiling');
    expect(over.message).toBe('dossier 1 asks for 3 posts and the committee has selected 0 in round 2026-03 already: 3 would exceed the yearly ceiling: '
      + '30 posts for 2026, 28 selected in earlier closed rounds (2026-01), 2 left');
    await expect(decideDossier({ roundId: '2026-03', dossierNumber: 2, outcome: 'selected', reason: 'ok', actor: 'staff:m' }, deps())).resolves.toBeDefined();
  });

  it('decide is refused on an open or closed round, on an excluded or withdrawn dossier; a dry run writes nothing', async () => {
    await decideDossier({ roundId: '2026-03', dossierNumber: 1, outcome: 'waitlisted', reason: 'x', actor: 'staff:m', dryRun: true }, deps());
    expect(rounds.writeCount).toBe(1); // the createRound of beforeEach
    expect((await refusal(decideDossier({ roundId: '2026-03', dossierNumber: 4, outcome: 'selected', reason: 'x', actor: 'staff:m' }, deps()))).reason).toBe('dossier_not_reviewable');
    await setDossierExclusion({ roundId: '2026-03', dossierNumber: 2, excluded: true, reason: 'x', actor: 'staff:m' }, deps());
    expect((await refusal(decideDossier({ roundId: '2026-03', dossierNumber: 2, outcome: 'selected', reason: 'x', actor: 'staff:m' }, deps()))).reason).toBe('dossier_excluded');
    rounds.rounds.set('2026-03', { ...ROUND, status: 'open' });
    expect((await refusal(decideDossier({ roundId: '2026-03', dossierNumber: 1, outcome: 'selected', reason: 'x', actor: 'staff:m' }, deps()))).reason).toBe('round_not_reviewing');
    rounds.rounds.set('2026-03', { ...ROUND, status: 'closed' });
    expect((await refusal(decideDossier({ roundId: '2026-03', dossierNumber: 1, outcome: 'selected', reason: 'x', actor: 'staff:m' }, deps()))).reason).toBe('round_closed');
  });

  it('close-selection applies exclusions, withdrawals, the committee and the ceiling, and stores what it could fill', async () => {
    await rounds.createRound({ ...ROUND, id: '2026-01', status: 'closed' });
    await rounds.putDecisions([{ roundId: '2026-01', dossierNumber: 9, outcome: 'selected', rank: 1, score: 4, reviewCount: 2, eigPostsRequested: 26, reasonCode: 'selected_within_capacity', reason: '' }]);
    const assignments: AssignmentRecord[] = [1, 2, 3, 4].map((n) => ({ roundId: '2026-03', dossierNumber: n, reviewerId: 'r1', assignedAt: '2026-04-30T08:00:00.000Z' }));
    await rounds.putAssignments(assignments);
    for (const n of [1, 2, 3]) await rounds.putReview(review(n, 5 - n));
    await decideDossier({ roundId: '2026-03', dossierNumber: 3, outcome: 'selected', reason: 'Priorité du comité', actor: 'staff:marie' }, deps());
    await setDossierExclusion({ roundId: '2026-03', dossierNumber: 2, excluded: true, reason: 'Non éligible', actor: 'staff:marie' }, deps());
    const reports = new MemoryReportStore();
    const result = await runRoundStep({ step: 'close-selection', roundId: '2026-03', actor: 'staff:marie', force: true }, {
      rounds, dossiers, mailer: new RecordingMailer(), reports, config: TEST_CONFIG, clock: { now: () => new Date('2026-06-01T08:00:00.000Z') },
      reviewLinks: { baseUrl: 'https://x', secret: 's' },
    });
    expect(result.summary).toMatchObject({ ceilingPosts: 30, postsUsedBefore: 26, ceilingLeft: 4, postsAvailable: 4, excluded: 1, withdrawn: 1, committeeDecisions: 1 });
    const d = byNumber(await rounds.listDecisions('2026-03'));
    // Score 2, below the minimum: the ranking proposed not_selected, the committee selected it.
    expect(d.get(3)).toMatchObject({ outcome: 'selected', proposedOutcome: 'not_selected', reasonCode: 'committee_decision', committeeActor: 'staff:marie' });
    // 1 asks 3 posts; the committee took 1 of the 4 left: 3 fit.
    expect(d.get(1)).toMatchObject({ outcome: 'selected', rank: 1 });
    expect(d.get(2)).toMatchObject({ reasonCode: 'excluded', rank: null });
    expect(d.get(4)).toMatchObject({ reasonCode: 'withdrawn', rank: null });
    expect((await rounds.getRound('2026-03'))!.capacityUse).toEqual({
      roundCapacityPosts: 5, ceilingPosts: 30, period: '2026', usedBefore: 26, earlierRounds: ['2026-01'], ceilingLeft: 4, availablePosts: 4,
    });
    expect(JSON.parse(reports.reports.get('2026-03')!.json).capacity).toMatchObject({ usedBefore: 26, availablePosts: 4 });
  });
});
