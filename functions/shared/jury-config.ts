import * as z from 'zod';
import { JuryConfigSchema, type JuryConfig } from '#schemas/jury';
import { ConfigurationError } from '#core/errors';
import juryConfig from '../../schemas/jury-config.json' with { type: 'json' };

/**
 * The jury's conflict rules (schemas/jury-config.json, docs/jury.md), validated when the module
 * loads: a bad file stops the function at cold start, not in the middle of an assignment.
 */
export function parseJuryConfig(raw: unknown, source = 'schemas/jury-config.json'): JuryConfig {
  const parsed = JuryConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigurationError(`Invalid jury configuration (${source}):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export const JURY_CONFIG: JuryConfig = parseJuryConfig(juryConfig);
