import { z } from 'zod';
import { RoundsConfigSchema, type RoundsConfig } from '#schemas/rounds';
import { ConfigurationError } from '#core/errors';
import roundsConfig from '../../schemas/rounds-config.json' with { type: 'json' };

/**
 * The rounds configuration (schemas/rounds-config.json: capacity, criteria, staff, sender),
 * validated when the module loads: a bad file stops the function at cold start, and `cdk synth`
 * too (the stack derives the sender's SES identity from it).
 */
export function parseRoundsConfig(raw: unknown, source = 'schemas/rounds-config.json'): RoundsConfig {
  const parsed = RoundsConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigurationError(`Invalid rounds configuration (${source}):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export const ROUNDS_CONFIG: RoundsConfig = parseRoundsConfig(roundsConfig);
