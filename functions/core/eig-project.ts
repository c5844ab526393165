import type * as z from 'zod';
import { isChamp, type Champ, type Demandeur } from '#schemas/ds-dossier';
import { ProjectSchema, type FormMapping, type Project } from '#schemas/eig-form';
import { filesOf } from './attachments.ts';
import type { ValidationIssue } from './dossier.ts';

export interface MappingInput {
  number: number;
  champs: Champ[];
  demandeur: Demandeur | null;
  usagerEmail: string | null;
}

export interface MappingResult {
  /** As much of the project as the dossier gives; complete only when `issues` is empty. */
  project: Partial<Project>;
  issues: ValidationIssue[];
}

/** The text a champ holds, whatever its kind. */
function textOf(champ: Champ | undefined): string | undefined {
  if (!champ) return undefined;
  if (isChamp(champ, 'TextChamp', 'DropDownListChamp') && typeof champ.value === 'string') return champ.value;
  if (isChamp(champ, 'SiretChamp') && champ.etablissement) return champ.etablissement.siret;
  return champ.stringValue ?? undefined;
}

function integerOf(champ: Champ | undefined): number | undefined {
  const text = isChamp(champ, 'IntegerNumberChamp') ? champ.integerNumber : textOf(champ);
  return text != null && /^-?\d+$/.test(text.trim()) ? Number(text) : undefined;
}

function dateOf(champ: Champ | undefined): string | undefined {
  if (isChamp(champ, 'DateChamp')) return champ.date ?? undefined;
  if (isChamp(champ, 'DatetimeChamp')) return champ.datetime?.slice(0, 10);
  return textOf(champ);
}

function booleanOf(champ: Champ | undefined): boolean {
  if (isChamp(champ, 'CheckboxChamp')) return champ.checked;
  if (isChamp(champ, 'YesNoChamp')) return champ.selected === true;
  return champ?.stringValue === 'true';
}

const byId = (champs: Champ[]) => new Map(champs.map((c) => [c.champDescriptorId, c]));

function teamOf(champ: Champ | undefined, mapping: FormMapping['team']): Project['team'] {
  if (!isChamp(champ, 'RepetitionChamp')) return [];
  return champ.rows.map((row) => {
    const cells = byId(row.champs);
    return {
      name: textOf(cells.get(mapping.name)) ?? '',
      role: textOf(cells.get(mapping.role)) ?? '',
      email: (textOf(cells.get(mapping.email)) ?? '').trim().toLowerCase(),
    };
  });
}

type Entreprise = { formeJuridique?: string | null | undefined; formeJuridiqueCode?: string | null | undefined } | null | undefined;

/** The legal form DS gives for an entreprise; a code that is not 4 digits is kept out (the eligibility flag then asks to check). */
function legalFormOf(entreprise: Entreprise): Pick<Project['administration'], 'legalFormCode' | 'legalForm'> {
  const code = entreprise?.formeJuridiqueCode?.trim();
  const label = entreprise?.formeJuridique?.trim();
  return {
    ...(code && /^\d{4}$/.test(code) ? { legalFormCode: code } : {}),
    ...(label ? { legalForm: label } : {}),
  };
}

function administrationOf(input: MappingInput, champs: Map<string, Champ>, mapping: FormMapping): Partial<Project['administration']> {
  const d = input.demandeur;
  const fromDemandeur = {
    name: d?.__typename === 'PersonneMorale' ? (d.entreprise?.raisonSociale || d.entreprise?.nomCommercial || undefined) : undefined,
    siret: d?.__typename === 'PersonneMorale' || d?.__typename === 'PersonneMoraleIncomplete' ? d.siret : undefined,
  };
  // When the mapping names a SIRET champ, the administration is that établissement: its legal form too.
  const siretChamp = mapping.administrationSiret ? champs.get(mapping.administrationSiret) : undefined;
  const legalForm = mapping.administrationSiret
    ? legalFormOf(isChamp(siretChamp, 'SiretChamp') ? siretChamp.etablissement?.entreprise : undefined)
    : legalFormOf(d?.__typename === 'PersonneMorale' ? d.entreprise : undefined);
  return {
    name: mapping.administrationName ? textOf(champs.get(mapping.administrationName)) : fromDemandeur.name,
    siret: mapping.administrationSiret ? textOf(siretChamp) : fromDemandeur.siret,
    ...(d ? { demandeurType: d.__typename } : {}),
    ...legalForm,
  };
}

/** The profiles chosen in the multiple drop-down; an option the mapping does not list is an issue naming it. */
function profilesOf(champ: Champ | undefined, mapping: FormMapping['profiles'], issues: ValidationIssue[]): string[] {
  const chosen = isChamp(champ, 'MultipleDropDownListChamp')
    ? champ.values
    : (isChamp(champ, 'DropDownListChamp', 'TextChamp') && champ.value ? [champ.value] : []);
  const accepted = new Set(mapping.options);
  const profiles = [...new Set(chosen.map((value) => value.trim()).filter(Boolean))];
  for (const profile of profiles) {
    if (!accepted.has(profile)) issues.push({ path: 'project.profiles', message: `unknown profile "${profile}" (accepted: ${mapping.options.join(', ')})` });
  }
  return profiles;
}

export function zodIssues(error: z.ZodError, prefix: string): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

/**
 * Maps a dossier to a `Project` through the form mapping (stable champ ids, never labels),
 * then validates it. Rules the schema cannot express (required commitments and attachments,
 * the cap on EIG posts, profiles outside the accepted options, champs missing from the
 * dossier) become issues too. Eligibility is not validity: the legal form and the beta.gouv.fr
 * commitment are only recorded here, and flagged by core/eligibility.ts.
 */
export function mapEigProject(input: MappingInput, mapping: FormMapping): MappingResult {
  const champs = byId(input.champs);
  const issues: ValidationIssue[] = [];
  const required = (field: string, id: string) => {
    const champ = champs.get(id);
    if (!champ) issues.push({ path: `project.${field}`, message: `champ ${id} is missing from the dossier` });
    return champ;
  };

  const attachmentChamps = mapping.attachments.map((a) => ({ ...a, champ: champs.get(a.champ), id: a.champ }));
  const project = {
    title: textOf(required('title', mapping.title)),
    description: textOf(required('description', mapping.description)),
    administration: administrationOf(input, champs, mapping),
    contactEmails: [...new Set([input.usagerEmail, ...mapping.contactEmails.map((id) => textOf(champs.get(id)))]
      .filter((e): e is string => !!e).map((e) => e.trim().toLowerCase()))],
    team: teamOf(required('team', mapping.team.champ), mapping.team),
    eigPostsRequested: integerOf(required('eigPostsRequested', mapping.eigPostsRequested)),
    wishedStartDate: dateOf(required('wishedStartDate', mapping.wishedStartDate)),
    theme: textOf(required('theme', mapping.theme)),
    profiles: profilesOf(required('profiles', mapping.profiles.champ), mapping.profiles, issues),
    ...(mapping.betaGouvCommitment && champs.has(mapping.betaGouvCommitment)
      ? { betaGouvCommitment: booleanOf(champs.get(mapping.betaGouvCommitment)) }
      : {}),
    commitments: mapping.commitments.map(({ champ: id }) => ({
      champId: id, label: champs.get(id)?.label ?? id, accepted: booleanOf(champs.get(id)),
    })),
    attachments: filesOf(input.number, attachmentChamps.flatMap((a) => (a.champ ? [a.champ] : [])))
      .map(({ champId, label, filename, contentType, byteSize, checksum }) => ({ champId, label, filename, contentType, byteSize, checksum })),
  };

  mapping.commitments.forEach(({ required: mustAccept }, i) => {
    const commitment = project.commitments[i]!;
    if (mustAccept && !commitment.accepted) {
      issues.push({ path: `project.commitments.${i}`, message: `commitment "${commitment.label}" is not accepted` });
    }
  });
  for (const a of attachmentChamps) {
    if (a.required && !project.attachments.some((f) => f.champId === a.id)) {
      issues.push({ path: 'project.attachments', message: `required attachment "${a.champ?.label ?? a.id}" has no file` });
    }
  }
  if (project.eigPostsRequested !== undefined && project.eigPostsRequested > mapping.maxEigPosts) {
    issues.push({ path: 'project.eigPostsRequested', message: `at most ${mapping.maxEigPosts} EIG posts may be requested` });
  }

  const parsed = ProjectSchema.safeParse(project);
  if (!parsed.success) issues.push(...zodIssues(parsed.error, 'project'));
  return { project: (parsed.success ? parsed.data : project) as Partial<Project>, issues };
}
