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

const optionalSetting = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/**
 * Local mode only (`npm start`): every variable the local stack reads, checked before anything
 * starts. `scheduleNames` are the schedules RUN_SCHEDULES_AT_START may name (infra/schedules.ts).
 */
export const localEnvSchema = (scheduleNames: readonly string[]) => z.object({
  PORT: z.coerce.number('must be a port number').int().min(0).max(65535).default(3000),
  /** The mail page (local SES) and the DS simulator; default PORT + 1 and PORT + 2 (0: any free port). */
  MAIL_PORT: optionalSetting(z.coerce.number('must be a port number').int().min(0).max(65535)),
  DS_SIMULATOR_PORT: optionalSetting(z.coerce.number('must be a port number').int().min(0).max(65535)),
  DATA_DIR: nonEmpty.default('.data'),
  DS_DEMARCHE_NUMBER: optionalSetting(demarcheNumbers),
  DS_API_URL: optionalSetting(z.url('must be the URL of the DS GraphQL endpoint')),
  DS_API_TOKEN: optionalSetting(nonEmpty),
  WEBHOOK_TOKEN: optionalSetting(z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 letters, digits, - or _ (it goes in a URL)')),
  DS_WEBHOOK_V2_SECRET: optionalSetting(z.string().regex(/^whsec_\S+( whsec_\S+)*$/, 'must be whsec_... secrets, separated by spaces')),
  REVIEW_LINK_SECRET: optionalSetting(z.string().min(32, 'must be at least 32 characters')),
  LOG_LEVEL: optionalSetting(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR'], 'must be DEBUG, INFO, WARN or ERROR')),
  DS_SIMULATOR_VIRUS_SCAN_SECONDS: optionalSetting(z.coerce.number('must be a number of seconds').nonnegative().max(3600)),
  RUN_SCHEDULES_AT_START: optionalSetting(z.string().transform((v) => v.split(',').map((n) => n.trim()).filter(Boolean)).pipe(
    z.array(z.enum(scheduleNames as [string, ...string[]], `must name schedules among ${scheduleNames.join(', ')} (comma separated)`)),
  )),
}).refine((env) => !(env.DS_API_URL && !env.DS_API_TOKEN), { message: 'DS_API_URL needs DS_API_TOKEN (without a token the local DS simulator is used)', path: ['DS_API_TOKEN'] });
