import * as z from 'zod';
import { RetentionConfigSchema, type RetentionConfig } from '#schemas/retention';
import { ConfigurationError } from '#core/errors';
import retentionConfig from '../../schemas/retention-config.json' with { type: 'json' };

/** Validates a retention configuration; a bad one throws ConfigurationError naming what is wrong. */
export function parseRetentionConfig(raw: unknown, source = 'schemas/retention-config.json'): RetentionConfig {
  const parsed = RetentionConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigurationError(`Invalid retention configuration (${source}):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The retention figures, validated when the module loads: a bad file stops `cdk synth` (the
 * lifecycle rule is derived from it), the purge function at cold start and the CLI, instead of
 * purging on a wrong figure. Imported statically so the bundler includes it.
 */
export const RETENTION_CONFIG: RetentionConfig = parseRetentionConfig(retentionConfig);
