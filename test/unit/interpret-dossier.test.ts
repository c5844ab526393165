import { describe, expect, it } from 'vitest';
import { interpretDossier } from '#core/interpret-dossier';
import { roundOf } from '#core/round';
import { isReviewable, withdrawalOf } from '#core/dossier';
import { attachmentKey, planFileFetches, safeFilename } from '#core/attachments';
import { sampleDossier, sampleMapping } from '../helpers/samples.ts';

const now = new Date('2026-03-05T13:30:00Z');

describe('interpretDossier', () => {
  it('builds the record of a valid dossier, files pending until archived', () => {
    const { record, files } = interpretDossier(23456789, sampleDossier(23456789), sampleMapping(), now);
    expect(record).toMatchObject({
      number: 23456789, demarcheNumber: 98765, state: 'en_construction', status: 'files_pending',
      modifiedAtMs: Date.parse('2026-03-05T14:22:11+01:00'), round: '2026-03', issues: [], filesComplete: false,
      snapshotKey: `dossiers/23456789/${Date.parse('2026-03-05T14:22:11+01:00')}.json`,
    });
    expect(files.map((f) => [f.filename, f.virusScan])).toEqual([
      ['fiche-defi.pdf', 'safe'], ['lettre-soutien-dg.pdf', 'safe'], ['annexe-donnees.xlsx', 'pending'],
    ]);
    expect(record.attachments[0]).not.toHaveProperty('url');
    expect(files[0]!.key).toBe('attachments/23456789/4102108/110eae2688a744c78eb8c97aa7161458/fiche-defi.pdf');
  });

  it('keeps a dossier whose linked dossier DS hid (nested unauthorized) and notes that champ, by path only', () => {
    const raw = sampleDossier(23456789);
    raw.champs.push({ __typename: 'DossierLinkChamp', id: 'Q2hhbXAtOTk5', champDescriptorId: 'Q2hhbXAtOTk5', label: 'Dossier lié', stringValue: '777', dossier: null });
    raw.annotations = [{ __typename: 'DossierLinkChamp', id: 'Q2hhbXAtOTk4', champDescriptorId: 'Q2hhbXAtOTk4', label: 'Lien', stringValue: '', dossier: null }];
    const { record, files } = interpretDossier(23456789, raw, sampleMapping(), now);
    // A note, not an issue: the dossier stays valid and reviewable.
    expect(record.issues).toEqual([]);
    expect(record.status).not.toBe('invalid');
    expect(record.notes).toEqual([{ path: `champs.${raw.champs.length - 1}.dossier`, message: expect.stringMatching(/^linked dossier not readable: /) }]);
    expect(record.notes![0]!.message).not.toContain('777');
    expect(record.number).toBe(23456789);
    expect(files).toHaveLength(3);
    expect(record.project).toMatchObject({ title: expect.any(String) });
  });

  it('stores an invalid dossier with its issues and still lists its files', () => {
    const { record, files } = interpretDossier(23456791, sampleDossier(23456791), sampleMapping(), now);
    expect(record.status).toBe('invalid');
    expect(record.issues.length).toBeGreaterThanOrEqual(3);
    expect(files).toHaveLength(2);
  });

  it('keeps the other champs and files when one champ is malformed', () => {
    const raw = sampleDossier(23456789);
    raw.champs[3].integerNumber = 'deux';
    const { record, files } = interpretDossier(23456789, raw, sampleMapping(), now);
    expect(record.status).toBe('invalid');
    expect(record.issues.map((i) => i.path)).toContain('champs.3.integerNumber');
    expect(record.project?.title).toMatch(/^DataSanté/);
    expect(files).toHaveLength(3);
  });

  it('stores an unreadable answer as version 0 so that any readable version replaces it', () => {
    const { record } = interpretDossier(42, { hello: 'world' }, sampleMapping(), now);
    expect(record).toMatchObject({ number: 42, modifiedAtMs: 0, status: 'invalid', round: 'unassigned' });
  });

  it('flags an answer about another dossier', () => {
    const { record } = interpretDossier(1, sampleDossier(23456789), sampleMapping(), now);
    expect(record.issues).toContainEqual({ path: 'number', message: 'DS answered dossier 23456789 for 1' });
  });
});

describe('dossiers that leave the selection', () => {
  it.each([
    ['stored', 'en_construction', true, undefined],
    ['files_pending', 'en_instruction', true, undefined],
    ['stored', 'sans_suite', false, 'classe_sans_suite'],
    ['files_pending', 'sans_suite', false, 'classe_sans_suite'],
    ['deleted', 'en_construction', false, 'deleted_on_ds'],
    ['deleted', 'sans_suite', false, 'deleted_on_ds'],
    ['not_found', null, false, 'not_found_on_ds'],
    ['invalid', 'en_construction', false, undefined],
  ] as const)('status %s, DS state %s: reviewable %s, withdrawal %s', (status, state, reviewable, reasonCode) => {
    expect(isReviewable({ status, state })).toBe(reviewable);
    expect(withdrawalOf({ status, state })?.reasonCode).toBe(reasonCode);
  });

  it('says why in French', () => {
    expect(withdrawalOf({ status: 'stored', state: 'sans_suite' })).toEqual({ reasonCode: 'classe_sans_suite', reason: 'Classé sans suite sur Démarches Simplifiées' });
    expect(withdrawalOf({ status: 'deleted', state: 'en_construction' })!.reason).toBe('Supprimé sur Démarches Simplifiées');
  });

  it('keeps a dossier classé sans suite on DS stored, valid, out of the review', () => {
    const raw = sampleDossier(23456789);
    raw.state = 'sans_suite';
    const { record } = interpretDossier(23456789, raw, sampleMapping(), now);
    expect(record).toMatchObject({ state: 'sans_suite', status: 'files_pending', issues: [] });
    expect(isReviewable(record)).toBe(false);
  });
});

describe('rounds', () => {
  it.each([
    ['2026-03-05T14:22:10+01:00', '2026-03'],
    ['2026-04-30T23:59:59+02:00', '2026-03'],
    ['2026-04-30T22:30:00Z', '2026-05'], // already 1 May in Paris
    ['2026-12-31T23:30:00Z', '2027-01'],
    [null, 'unassigned'],
  ])('%s is in round %s', (date, round) => {
    expect(roundOf(date)).toBe(round);
  });
});

describe('attachments', () => {
  it('skips stored files, waits for pending scans, fetches the rest', () => {
    const { files } = interpretDossier(23456789, sampleDossier(23456789), sampleMapping(), now);
    const stored = [{ ...files[0]!, dossierNumber: 23456789, status: 'stored' as const, updatedAt: '' }];
    expect(planFileFetches(files, stored).map((p) => p.action)).toEqual(['skip', 'fetch', 'wait_for_scan']);
  });

  it('gives a changed file a new key and keeps filenames safe', () => {
    const a = attachmentKey(1, 'Q2hhbXAtNDEwMjEwOA==', 'EQ6uJoinRMeOuMl6pxYUWA==', 'a.pdf');
    const b = attachmentKey(1, 'Q2hhbXAtNDEwMjEwOA==', '9pzJuI2XboYtjc1ib/JE7g==', 'a.pdf');
    expect(a).not.toBe(b);
    expect(safeFilename('../../etc/passwd')).not.toContain('/');
    expect(safeFilename('Lettre de soutien (v2).pdf')).toBe('Lettre_de_soutien_v2_.pdf');
  });
});
