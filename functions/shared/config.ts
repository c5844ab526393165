import * as z from 'zod';
import { ConfigurationError } from '#core/errors';

/**
 * Parses the environment with `schema`, or throws a ConfigurationError that names every
 * bad variable. Called at module load, so a misconfigured function fails at cold start.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(`Invalid configuration:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
