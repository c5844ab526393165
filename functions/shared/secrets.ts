import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { ConfigurationError } from '#core/errors';

/** Seconds a secret read from Secrets Manager is kept: a rotated secret is picked up without a redeploy. */
const SECRET_MAX_AGE_SECONDS = 15 * 60;

/**
 * The value of secret `name`: `env[name]` when set (local mode, tests), else the Secrets
 * Manager secret whose ARN is in `env[name + '_SECRET_ARN']`. Functions call this at module
 * load (cold start) and await the promise in the handler.
 */
export async function resolveSecret(env: Record<string, unknown>, name: string): Promise<string> {
  const direct = env[name];
  if (typeof direct === 'string' && direct.length > 0) return direct;
  const arn = env[`${name}_SECRET_ARN`];
  if (typeof arn !== 'string') throw new ConfigurationError(`${name} (or ${name}_SECRET_ARN) is required`);
  const value = await getSecret(arn, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(`secret ${name} is empty: fill it with "aws secretsmanager put-secret-value --secret-id ${arn}"`);
  }
  return value.trim();
}
