import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { SECRET_RULES } from '#schemas/env';
import { ConfigurationError } from '#core/errors';

/** Seconds a secret read from Secrets Manager is kept: a rotated secret is picked up without a redeploy. */
const SECRET_MAX_AGE_SECONDS = 15 * 60;

/**
 * The value of secret `name`: `env[name]` when set (local mode, tests), else the Secrets
 * Manager secret whose ARN is in `env[name + '_SECRET_ARN']`. Functions call this at module
 * load (cold start) and await the promise in the handler.
 *
 * Either way the value must pass the secret's rule (schemas/env.ts SECRET_RULES): a value put
 * by hand in Secrets Manager (`whsec_` alone, a short token) would otherwise weaken the check
 * it feeds, e.g. webhook signatures made with an empty key. Errors name the secret, never its value.
 */
export async function resolveSecret(env: Record<string, unknown>, name: string): Promise<string> {
  const direct = env[name];
  if (typeof direct === 'string' && direct.length > 0) return checked(name, direct, name);
  const arn = env[`${name}_SECRET_ARN`];
  if (typeof arn !== 'string') throw new ConfigurationError(`${name} (or ${name}_SECRET_ARN) is required`);
  const value = await getSecret(arn, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(`secret ${name} is empty: fill it with "aws secretsmanager put-secret-value --secret-id ${arn}"`);
  }
  return checked(name, value, `secret ${name} (${arn})`);
}

function checked(name: string, value: string, where: string): string {
  const rule = SECRET_RULES[name];
  if (!rule) return value.trim();
  const parsed = rule.safeParse(value);
  if (!parsed.success) {
    // The rule's message describes the expected form; zod's issues never quote the input.
    throw new ConfigurationError(`${where} is invalid: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  return parsed.data;
}
