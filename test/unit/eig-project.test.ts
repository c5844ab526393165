import { describe, expect, it } from 'vitest';
import { DsDossierSchema } from '#schemas/ds-dossier';
import { ChampRefSchema, FormMappingSchema } from '#schemas/eig-form';
import { mapEigProject } from '#core/eig-project';
import { sampleDossier, sampleMapping } from '../helpers/samples.ts';

const mapSample = (raw: any, mapping = sampleMapping()) => {
  const dossier = DsDossierSchema.parse(raw);
  return mapEigProject({ number: dossier.number, champs: dossier.champs, demandeur: dossier.demandeur, usagerEmail: dossier.usager?.email ?? null }, mapping);
};

describe('EIG form mapping', () => {
  it('maps the fixture dossier to a complete project', () => {
    const { project, issues } = mapSample(sampleDossier(23456789));
    expect(issues).toEqual([]);
    expect(project).toMatchObject({
      title: "DataSanté : détecter plus tôt les ruptures d'approvisionnement en médicaments",
      administration: { name: "DIRECTION DE L'EXEMPLE NUMERIQUE", siret: '13009999700012' },
      contactEmails: ['claire.martin@exemple-ministere.gouv.fr', 'paul.durand@exemple-ministere.gouv.fr'],
      eigPostsRequested: 2,
      wishedStartDate: '2026-09-01',
      theme: 'Santé',
      commitments: [{ accepted: true }],
    });
    expect(project.team).toHaveLength(2);
    expect(project.attachments!.map((a) => a.filename)).toEqual(['fiche-defi.pdf', 'lettre-soutien-dg.pdf', 'annexe-donnees.xlsx']);
  });

  it('keys on stable champ ids: a relabelled champ still maps', () => {
    const raw = sampleDossier(23456789);
    raw.champs[0].label = 'Titre (nouvelle révision du formulaire)';
    expect(mapSample(raw).project.title).toMatch(/^DataSanté/);
  });

  it('reports every rule the dossier breaks, with a path', () => {
    const { issues, project } = mapSample(sampleDossier(23456791));
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('project.commitments.0');
    expect(paths).toContain('project.eigPostsRequested');
    expect(paths).toContain('project.team.0.email');
    expect(project.title).toMatch(/^Open Transport/);
  });

  it('reports a champ missing from the dossier (hidden by conditional logic)', () => {
    const raw = sampleDossier(23456789);
    raw.champs = raw.champs.filter((c: any) => c.label !== 'Thématique principale');
    expect(mapSample(raw).issues).toContainEqual({ path: 'project.theme', message: expect.stringContaining('missing') });
  });

  it('reports a required attachment without file', () => {
    const raw = sampleDossier(23456789);
    raw.champs[8].files = [];
    expect(mapSample(raw).issues.map((i) => i.message)).toContainEqual(expect.stringContaining('required attachment'));
  });

  it('takes the administration from configured champs when the mapping names them', () => {
    const mapping = FormMappingSchema.parse({ ...sampleMapping(), administrationSiret: 4102124 });
    expect(mapSample(sampleDossier(23456790), mapping).project.administration).toEqual({
      name: "AGENCE NATIONALE DE L'EXEMPLE", siret: '13001111100015',
    });
  });

  it('accepts a champ reference as the bare stable id or the DS id', () => {
    expect(ChampRefSchema.parse(4102101)).toBe('Q2hhbXAtNDEwMjEwMQ==');
    expect(ChampRefSchema.parse('4102101')).toBe('Q2hhbXAtNDEwMjEwMQ==');
    expect(ChampRefSchema.parse('Q2hhbXAtNDEwMjEwMQ==')).toBe('Q2hhbXAtNDEwMjEwMQ==');
  });

  it('refuses a mapping without a required field', () => {
    const { title: _, ...rest } = sampleMapping();
    expect(FormMappingSchema.safeParse(rest).error!.issues[0]!.path).toEqual(['title']);
  });
});
