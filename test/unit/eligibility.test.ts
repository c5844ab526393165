import { describe, expect, it } from 'vitest';
import { eligibilityOf } from '#core/eligibility';
import { mapEigProject } from '#core/eig-project';
import type { Project } from '#schemas/eig-form';
import { DsDossierSchema } from '#schemas/ds-dossier';
import { EligibilityRulesSchema } from '#schemas/eligibility';
import { ELIGIBILITY_RULES, parseEligibilityRules } from '#shared/eligibility-config';
import { ConfigurationError } from '#core/errors';
import { readJson, sampleDossier, sampleMapping } from '../helpers/samples.ts';

const project = (legalFormCode: string | undefined, extra: Partial<Project> = {}, administration: Partial<Project['administration']> = {}): Partial<Project> => ({
  title: 'Un projet',
  administration: {
    name: 'Une administration', siret: '13009999700012', demandeurType: 'PersonneMorale', ...(legalFormCode ? { legalFormCode } : {}), ...administration,
  },
  betaGouvCommitment: true,
  ...extra,
});
const flagOf = (p: Partial<Project> | null | undefined) => eligibilityOf(p, ELIGIBILITY_RULES);

describe('eligibilityOf (default rules: State administrations and national public establishments)', () => {
  it.each([
    ['7111'], ['7112'], ['7113'], ['7120'], ['7150'], ['7160'], ['7171'], ['7172'], ['7179'], ['7190'],
    ['7382'], ['7383'], ['7384'], ['7385'], ['7389'], ['4110'],
  ])('%s is eligible', (code) => {
    expect(flagOf(project(code))).toMatchObject({ flag: 'eligible', reasonCode: 'legal_form_eligible', reason: expect.stringContaining(`catégorie juridique ${code} (`) });
  });

  it.each([['7410'], ['7381'], ['4120'], ['7450'], ['7490']])('%s is to check', (code) => {
    expect(flagOf(project(code))).toMatchObject({ flag: 'to_check', reasonCode: 'legal_form_to_check', reason: expect.stringContaining(code) });
  });

  it.each([
    ['7210', 'Commune et commune nouvelle'], ['7220', 'Département'], ['7230', 'Région'], ['7346', 'Communauté de communes'],
    ['9220', 'Association déclarée'], ['5710', 'SAS, société par actions simplifiée'], ['7364', 'Établissement d\'hospitalisation'],
  ])('%s (%s) is ineligible, the reason naming the legal form DS gave', (code, label) => {
    const eligibility = flagOf(project(code, {}, { legalForm: label }));
    expect(eligibility).toEqual({
      flag: 'ineligible', reasonCode: 'legal_form_ineligible',
      reason: `Catégorie juridique ${code} (${label}) : ni administration de l'État, ni opérateur de l'État.`,
    });
  });

  it('asks to check a dossier without a legal form code', () => {
    expect(flagOf(project(undefined))).toMatchObject({ flag: 'to_check', reasonCode: 'legal_form_missing' });
  });

  it('asks to check a dossier filed by a personne physique, unless a SIRET champ gave a legal form', () => {
    expect(flagOf(project(undefined, {}, { demandeurType: 'PersonnePhysique' }))).toMatchObject({ flag: 'to_check', reasonCode: 'personne_physique' });
    expect(flagOf(project('7120', {}, { demandeurType: 'PersonnePhysique' }))).toMatchObject({ flag: 'eligible' });
  });

  it('asks to check an eligible administration that did not tick the beta.gouv.fr commitment (the default)', () => {
    expect(ELIGIBILITY_RULES.withoutBetaGouvCommitment).toBe('to_check');
    expect(flagOf(project('7120', { betaGouvCommitment: false }))).toMatchObject({
      flag: 'to_check', reasonCode: 'beta_gouv_commitment_not_ticked', reason: expect.stringContaining('beta.gouv.fr'),
    });
  });

  it('flags it ineligible when the configuration says so', () => {
    const strict = { ...ELIGIBILITY_RULES, withoutBetaGouvCommitment: 'ineligible' as const };
    expect(eligibilityOf(project('7120', { betaGouvCommitment: false }), strict)).toMatchObject({ flag: 'ineligible', reasonCode: 'beta_gouv_commitment_not_ticked' });
  });

  it('asks to check a dossier whose commitment is not known (champ hidden, or stored before it existed)', () => {
    const { betaGouvCommitment: _, ...without } = project('7120');
    expect(flagOf(without)).toMatchObject({ flag: 'to_check', reasonCode: 'beta_gouv_commitment_missing' });
  });

  it('keeps the most severe finding first and adds the other one to the reason', () => {
    const both = flagOf(project('7210', { betaGouvCommitment: false }));
    expect(both).toMatchObject({ flag: 'ineligible', reasonCode: 'legal_form_ineligible' });
    expect(both.reason).toContain('Par ailleurs : L\'engagement');
    const toCheckTwice = flagOf(project('7410', { betaGouvCommitment: false }));
    expect(toCheckTwice).toMatchObject({ flag: 'to_check', reasonCode: 'legal_form_to_check' });
    expect(toCheckTwice.reason).toContain('beta.gouv.fr');
    expect(flagOf(project('7120')).reason).not.toContain('Par ailleurs');
  });

  it('asks to check a dossier without a readable project', () => {
    expect(flagOf(null)).toMatchObject({ flag: 'to_check', reasonCode: 'project_unreadable' });
    expect(flagOf(undefined)).toMatchObject({ flag: 'to_check' });
    expect(flagOf({})).toMatchObject({ flag: 'to_check', reasonCode: 'legal_form_missing' });
  });

  it('flags the sample dossiers: the ministry service eligible, the GIP to check, the commune ineligible', () => {
    const flags = [23456789, 23456790, 23456791].map((number) => {
      const dossier = DsDossierSchema.parse(sampleDossier(number));
      const { project: mapped } = mapEigProject({ number, champs: dossier.champs, demandeur: dossier.demandeur, usagerEmail: null }, sampleMapping());
      return flagOf(mapped).flag;
    });
    expect(flags).toEqual(['eligible', 'to_check', 'ineligible']);
  });
});

describe('eligibility configuration', () => {
  it('is valid, cites its source, and holds only 4-digit codes', () => {
    const rules = parseEligibilityRules(readJson('schemas/eligibility-config.json'));
    expect(rules.source.url).toMatch(/^https:\/\/www\.insee\.fr\//);
    for (const code of [...Object.keys(rules.eligible), ...Object.keys(rules.toCheck)]) expect(code).toMatch(/^\d{4}$/);
  });

  it('refuses a code both eligible and to check, a code that is not 4 digits, and an unknown flag', () => {
    const raw = readJson('schemas/eligibility-config.json');
    expect(EligibilityRulesSchema.safeParse({ ...raw, toCheck: { ...raw.toCheck, 7120: 'x' } }).error!.issues[0]!.message).toContain('7120');
    expect(EligibilityRulesSchema.safeParse({ ...raw, eligible: { 712: 'Ministère' } }).success).toBe(false);
    expect(EligibilityRulesSchema.safeParse({ ...raw, withoutBetaGouvCommitment: 'eligible' }).success).toBe(false);
    expect(() => parseEligibilityRules({ ...raw, source: undefined })).toThrow(ConfigurationError);
  });
});
