import { describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { assignReviewers, conflictOf, type AssignmentPlan, type ConflictKind } from '#core/rounds/assign-reviewers';
import type { ReviewerRecord } from '#core/rounds/model';
import { DEFAULT_JURY_CONFIG } from '#schemas/jury';
import { COLLEGES, type College } from '#schemas/rounds';
import { reviewerRecord, roundDossier } from '../helpers/memory-round-ports.ts';
import { seededRandom } from '../../infra/local/ds-simulator.ts';

/*
 * The "Done when": 2,000 dossiers, 40 reviewers in 3 colleges, 3 (and 2) reviewers per
 * dossier, with every kind of conflict in the data. Checked against facts computed here, apart
 * from the assignment's own loop: conflicts with conflictOf pair by pair, the colleges each dossier
 * could have from its eligible reviewers.
 */

/** Seeded draws (mulberry32, the DS simulator's generator): the same data on every run. */
const random = seededRandom;

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const ORGANISATIONS = 120;
/** An organisation's SIREN (9 digits) and domain. */
const siren = (org: number) => String(130_000_000 + org * 7);
const domain = (org: number) => `org${org}.gouv.fr`;
const siret = (org: number, establishment: number) => `${siren(org)}${String(establishment).padStart(5, '0')}`;
/** The research organisation every researcher declares: its dossiers cannot get a researcher. */
const RESEARCH_ORG = 0;

const SIZES: Record<College, number> = { administration: 14, numerique: 13, recherche: 13 };

function committee(next: () => number): ReviewerRecord[] {
  const reviewers: ReviewerRecord[] = [];
  let k = 0;
  for (const college of COLLEGES) {
    for (let i = 0; i < SIZES[college]; i++, k++) {
      // Some work for an organisation that files dossiers (domain conflicts), some write from a webmail (ignored).
      const org = 1 + Math.floor(next() * ORGANISATIONS);
      const email = k % 5 === 4 ? `reviewer${k}@gmail.com` : `reviewer${k}@${domain(org)}`;
      const conflicts = new Set<string>();
      // Another establishment of the organisation than any dossier's: only the SIREN rule catches it.
      if (k % 3 === 0) conflicts.add(siret(1 + Math.floor(next() * ORGANISATIONS), 99_999));
      if (k % 4 === 0) conflicts.add(siret(1 + Math.floor(next() * ORGANISATIONS), 1 + Math.floor(next() * 3)));
      if (college === 'recherche') conflicts.add(siret(RESEARCH_ORG, 10));
      reviewers.push(reviewerRecord(email, { college, conflicts: [...conflicts].sort() }));
    }
  }
  // One inactive and one suppressed reviewer: never assigned, not counted in the loads.
  reviewers.push(reviewerRecord('gone@org1.gouv.fr', { college: 'recherche', active: false }));
  reviewers.push(reviewerRecord('bounced@org2.gouv.fr', { college: 'administration', suppressed: true }));
  return reviewers;
}

function dossiers(next: () => number): DossierRecord[] {
  return Array.from({ length: 2000 }, (_, index) => {
    const number = 10_000 + index;
    // Every 250th dossier comes from the research organisation: no researcher may review it.
    const org = index % 250 === 7 ? RESEARCH_ORG : 1 + Math.floor(next() * ORGANISATIONS);
    const dossier = roundDossier(number, { siret: siret(org, 1 + Math.floor(next() * 3)) });
    const teamOrg = next() < 0.3 ? 1 + Math.floor(next() * ORGANISATIONS) : org;
    dossier.project = {
      ...dossier.project,
      contactEmails: [`contact${index}@${next() < 0.8 ? domain(org) : 'orange.fr'}`],
      team: [{ name: 'Membre', role: 'mentor', email: `membre${index}@${domain(teamOrg)}` }],
    };
    return dossier;
  });
}

const next = random(20_260_301);
const REVIEWERS = committee(next);
const DOSSIERS = dossiers(next);
const POOL = REVIEWERS.filter((r) => r.active && !r.suppressed);

/** Pair by pair, with the one conflict rule: the eligible reviewers of each dossier and the kinds met. */
const ELIGIBLE = new Map<number, ReviewerRecord[]>();
const KINDS = new Map<ConflictKind, number>();
for (const dossier of DOSSIERS) {
  ELIGIBLE.set(dossier.number, POOL.filter((reviewer) => {
    const kind = conflictOf(reviewer, dossier, DEFAULT_JURY_CONFIG);
    if (kind) KINDS.set(kind, (KINDS.get(kind) ?? 0) + 1);
    return kind === undefined;
  }));
}

function loads(plan: AssignmentPlan): Map<string, number> {
  const out = new Map(POOL.map((r) => [r.id, 0]));
  for (const pair of plan.assignments) out.set(pair.reviewerId, out.get(pair.reviewerId)! + 1);
  return out;
}

const spread = (values: number[]) => Math.max(...values) - Math.min(...values);


describe('assignReviewers at scale: 2,000 dossiers, 40 reviewers in 3 colleges', () => {
  it('the data has every kind of conflict, webmail addresses and dossiers no researcher may review', () => {
    expect(KINDS.get('siret')).toBeGreaterThan(0);
    expect(KINDS.get('siren')).toBeGreaterThan(0);
    expect(KINDS.get('email_domain')).toBeGreaterThan(0);
    expect(POOL.filter((r) => r.email.endsWith('@gmail.com')).length).toBeGreaterThan(0);
    expect(DOSSIERS.filter((d) => !ELIGIBLE.get(d.number)!.some((r) => r.college === 'recherche'))).toHaveLength(8);
    // Without the ignored domains, webmail would make conflicts: the list matters.
    const noIgnored = { ...DEFAULT_JURY_CONFIG, ignoredDomains: [] };
    const webmail = POOL.find((r) => r.email.endsWith('@gmail.com'))!;
    const orangeDossier = DOSSIERS.find((d) => d.project!.contactEmails![0]!.endsWith('@orange.fr'))!;
    expect(conflictOf({ ...webmail, email: 'someone@orange.fr' }, orangeDossier, DEFAULT_JURY_CONFIG)).toBeUndefined();
    expect(conflictOf({ ...webmail, email: 'someone@orange.fr', conflicts: [] }, orangeDossier, noIgnored)).toBe('email_domain');
  });

  for (const K of [3, 2]) {
    describe(`${K} reviewers per dossier`, () => {
      // Its speed is a benchmark's (bench/rounds-scale.ts, against a linear floor), not a timed test's.
      const plan = assignReviewers(DOSSIERS, REVIEWERS, K);
      const load = loads(plan);
      const team = new Map<number, ReviewerRecord[]>();
      const byId = new Map(REVIEWERS.map((r) => [r.id, r]));
      for (const pair of plan.assignments) team.set(pair.dossierNumber, [...(team.get(pair.dossierNumber) ?? []), byId.get(pair.reviewerId)!]);

      it('fills every place, never with a reviewer in conflict (SIRET, SIREN, email domain), an inactive or a suppressed one', () => {
        expect(plan.shortfalls).toEqual([]);
        expect(plan.assignments).toHaveLength(2000 * K);
        for (const dossier of DOSSIERS) {
          const reviewers = team.get(dossier.number)!;
          expect(new Set(reviewers.map((r) => r.id)).size).toBe(K);
          for (const reviewer of reviewers) {
            expect(reviewer.active && !reviewer.suppressed).toBe(true);
            expect(conflictOf(reviewer, dossier)).toBeUndefined();
          }
        }
      });

      it('takes distinct colleges whenever the eligible reviewers allow, and reports exactly the dossiers where they do not', () => {
        const impossible = DOSSIERS
          .filter((d) => new Set(ELIGIBLE.get(d.number)!.map((r) => r.college)).size < K)
          .map((d) => d.number);
        const repeated = DOSSIERS.filter((d) => new Set(team.get(d.number)!.map((r) => r.college)).size < K).map((d) => d.number);
        expect(repeated).toEqual(impossible);
        expect(plan.collegeShortfalls.map((s) => s.dossierNumber)).toEqual(impossible);
        // K = 3: the research organisation's dossiers (no researcher eligible); K = 2: none.
        expect(impossible).toHaveLength(K === 3 ? 8 : 0);
        for (const shortfall of plan.collegeShortfalls) {
          expect(shortfall.colleges).toEqual(team.get(shortfall.dossierNumber)!.map((r) => r.college).sort());
          expect(shortfall.colleges).not.toContain('recherche');
        }
      });

      it('balances loads: within one in each college; across colleges as far as the colleges allow', () => {
        for (const college of COLLEGES) {
          expect(spread(POOL.filter((r) => r.college === college).map((r) => load.get(r.id)!)), college).toBeLessThanOrEqual(1);
        }
        const all = [...load.values()];
        if (K === 2) {
          // Two places, three colleges: the least loaded are taken across colleges, within one overall.
          expect(spread(all)).toBeLessThanOrEqual(1);
        } else {
          // Three places, three colleges: each college fills one place per dossier it can, shared by
          // its members, so 14 administrations carry fewer dossiers each than 13 researchers. The
          // bound is the college rule's, not the algorithm's: a college's load is fixed by it.
          // The college totals are what the rule dictates: one place per dossier for each college
          // that has an eligible member; the 8 dossiers without researcher give their third place
          // to one of the two other colleges.
          const total = (college: College) => POOL.filter((r) => r.college === college).reduce((sum, r) => sum + load.get(r.id)!, 0);
          expect(total('recherche')).toBe(2000 - 8);
          expect(total('administration')).toBeGreaterThanOrEqual(2000);
          expect(total('numerique')).toBeGreaterThanOrEqual(2000);
          expect(total('administration') + total('numerique')).toBe(2 * 2000 + 8);
          // Hence the spread: 13 members share about 2,000 places (153 or 154 each), 14 share about
          // 2,000 too (142 to 144 each).
          expect(spread(all)).toBeLessThanOrEqual(Math.ceil(2008 / 13) - Math.floor(2000 / 14));
        }
      });

      it('is deterministic: shuffled dossiers, committee and contacts give the same assignment', () => {
        const shuffle = random(K);
        const reordered = shuffled(DOSSIERS, shuffle).map((d) => ({ ...d, project: { ...d.project, contactEmails: shuffled(d.project!.contactEmails!, shuffle) } }));
        const again = assignReviewers(reordered, shuffled(REVIEWERS, shuffle).map((r) => ({ ...r, conflicts: shuffled(r.conflicts, shuffle) })), K);
        expect(again).toEqual(plan);
      });
    });
  }
});
