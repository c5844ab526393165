import type { Project } from '#schemas/eig-form';
import type { EligibilityRules } from '#schemas/eligibility';

/**
 * Whether a project may apply to the EIG call, as a flag for staff, never a decision: the
 * rules (schemas/eligibility-config.json, docs/eligibility.md) say which INSEE catégories
 * juridiques are eligible and which are to check; the beta.gouv.fr commitment is the other
 * condition of the call. Pure: computed when read, so a changed rule applies to stored dossiers.
 */

export type EligibilityFlag = 'eligible' | 'to_check' | 'ineligible';

export interface Eligibility {
  flag: EligibilityFlag;
  /** Stable, for code and filters: `legal_form_eligible`, `legal_form_to_check`, ... */
  reasonCode: string;
  /** In French, for staff. */
  reason: string;
}

const SEVERITY: Readonly<Record<EligibilityFlag, number>> = { eligible: 0, to_check: 1, ineligible: 2 };

function category(code: string, label: string | undefined): string {
  return label ? `catégorie juridique ${code} (${label})` : `catégorie juridique ${code}`;
}

/** What the legal form alone says. */
function byLegalForm(administration: Partial<Project['administration']> | undefined, rules: EligibilityRules): Eligibility {
  const code = administration?.legalFormCode;
  // A code (from a SIRET champ of the form) says who the administration is even when a person filed the dossier.
  if (!code && administration?.demandeurType === 'PersonnePhysique') {
    return {
      flag: 'to_check',
      reasonCode: 'personne_physique',
      reason: 'Dossier déposé par une personne physique : l\'administration qui porte le projet est à identifier.',
    };
  }
  if (!code) {
    return {
      flag: 'to_check',
      reasonCode: 'legal_form_missing',
      reason: 'Catégorie juridique inconnue (Démarches Simplifiées n\'en donne pas) : l\'éligibilité est à vérifier.',
    };
  }
  if (code in rules.eligible) {
    return {
      flag: 'eligible',
      reasonCode: 'legal_form_eligible',
      reason: `Administration de l'État ou établissement public national : ${category(code, rules.eligible[code])}.`,
    };
  }
  if (code in rules.toCheck) {
    return {
      flag: 'to_check',
      reasonCode: 'legal_form_to_check',
      reason: `${capitalized(category(code, rules.toCheck[code]))} : opérateur de l'État dans certains cas seulement, à vérifier.`,
    };
  }
  return {
    flag: 'ineligible',
    reasonCode: 'legal_form_ineligible',
    reason: `${capitalized(category(code, administration?.legalForm))} : ni administration de l'État, ni opérateur de l'État.`,
  };
}

/** What the beta.gouv.fr commitment says, or nothing when it is ticked. */
function byCommitment(project: Partial<Project>, rules: EligibilityRules): Eligibility | undefined {
  if (project.betaGouvCommitment === true) return undefined;
  if (project.betaGouvCommitment === false) {
    return {
      flag: rules.withoutBetaGouvCommitment,
      reasonCode: 'beta_gouv_commitment_not_ticked',
      reason: 'L\'engagement à suivre l\'approche beta.gouv.fr (ou à en confirmer la pertinence avec beta.gouv.fr en phase d\'investigation) n\'est pas coché.',
    };
  }
  return {
    flag: 'to_check',
    reasonCode: 'beta_gouv_commitment_missing',
    reason: 'L\'engagement à suivre l\'approche beta.gouv.fr n\'est pas renseigné dans le dossier.',
  };
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The flag of a project: the most severe of what its legal form and its beta.gouv.fr commitment
 * say (ineligible > to check > eligible). The reason starts with that finding and adds the other
 * one when it also needs staff's attention.
 */
export function eligibilityOf(project: Partial<Project> | null | undefined, rules: EligibilityRules): Eligibility {
  if (!project) {
    return { flag: 'to_check', reasonCode: 'project_unreadable', reason: 'Projet illisible : l\'éligibilité est à vérifier sur Démarches Simplifiées.' };
  }
  const findings = [byLegalForm(project.administration, rules), byCommitment(project, rules)]
    .filter((finding): finding is Eligibility => finding !== undefined);
  const [worst, ...others] = [...findings].sort((a, b) => SEVERITY[b.flag] - SEVERITY[a.flag]);
  const alsoNeeded = others.filter((finding) => finding.flag !== 'eligible');
  if (alsoNeeded.length === 0) return worst!;
  return { ...worst!, reason: [worst!.reason, ...alsoNeeded.map((finding) => `Par ailleurs : ${finding.reason}`)].join(' ') };
}

/** The French label of a flag, for staff. */
export const ELIGIBILITY_LABELS: Readonly<Record<EligibilityFlag, string>> = {
  eligible: 'éligible',
  to_check: 'à vérifier',
  ineligible: 'non éligible',
};
