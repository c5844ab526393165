import { describe, expect, it } from 'vitest';
import { DsDossierSchema, KNOWN_CHAMP_TYPENAMES, isChamp, type Champ } from '#schemas/ds-dossier';
import { sampleDossier } from '../helpers/samples.ts';

describe('DS dossier schema', () => {
  it('parses the EIG example dossier of the fixtures', () => {
    const dossier = DsDossierSchema.parse(sampleDossier(23456789));
    expect(dossier.number).toBe(23456789);
    expect(dossier.demandeur.__typename).toBe('PersonneMorale');
    const pj = dossier.champs.find((c) => c.__typename === 'PieceJustificativeChamp' && c.label.startsWith('Lettre'));
    expect(isChamp(pj, 'PieceJustificativeChamp') && pj.files.map((f) => [f.byteSize, f.virusScanResult])).toEqual([[1264510, 'safe'], [88412, 'pending']]);
  });

  it('parses every champ kind the EIG form uses, with typed values', () => {
    const champs = DsDossierSchema.parse(sampleDossier(23456790)).champs;
    const byType = (t: string) => champs.find((c) => c.__typename === t) as Champ;
    expect(isChamp(byType('DecimalNumberChamp'), 'DecimalNumberChamp') && byType('DecimalNumberChamp')).toMatchObject({ decimalNumber: 120.5 });
    expect(byType('DatetimeChamp')).toMatchObject({ datetime: '2026-09-15T14:30:00+02:00' });
    expect(byType('YesNoChamp')).toMatchObject({ selected: false });
    expect(byType('MultipleDropDownListChamp')).toMatchObject({ values: ['Data science', 'Développement'] });
    expect(byType('SiretChamp')).toMatchObject({ etablissement: { siret: '13001111100015' } });
    expect(byType('AddressChamp')).toMatchObject({ address: { postalCode: '69003' } });
    const repetition = byType('RepetitionChamp');
    expect(isChamp(repetition, 'RepetitionChamp') && repetition.rows[0]!.champs).toHaveLength(3);
  });

  it('keeps an unknown champ kind raw, with all its fields, instead of rejecting it', () => {
    const commune = DsDossierSchema.parse(sampleDossier(23456790)).champs.find((c) => c.__typename === 'CommuneChamp')!;
    expect(commune).toMatchObject({ raw: true, commune: { code: '69383' }, label: 'Commune principale concernée' });
    expect(KNOWN_CHAMP_TYPENAMES).not.toContain('CommuneChamp');
    expect(isChamp(commune, 'TextChamp')).toBe(false);
  });

  it('reports a malformed known champ with its path', () => {
    const raw = sampleDossier(23456789);
    raw.champs[3].integerNumber = 'deux';
    const result = DsDossierSchema.safeParse(raw);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toEqual(['champs.3.integerNumber']);
  });

  it('validates nested repetition champs and file checksums', () => {
    const raw = sampleDossier(23456789);
    raw.champs[8].files[0].checksum = 'not-a-checksum';
    raw.champs[7].rows[1].champs[0].__typename = 'CheckboxChamp';
    const paths = DsDossierSchema.safeParse(raw).error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('champs.8.files.0.checksum');
    expect(paths).toContain('champs.7.rows.1.champs.0.checked');
  });

  it('parses the PersonnePhysique demandeur and rejects an unknown one', () => {
    const raw = sampleDossier(23456789);
    raw.demandeur = { __typename: 'PersonnePhysique', civilite: 'Mme', nom: 'Martin', prenom: 'Claire', email: null };
    expect(DsDossierSchema.parse(raw).demandeur).toMatchObject({ nom: 'Martin' });
    raw.demandeur = { __typename: 'Robot' };
    expect(DsDossierSchema.safeParse(raw).success).toBe(false);
  });

  it('keeps fields it does not model (faithful copy)', () => {
    expect(DsDossierSchema.parse(sampleDossier(23456789))).toMatchObject({ connectionUsager: 'password', deposeParUnTiers: false });
  });
});
