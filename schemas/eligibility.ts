import * as z from 'zod';

/**
 * Who may apply to the EIG call, as configuration (schemas/eligibility-config.json): INSEE
 * "catégories juridiques" (niveau III, 4 digits) that are eligible, and those to check by hand;
 * any other code is flagged ineligible. The flag never decides: staff do (docs/eligibility.md).
 */

const LegalFormCodeSchema = z.string().regex(/^\d{4}$/, 'a catégorie juridique is 4 digits (niveau III)');

/** Code → its INSEE label, so that a reason names the category even when DS gives no label. */
const CodeListSchema = z.record(LegalFormCodeSchema, z.string().trim().min(1));

export const EligibilityFlagSchema = z.enum(['eligible', 'to_check', 'ineligible']);

export const EligibilityRulesSchema = z.object({
  /** Where the codes come from: name, version and address of the nomenclature. */
  source: z.object({ name: z.string().min(1), version: z.string().min(1), url: z.url() }),
  eligible: CodeListSchema,
  toCheck: CodeListSchema,
  /** How a dossier whose legal form is eligible is flagged when the beta.gouv.fr commitment is not ticked. */
  withoutBetaGouvCommitment: EligibilityFlagSchema.exclude(['eligible']),
}).superRefine((rules, ctx) => {
  for (const code of Object.keys(rules.toCheck)) {
    if (code in rules.eligible) ctx.addIssue({ code: 'custom', path: ['toCheck', code], message: `code ${code} is both eligible and to check` });
  }
  if (Object.keys(rules.eligible).length === 0) ctx.addIssue({ code: 'custom', path: ['eligible'], message: 'no eligible code' });
});
export type EligibilityRules = z.infer<typeof EligibilityRulesSchema>;
