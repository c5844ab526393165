import * as z from 'zod';
import { RoundsConfigNameSchema } from './rounds.ts';

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

/*
 * What a secret must look like, checked when the configuration loads (a plain value, here) and
 * when it is read from Secrets Manager (functions/shared/secrets.ts): a weak or malformed secret
 * stops the function at cold start, naming the variable, never showing the value.
 */

/** The legacy webhook token goes in the URL path: URL-safe, and long enough not to be guessed. */
export const webhookToken = z.string().trim()
  .regex(/^[A-Za-z0-9_-]{32,128}$/, 'must be 32 to 128 letters, digits, - or _ (it goes in a URL)');

/** The key that signs reviewers' review links (HMAC-SHA256). */
export const reviewLinkSecret = z.string().trim()
  .min(32, 'must be at least 32 characters')
  .max(1024, 'must be at most 1024 characters');

/**
 * Standard Webhooks keys are `whsec_` + standard base64 (DS: 32 random bytes). The reference
 * library (standardwebhooks) refuses a key that decodes to nothing; we also refuse short keys
 * (an HMAC key of a few bytes is guessable) and lenient base64 (Buffer.from would silently
 * drop bad characters and sign with what is left).
 */
export const MIN_V2_SECRET_BYTES = 24;
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Whether one `whsec_` secret is well formed (and decodes to at least MIN_V2_SECRET_BYTES). */
export function isV2SigningSecret(secret: string): boolean {
  if (!secret.startsWith('whsec_')) return false;
  const base64 = secret.slice('whsec_'.length);
  return STANDARD_BASE64.test(base64) && Buffer.from(base64, 'base64').length >= MIN_V2_SECRET_BYTES;
}

/** Several secrets, space separated, are accepted while one is being rotated. */
export function splitV2SigningSecrets(value: string): string[] {
  return value.trim().split(/\s+/);
}

export const v2SigningSecrets = z.string().trim().refine(
  (value) => value.length > 0 && splitV2SigningSecrets(value).every(isV2SigningSecret),
  `must be whsec_ secrets (whsec_ then the base64 of at least ${MIN_V2_SECRET_BYTES} bytes), separated by spaces`,
);

/** The rule of each secret that has one; others (the DS API token, issued by DS) must only be non-empty. */
export const SECRET_RULES: Readonly<Record<string, z.ZodType<string, string>>> = {
  WEBHOOK_TOKEN: webhookToken,
  DS_WEBHOOK_V2_SECRET: v2SigningSecrets,
  REVIEW_LINK_SECRET: reviewLinkSecret,
};

/** A secret: the value itself, or the ARN of the secret that holds it. */
export const secret = <K extends string>(name: K) =>
  z.object({
    [name]: ((SECRET_RULES[name] as z.ZodString | undefined) ?? nonEmpty).optional(),
    [`${name}_SECRET_ARN`]: z.string().startsWith('arn:', 'must be a Secrets Manager ARN').optional(),
  } as Record<K | `${K}_SECRET_ARN`, z.ZodOptional<z.ZodString>>).refine(
    (env) => (env as Record<string, unknown>)[name] !== undefined || (env as Record<string, unknown>)[`${name}_SECRET_ARN`] !== undefined,
    { message: `${name} (or ${name}_SECRET_ARN) is required`, path: [name] },
  );

export const queueUrl = z.url('must be the URL of the ingest queue');

/**
 * What every function that mails reviewers links needs (run-round-step, serve-review-page): where
 * the links point, the sender, the SES configuration set, and which rounds configuration is used.
 */
export const reviewerMailEnv = {
  /** Base URL of the review page the personal links in the mails point to. */
  REVIEW_PAGE_URL: z.url('must be the base URL of the review page, e.g. https://xyz.execute-api.eu-west-3.amazonaws.com/'),
  /** Overrides the sender of schemas/rounds-config.json (`mailFrom`), e.g. per stage. */
  MAIL_FROM: z.email('must be an email address (an SES-verified identity)').optional(),
  /** The SES configuration set every mail goes through (bounce and complaint suppression, events). */
  SES_CONFIGURATION_SET: nonEmpty.optional(),
  /**
   * Which bundled rounds configuration (criteria, capacity, ceiling) this deployment uses:
   * `eig-2024` (schemas/rounds-config.json, the default) or `eig-2022`. Read by
   * functions/shared/rounds-config.ts when it loads; declared here so a wrong name is named.
   */
  ROUNDS_CONFIG: RoundsConfigNameSchema.optional(),
};
export const dsApiUrl = z.url('must be the URL of the DS GraphQL endpoint').default(DEFAULT_DS_API_URL);

/** DS's rate limit: requests a minute per API token (rack-attack, docs/ds-api.md). */
export const DS_RATE_LIMIT_PER_MINUTE = 400;

/**
 * The share of DS's 400 requests a minute per token that the ingest worker may spend: 20 are
 * left for what else reads with the same token (reconciliation's and `ds-selection sync`'s
 * listing pages, a handful a run). Split across the ingest function's instances by
 * infra/pipeline-settings.ts (`dsRequestsPerMinutePerInstance`); the local stack gives all of it
 * to its one process.
 */
export const DS_API_REQUEST_BUDGET_PER_MINUTE = 380;

/**
 * DS_API_REQUESTS_PER_MINUTE: DS requests a minute this process sends with its token, at most
 * (functions/adapters/ds-api/request-pacer.ts). Default: the whole budget, for a process alone
 * with the token; the stack sets each Lambda instance's share.
 */
const requestsPerMinute = z.coerce.number('must be a number of requests a minute')
  .int('must be a whole number of requests a minute').positive('must be at least 1');
export const dsApiRequestsPerMinute = requestsPerMinute.default(DS_API_REQUEST_BUDGET_PER_MINUTE);
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
    /** The démarches served: a dossier DS returns for another one is not stored. */
    DS_DEMARCHE_NUMBER: demarcheNumbers,
    DS_API_URL: dsApiUrl,
    TABLE_NAME: nonEmpty,
    BUCKET_NAME: nonEmpty,
    DS_API_TIMEOUT_SECONDS: dsApiTimeoutSeconds,
    DS_API_REQUESTS_PER_MINUTE: dsApiRequestsPerMinute,
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
  /** The ingest worker's pace (default: DS_API_REQUEST_BUDGET_PER_MINUTE, the whole budget: one process). */
  DS_API_REQUESTS_PER_MINUTE: optionalSetting(requestsPerMinute),
  // The same rules as the functions' (SECRET_RULES): a value npm start accepts, the handlers accept.
  WEBHOOK_TOKEN: optionalSetting(webhookToken),
  DS_WEBHOOK_V2_SECRET: optionalSetting(v2SigningSecrets),
  REVIEW_LINK_SECRET: optionalSetting(reviewLinkSecret),
  LOG_LEVEL: optionalSetting(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR'], 'must be DEBUG, INFO, WARN or ERROR')),
  DS_SIMULATOR_VIRUS_SCAN_SECONDS: optionalSetting(z.coerce.number('must be a number of seconds').nonnegative().max(3600)),
  /** `1`: write a closed round's decisions back to DS (the simulator, or DS with the two below). */
  DS_WRITE_BACK: optionalSetting(z.enum(['0', '1', 'true', 'false'], 'must be 1 (write decisions back to DS) or 0')),
  DS_WRITE_TOKEN: optionalSetting(nonEmpty),
  DS_INSTRUCTEUR_ID: optionalSetting(nonEmpty),
  RUN_SCHEDULES_AT_START: optionalSetting(z.string().transform((v) => v.split(',').map((n) => n.trim()).filter(Boolean)).pipe(
    z.array(z.enum(scheduleNames as [string, ...string[]], `must name schedules among ${scheduleNames.join(', ')} (comma separated)`)),
  )),
}).refine((env) => !(env.DS_API_URL && !env.DS_API_TOKEN), { message: 'DS_API_URL needs DS_API_TOKEN (without a token the local DS simulator is used)', path: ['DS_API_TOKEN'] })
  .refine((env) => !((env.DS_WRITE_BACK === '1' || env.DS_WRITE_BACK === 'true') && env.DS_API_TOKEN && !(env.DS_WRITE_TOKEN && env.DS_INSTRUCTEUR_ID)), {
    message: 'against the real DS (DS_API_TOKEN set), DS_WRITE_BACK needs DS_WRITE_TOKEN (a token with write access) and DS_INSTRUCTEUR_ID', path: ['DS_WRITE_BACK'],
  });
