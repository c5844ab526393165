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
      profiles: ['Directeur·rice de produit', 'Directeur·rice technique'],
      betaGouvCommitment: true,
      commitments: [{ accepted: true }],
    });
    expect(project.administration).toMatchObject({ demandeurType: 'PersonneMorale', legalFormCode: '7120', legalForm: "Service central d'un ministère" });
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
      name: "AGENCE NATIONALE DE L'EXEMPLE", siret: '13001111100015', demandeurType: 'PersonneMorale',
    });
  });

  it('takes the legal form from the SIRET champ the mapping names, when DS gives its entreprise', () => {
    const mapping = FormMappingSchema.parse({ ...sampleMapping(), administrationSiret: 4102124 });
    const raw = sampleDossier(23456790);
    const siretChamp = raw.champs.find((c: any) => c.__typename === 'SiretChamp');
    siretChamp.etablissement.entreprise = { siren: '130011111', formeJuridique: 'Groupement d\'intérêt public (GIP)', formeJuridiqueCode: '7410' };
    expect(mapSample(raw, mapping).project.administration).toMatchObject({ legalFormCode: '7410', legalForm: 'Groupement d\'intérêt public (GIP)' });
  });


  describe('profiles', () => {
    const profilesChamp = (raw: any) => raw.champs.find((c: any) => c.champDescriptorId === 'Q2hhbXAtNDEwMjEzMA==');

    it('keeps the chosen profiles, each once, in the order of the dossier', () => {
      const raw = sampleDossier(23456790);
      profilesChamp(raw).values = ['Directeur·rice technique', ' Directeur·rice de produit ', 'Directeur·rice technique'];
      const { project, issues } = mapSample(raw);
      expect(issues).toEqual([]);
      expect(project.profiles).toEqual(['Directeur·rice technique', 'Directeur·rice de produit']);
    });

    it('reports an option the mapping does not list, by name', () => {
      const { issues, project } = mapSample(sampleDossier(23456791));
      expect(issues).toContainEqual({ path: 'project.profiles', message: expect.stringContaining('unknown profile "Data scientist"') });
      expect(project.profiles).toEqual(['Directeur·rice de produit', 'Data scientist']);
    });

    it('accepts a relabelled option once the mapping lists it', () => {
      const raw = sampleDossier(23456789);
      profilesChamp(raw).values = ['Product manager'];
      const mapping = FormMappingSchema.parse({ ...sampleMapping(), profiles: { champ: 4102130, options: [...sampleMapping().profiles.options, 'Product manager'] } });
      expect(mapSample(raw).issues.map((i) => i.path)).toContain('project.profiles');
      expect(mapSample(raw, mapping).issues).toEqual([]);
    });

    it('requires at least one profile', () => {
      const raw = sampleDossier(23456789);
      profilesChamp(raw).values = [];
      expect(mapSample(raw).issues).toContainEqual({ path: 'project.profiles', message: 'at least one profile must be requested' });
    });

    it('reports the profiles champ missing from the dossier', () => {
      const raw = sampleDossier(23456789);
      raw.champs = raw.champs.filter((c: any) => c !== profilesChamp(raw));
      expect(mapSample(raw).issues).toContainEqual({ path: 'project.profiles', message: expect.stringContaining('missing from the dossier') });
    });

    it('refuses a mapping without accepted options', () => {
      expect(FormMappingSchema.safeParse({ ...sampleMapping(), profiles: { champ: 4102130, options: [] } }).success).toBe(false);
    });
  });

  it('asks for 1 to 3 EIG posts', () => {
    expect(sampleMapping().maxEigPosts).toBe(3);
    const raw = sampleDossier(23456789);
    for (const [posts, valid] of [['1', true], ['3', true], ['4', false], ['0', false]] as const) {
      raw.champs[3].integerNumber = posts;
      expect(mapSample(raw).issues.some((i) => i.path === 'project.eigPostsRequested'), posts).toBe(!valid);
    }
  });

  it('records the beta.gouv.fr commitment without making an unticked one invalid', () => {
    const raw = sampleDossier(23456789);
    const champ = raw.champs.find((c: any) => c.champDescriptorId === 'Q2hhbXAtNDEwMjEzMQ==');
    champ.checked = false;
    expect(mapSample(raw)).toMatchObject({ issues: [], project: { betaGouvCommitment: false } });
    raw.champs = raw.champs.filter((c: any) => c !== champ);
    const hidden = mapSample(raw);
    expect(hidden.issues).toEqual([]);
    expect(hidden.project).not.toHaveProperty('betaGouvCommitment');
  });

  it('records the legal form of a demandeur that has none as absent, and a personne physique as such', () => {
    const raw = sampleDossier(23456789);
    delete raw.demandeur.entreprise.formeJuridiqueCode;
    expect(mapSample(raw).project.administration).not.toHaveProperty('legalFormCode');
    raw.demandeur = { __typename: 'PersonnePhysique', civilite: 'Mme', nom: 'Martin', prenom: 'Claire', email: null };
    expect(mapSample(raw).project.administration).toMatchObject({ demandeurType: 'PersonnePhysique' });
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
