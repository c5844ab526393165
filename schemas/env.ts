import { z } from 'zod';

/**
 * The environment, local and Lambda alike. Each function parses only the part it needs,
 * once at start-up, and fails fast with a message naming the variable.
 *
 * Secrets come either as plain values (local mode, tests) or, in Lambda, as the ARN of a
 * Secrets Manager secret in `<NAME>_SECRET_ARN`, read once at cold start.
 */

export const demarcheNumbers = z
  .string()
  .trim()
  .regex(/^\d+(\s*,\s*\d+)*$/, 'must be a démarche number, or several separated by commas (98765,98766)')
  .transform((value) => value.split(',').map((n) => Number(n.trim())));

export const nonEmpty = z.string().trim().min(1, 'must not be empty');

export const DEFAULT_DS_API_URL = 'https://demarche.numerique.gouv.fr/api/v2/graphql';

/** A secret: the value itself, or the ARN of the secret that holds it. */
export const secret = <K extends string>(name: K) =>
  z.object({
    [name]: nonEmpty.optional(),
    [`${name}_SECRET_ARN`]: z.string().startsWith('arn:', 'must be a Secrets Manager ARN').optional(),
  } as Record<K | `${K}_SECRET_ARN`, z.ZodOptional<z.ZodString>>).refine(
    (env) => (env as Record<string, unknown>)[name] !== undefined || (env as Record<string, unknown>)[`${name}_SECRET_ARN`] !== undefined,
    { message: `${name} (or ${name}_SECRET_ARN) is required`, path: [name] },
  );

export const queueUrl = z.url('must be the URL of the ingest queue');
export const dsApiUrl = z.url('must be the URL of the DS GraphQL endpoint').default(DEFAULT_DS_API_URL);
/** Seconds before a DS call is abandoned (DS's own query timeout is 30 s). */
export const dsApiTimeoutSeconds = z.coerce.number().int().positive().max(120).default(35);

export const ReceiveWebhookEnvSchema = z
  .object({
    DS_DEMARCHE_NUMBER: demarcheNumbers,
    INGEST_QUEUE_URL: queueUrl,
  })
  .and(secret('WEBHOOK_TOKEN'));
export type ReceiveWebhookEnv = z.infer<typeof ReceiveWebhookEnvSchema>;

export const ReceiveWebhookV2EnvSchema = z
  .object({
    DS_DEMARCHE_NUMBER: demarcheNumbers,
    INGEST_QUEUE_URL: queueUrl,
    TABLE_NAME: nonEmpty,
  })
  .and(secret('DS_WEBHOOK_V2_SECRET'));
export type ReceiveWebhookV2Env = z.infer<typeof ReceiveWebhookV2EnvSchema>;

export const IngestDossierEnvSchema = z
  .object({
    DS_API_URL: dsApiUrl,
    TABLE_NAME: nonEmpty,
    BUCKET_NAME: nonEmpty,
    DS_API_TIMEOUT_SECONDS: dsApiTimeoutSeconds,
  })
  .and(secret('DS_API_TOKEN'));
export type IngestDossierEnv = z.infer<typeof IngestDossierEnvSchema>;

/** Local mode only. */
export const LocalEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: nonEmpty.default('.data'),
});
