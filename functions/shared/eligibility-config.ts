import * as z from 'zod';
import { EligibilityRulesSchema, type EligibilityRules } from '#schemas/eligibility';
import { ConfigurationError } from '#core/errors';
import eligibilityConfig from '../../schemas/eligibility-config.json' with { type: 'json' };

/** Validates an eligibility configuration; a bad one throws ConfigurationError naming what is wrong. */
export function parseEligibilityRules(raw: unknown, source = 'schemas/eligibility-config.json'): EligibilityRules {
  const parsed = EligibilityRulesSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigurationError(`Invalid eligibility configuration (${source}):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The eligibility rules, validated when the module loads: a bad file stops the function (or the
 * CLI) at start rather than flagging dossiers wrongly. Imported statically so bundlers include it.
 */
export const ELIGIBILITY_RULES: EligibilityRules = parseEligibilityRules(eligibilityConfig);
