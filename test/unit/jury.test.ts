import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import { chooseReplacement, conflictOf, emailDomain, hasConflictWith } from '#core/rounds/assign-reviewers';
import { ConfigurationError } from '#core/errors';
import { DEFAULT_JURY_CONFIG, JuryConfigSchema, PUBLIC_EMAIL_DOMAINS } from '#schemas/jury';
import { JURY_CONFIG, parseJuryConfig } from '#shared/jury-config';
import { reviewerRecord, roundDossier } from '../helpers/memory-round-ports.ts';

/** A dossier of `siret` whose contacts and team write from these addresses. */
function dossier(number: number, siret: string, contacts: string[] = [], team: string[] = []): DossierRecord {
  const record = roundDossier(number, { siret });
  record.project = { ...record.project, contactEmails: contacts, team: team.map((email) => ({ name: 'Membre', role: 'chef de projet', email })) };
  return record;
}

const SIRET = '13002526500013';
const SAME_SIREN = '13002526500021';
const OTHER = '11000201100044';

describe('conflicts (one rule for the assignment and the replacement)', () => {
  it('siret: a declared SIRET is the administration\'s', () => {
    expect(conflictOf(reviewerRecord('a@example.fr', { conflicts: [SIRET] }), dossier(1, SIRET))).toBe('siret');
  });

  it('siren: a declared SIRET of another establishment of the same organisation (first 9 digits)', () => {
    const reviewer = reviewerRecord('a@example.fr', { conflicts: [SAME_SIREN] });
    expect(conflictOf(reviewer, dossier(1, SIRET))).toBe('siren');
    expect(conflictOf(reviewer, dossier(2, OTHER))).toBeUndefined();
  });

  it('email_domain: the reviewer\'s domain is a contact\'s or a team member\'s, compared whole and case-blind', () => {
    const reviewer = reviewerRecord('Jeanne.Dupont@Interieur.Gouv.FR');
    expect(conflictOf(reviewer, dossier(1, OTHER, ['contact@interieur.gouv.fr']))).toBe('email_domain');
    expect(conflictOf(reviewer, dossier(2, OTHER, ['contact@example.fr'], ['cheffe@INTERIEUR.gouv.fr']))).toBe('email_domain');
    // Whole domains: a parent, a sub-domain or a look-alike is no conflict.
    for (const address of ['x@gouv.fr', 'x@dgpn.interieur.gouv.fr', 'x@interieur.gouv.fr.example.com', 'x@ointerieur.gouv.fr']) {
      expect(conflictOf(reviewer, dossier(3, OTHER, [address])), address).toBeUndefined();
    }
  });

  it('ignored domains (public webmail) never make a conflict; the list and the switch come from the configuration', () => {
    const reviewer = reviewerRecord('jeanne@gmail.com');
    const target = dossier(1, OTHER, ['porteur@gmail.com'], ['membre@orange.fr']);
    expect(hasConflictWith(reviewer, target)).toBe(false);
    expect(hasConflictWith(reviewerRecord('jean@orange.fr'), target)).toBe(false);
    expect(conflictOf(reviewer, target, { ...DEFAULT_JURY_CONFIG, ignoredDomains: [] })).toBe('email_domain');
    // Switched off: domains no longer count, SIRET and SIREN still do.
    const off = { ...DEFAULT_JURY_CONFIG, emailDomainConflicts: false };
    expect(conflictOf(reviewerRecord('x@interieur.gouv.fr'), dossier(2, OTHER, ['y@interieur.gouv.fr']), off)).toBeUndefined();
    expect(conflictOf(reviewerRecord('x@interieur.gouv.fr', { conflicts: [SAME_SIREN] }), dossier(3, SIRET), off)).toBe('siren');
  });

  it('the SIRET is checked first, then the SIREN, then the domain; a partial project (invalid dossier) is read as far as it goes', () => {
    const reviewer = reviewerRecord('x@interieur.gouv.fr', { conflicts: [SIRET] });
    expect(conflictOf(reviewer, dossier(1, SIRET, ['y@interieur.gouv.fr']))).toBe('siret');
    expect(conflictOf(reviewer, { project: null })).toBeUndefined();
    expect(conflictOf(reviewer, { project: { contactEmails: ['y@interieur.gouv.fr'] } })).toBe('email_domain');
    expect(conflictOf(reviewer, { project: { administration: { name: 'X', siret: '1300252' }, team: [] } })).toBeUndefined();
    expect(emailDomain('a@B.fr.')).toBe('b.fr');
    expect(emailDomain('no-at-sign')).toBeUndefined();
    expect(emailDomain(undefined)).toBeUndefined();
  });
});

describe('chooseReplacement', () => {
  const target = dossier(1, SIRET, ['porteur@culture.gouv.fr']);
  const pairs = [
    { dossierNumber: 1, reviewerId: 'ana' }, { dossierNumber: 1, reviewerId: 'rob' },
    { dossierNumber: 2, reviewerId: 'nina' }, { dossierNumber: 3, reviewerId: 'nina' },
  ];
  const reviewer = (id: string, college: 'administration' | 'numerique' | 'recherche', email = `${id}@example.fr`, conflicts: string[] = []) =>
    ({ ...reviewerRecord(email, { college, conflicts }), id });

  it('prefers a college missing from the dossier\'s remaining reviewers over a lower load', () => {
    const reviewers = [reviewer('ana', 'administration'), reviewer('rob', 'recherche'), reviewer('nina', 'numerique'), reviewer('rita', 'recherche'), reviewer('alan', 'administration')];
    const round = [...pairs, { dossierNumber: 4, reviewerId: 'rita' }];
    // ana (administration) stays: alan (administration, 0 dossiers) would repeat her college; rita (recherche) has 1, nina (numerique) 2.
    expect(chooseReplacement(target, reviewers, round, { withdrawn: ['rob'] })?.id).toBe('rita');
    expect(chooseReplacement(target, [...reviewers].reverse(), [...round].reverse(), { withdrawn: ['rob'] })?.id).toBe('rita');
    // Without colleges (a committee from before them), the least loaded, as before.
    const plain = reviewers.map(({ college: _college, ...rest }) => rest);
    expect(chooseReplacement(target, plain, round, { withdrawn: ['rob'] })?.id).toBe('alan');
  });

  it('applies every conflict kind: the SIREN and the contacts\' domain exclude a candidate', () => {
    const reviewers = [
      reviewer('ana', 'administration'), reviewer('rob', 'recherche'),
      reviewer('rose', 'recherche', 'rose@culture.gouv.fr'), reviewer('rita', 'recherche', 'rita@example.fr', [SAME_SIREN]),
      reviewer('remy', 'recherche', 'remy@gmail.com'),
    ];
    expect(chooseReplacement(target, reviewers, pairs, { withdrawn: ['rob'] })?.id).toBe('remy');
    expect(chooseReplacement(target, reviewers.slice(0, 4), pairs, { withdrawn: ['rob'] })).toBeUndefined();
  });

  it('counts reviewers already replaced (replaces) as withdrawn', () => {
    const reviewers = [reviewer('ana', 'administration'), reviewer('rob', 'recherche'), reviewer('nina', 'numerique'), reviewer('rose', 'recherche'), reviewer('alan', 'administration')];
    const withReplacement = [...pairs, { dossierNumber: 1, reviewerId: 'nina', replaces: 'ana' }];
    // ana withdrew (replaced by nina); rob withdraws now: administration and recherche are both missing: alan and rose have 0, alan first by id.
    expect(chooseReplacement(target, reviewers, withReplacement, { withdrawn: ['rob'] })?.id).toBe('alan');
  });
});

describe('jury configuration', () => {
  it('schemas/jury-config.json is valid, domain conflicts on, the public webmail ignored', () => {
    expect(JURY_CONFIG.emailDomainConflicts).toBe(true);
    expect(JURY_CONFIG.ignoredDomains).toEqual(expect.arrayContaining(['gmail.com', 'outlook.fr', 'orange.fr', 'laposte.net']));
    // The file and the defaults (used when no configuration is passed) say the same.
    expect(JURY_CONFIG.ignoredDomains).toEqual(DEFAULT_JURY_CONFIG.ignoredDomains);
    expect(DEFAULT_JURY_CONFIG).toEqual({ emailDomainConflicts: true, ignoredDomains: [...PUBLIC_EMAIL_DOMAINS] });
    expect(JSON.parse(readFileSync(new URL('../../schemas/jury-config.json', import.meta.url), 'utf8')).ignoredDomains).not.toContain('gouv.fr');
  });

  it('refuses a misspelt key, an address or a bare suffix as a domain; lower-cases domains', () => {
    expect(() => parseJuryConfig({ emailDomainConflict: false })).toThrow(ConfigurationError);
    expect(() => parseJuryConfig({ ignoredDomains: ['@gmail.com'] })).toThrow(/a domain is a full name/);
    expect(() => parseJuryConfig({ ignoredDomains: ['fr'] })).toThrow(/a domain is a full name/);
    expect(() => parseJuryConfig({ ignoredDomains: ['https://gmail.com'] })).toThrow(/a domain is a full name/);
    expect(JuryConfigSchema.parse({ emailDomainConflicts: false, ignoredDomains: [' Mairie-Exemple.FR '] }))
      .toEqual({ emailDomainConflicts: false, ignoredDomains: ['mairie-exemple.fr'] });
  });
});
