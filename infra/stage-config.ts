import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { DEFAULT_DS_API_URL } from '#schemas/env';
import { RoundsConfigNameSchema } from '#schemas/rounds';
import { WriteBackStageSchema } from '#schemas/write-back';
import { INGEST_PIPELINE, MAX_INGEST_CONCURRENCY } from '#infra/pipeline-settings';

/**
 * One deployment of the stack (`dev`, `prod`, ...): infra/stages/<name>.json, parsed by this
 * schema when the CDK app starts. A bad file stops `cdk synth` with a message naming the field.
 */

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A route's token bucket: steady requests per second, and how many may come at once. */
export interface RouteThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * Default per-route throttles (docs/deploy.md section 7 explains the sizes):
 * - webhook: each DS webhook route. DS sends a few requests a minute, a few a second at most when
 *   many dossiers are deposited before a deadline.
 * - reviewPage: each page route of the review page (list, dossier, form POST, attachment link):
 *   a committee of about 40 people, a click every few seconds each.
 * - reviewAssets: the DSFR stylesheet, fonts and icons: about 8 files on a browser's first load,
 *   several reviewers opening their mail at once; cached for a year afterwards.
 * - reviewNotFound: any other path under /review: only typos and scanners land there.
 */
export const ROUTE_THROTTLE_DEFAULTS = {
  webhook: { rateLimit: 5, burstLimit: 10 },
  reviewPage: { rateLimit: 10, burstLimit: 20 },
  reviewAssets: { rateLimit: 20, burstLimit: 50 },
  reviewNotFound: { rateLimit: 1, burstLimit: 5 },
} as const satisfies Record<string, RouteThrottle>;

/**
 * Default reserved concurrency of the functions behind the API (40 in all: an account with the
 * usual quota of 1,000 keeps far more than the 100 unreserved executions Lambda requires). Each
 * webhook receiver's reservation holds its route's whole burst, so DS meets the API's 429 (which
 * v2 retries) before Lambda's throttle; the review page's holds a burst of pages plus assets.
 */
export const RESERVED_CONCURRENCY_DEFAULTS = {
  'receive-ds-webhook': 10,
  'receive-ds-webhook-v2': 10,
  'serve-review-page': 20,
} as const;

function throttleSchema(defaults: RouteThrottle) {
  return z
    .object({
      rateLimit: z.number().positive('must be positive requests per second').max(10000).default(defaults.rateLimit),
      burstLimit: z.number().int().min(1, 'must be at least 1').max(5000).default(defaults.burstLimit),
    })
    .strict()
    .prefault({});
}

function reservationSchema(defaultValue: number) {
  // 0 would stop the function altogether: refuse it rather than deploy a dead webhook.
  return z.number().int().min(1, 'must be at least 1 (use null for no reservation)').max(900).nullable().default(defaultValue);
}

export const StageConfigSchema = z
  .object({
    /** Stage name, used in the stack name `DsSelection-<name>` and in resource tags. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,19}$/, 'must be lower-case letters, digits and dashes, starting with a letter (at most 20 characters)'),
    /** AWS account to deploy to; when absent, the CLI's account (CDK_DEFAULT_ACCOUNT) is used. */
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-3').default('eu-west-3'),
    /** The démarche(s) this deployment accepts webhooks for and ingests (DS_DEMARCHE_NUMBER). */
    demarcheNumbers: z
      .array(z.number().int('must be a whole number').positive('must be a positive démarche number'))
      .min(1, 'must list at least one démarche number'),
    dsApiUrl: z.url('must be the URL of the DS GraphQL endpoint').default(DEFAULT_DS_API_URL),
    /**
     * Put the ingest function (the only one calling DS) behind one NAT gateway with a fixed
     * Elastic IP, so the DS API token can be restricted to that IP (mandatory for tokens
     * created since 1 July 2026). Costs a NAT gateway (about 35 EUR a month plus traffic).
     */
    fixedEgressIp: z.boolean().default(false),
    /**
     * With fixedEgressIp: the two AZs of the VPC (default `<region>a`, `<region>b`). Given here
     * rather than looked up so `cdk synth` needs no AWS credentials.
     */
    availabilityZones: z
      .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'must be availability zone names such as eu-west-3a'))
      .length(2, 'must name exactly two availability zones')
      .optional(),
    logRetentionDays: z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be one of the CloudWatch Logs retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(90),
    /** Powertools / Lambda application log level. */
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
    /** What happens to the table, buckets, secrets and EIP when the stack is deleted. */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    /**
     * Timeout of the ingest function; the queue's visibility timeout is 6 times this. Default:
     * infra/pipeline-settings.ts, which the local runtime uses too.
     */
    ingestTimeoutSeconds: z
      .number()
      .int()
      .min(30, 'must be at least 30 seconds')
      .max(900, 'must be at most 900 seconds (the Lambda limit)')
      .default(INGEST_PIPELINE.functionTimeoutSeconds),
    ingestMemoryMb: z.number().int().min(256, 'must be at least 256 MB').max(10240, 'must be at most 10240 MB').default(1024),
    /**
     * Maximum concurrent ingest invocations (SQS event source maxConcurrency, 2 to 20). Each
     * instance paces its DS requests with an equal share of INGEST_PIPELINE.dsRequestBudgetPerMinute
     * (dsRequestsPerMinutePerInstance) and may go one over it in a minute: at most 20 instances
     * keep DS's 400 requests/minute (MAX_INGEST_CONCURRENCY). More would not ingest faster: DS's
     * limit, not the instances, sets the pace of a backlog.
     */
    ingestMaxConcurrency: z
      .number()
      .int()
      .min(2, 'must be at least 2 (SQS event source minimum)')
      .max(MAX_INGEST_CONCURRENCY, `must be at most ${MAX_INGEST_CONCURRENCY}: the instances share DS's 400 requests a minute, each paced with its share (more would not ingest faster)`)
      .default(INGEST_PIPELINE.maxConcurrency),
    /** DS_API_TIMEOUT_SECONDS: how long one DS call may take; must leave room in the function timeout. */
    dsApiTimeoutSeconds: z.number().int().positive().max(120).default(35),
    /** One address subscribed to the alarm topic (kept for existing stage files; `alarmEmails` takes several). */
    alarmEmail: z.email('must be an email address').optional(),
    /** Staff addresses subscribed to the alarm topic; each confirms from the mail AWS sends. */
    alarmEmails: z.array(z.email('must be email addresses')).default([]),
    /**
     * Per-route throttles of the HTTP API (each route key gets its own token bucket, so junk on
     * one route cannot spend another's), by kind of route (routeThrottleKind in infra/constructs/intake-api.ts).
     */
    routeThrottles: z
      .object({
        webhook: throttleSchema(ROUTE_THROTTLE_DEFAULTS.webhook),
        reviewPage: throttleSchema(ROUTE_THROTTLE_DEFAULTS.reviewPage),
        reviewAssets: throttleSchema(ROUTE_THROTTLE_DEFAULTS.reviewAssets),
        reviewNotFound: throttleSchema(ROUTE_THROTTLE_DEFAULTS.reviewNotFound),
      })
      .strict()
      .prefault({}),
    /**
     * Reserved concurrency of the functions behind the public API: a cap, so a flood cannot take
     * the account's concurrency from everything else. `null`: no reservation (an account whose
     * Lambda quota is still 10 cannot reserve any: Lambda keeps 100 unreserved, or all of 10).
     */
    reservedConcurrency: z
      .object({
        'receive-ds-webhook': reservationSchema(RESERVED_CONCURRENCY_DEFAULTS['receive-ds-webhook']),
        'receive-ds-webhook-v2': reservationSchema(RESERVED_CONCURRENCY_DEFAULTS['receive-ds-webhook-v2']),
        'serve-review-page': reservationSchema(RESERVED_CONCURRENCY_DEFAULTS['serve-review-page']),
      })
      .strict()
      .prefault({}),
    /**
     * The rounds configuration of this stage (criteria, capacity, ceiling), by name: `eig-2024`
     * (schemas/rounds-config.json, the default) or `eig-2022` (schemas/rounds-config-2022.json).
     * The stack sets it as ROUNDS_CONFIG on the functions; the CLI reads it for --stage.
     */
    roundsConfig: RoundsConfigNameSchema.optional(),
    /** Sender of the round mails in this stage (MAIL_FROM); default: `mailFrom` of schemas/rounds-config.json. */
    mailFrom: z.email('must be an email address').optional(),
    /**
     * The SES identity (a domain, or an email address) verified in the account that the sender
     * belongs to: run-round-step may send as this identity only. Default: the sender's domain.
     */
    mailFromIdentity: z
      .string()
      .regex(/^([^@\s]+@)?([a-z0-9-]+\.)+[a-z]{2,}$/i, 'must be a domain (example.gouv.fr) or an email address verified in SES')
      .optional(),
    /**
     * Decisions written back to DS (docs/deploy.md section 16): off by default. On, the stack adds
     * the write-back-decisions function, its schedule and the write token's secret.
     */
    writeBack: WriteBackStageSchema.optional(),
  })
  .strict()
  .superRefine((stage, ctx) => {
    if (stage.name === 'prod' && stage.removalPolicy !== 'retain') {
      ctx.addIssue({ code: 'custom', path: ['removalPolicy'], message: 'must be "retain" for the prod stage' });
    }
    if (stage.availabilityZones?.some((az) => !az.startsWith(stage.region))) {
      ctx.addIssue({ code: 'custom', path: ['availabilityZones'], message: `must be zones of region ${stage.region}` });
    }
    if (stage.mailFrom && stage.mailFromIdentity && !senderBelongsTo(stage.mailFrom, stage.mailFromIdentity)) {
      ctx.addIssue({ code: 'custom', path: ['mailFromIdentity'], message: `must be the address ${stage.mailFrom} or its domain (or a parent domain)` });
    }
    if (stage.dsApiTimeoutSeconds * 2 > stage.ingestTimeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['dsApiTimeoutSeconds'],
        message: `must be at most half of ingestTimeoutSeconds (${stage.ingestTimeoutSeconds}) so a retried DS call still fits in the function timeout`,
      });
    }
  });

/** True when SES identity `identity` (an address or a domain) covers sender `email`. */
export function senderBelongsTo(email: string, identity: string): boolean {
  const [sender, id] = [email.toLowerCase(), identity.toLowerCase()];
  if (id.includes('@')) return sender === id;
  const domain = sender.slice(sender.lastIndexOf('@') + 1);
  return domain === id || domain.endsWith(`.${id}`);
}

export type StageConfigInput = z.input<typeof StageConfigSchema>;
export type StageConfig = z.output<typeof StageConfigSchema>;

export class StageConfigError extends Error {
  override readonly name = 'StageConfigError';
}

/** Parses a stage object; throws a StageConfigError naming the source and each bad field. */
export function parseStageConfig(raw: unknown, source = 'stage config'): StageConfig {
  const result = StageConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new StageConfigError(`Invalid ${source}:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export const STAGES_DIR = fileURLToPath(new URL('./stages/', import.meta.url));

/** Reads and parses infra/stages/<name>.json (the file's `name` must match). */
export function loadStageConfig(name: string, dir: string = STAGES_DIR): StageConfig {
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(name)) {
    throw new StageConfigError(`Invalid stage name "${name}": use lower-case letters, digits and dashes (e.g. -c stage=prod)`);
  }
  const file = `${dir.replace(/\/?$/, '/')}${name}.json`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new StageConfigError(`No stage config for "${name}": expected ${file} (create it from infra/stages/dev.json)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StageConfigError(`Invalid ${file}: not JSON (${(error as Error).message})`);
  }
  const stage = parseStageConfig(raw, file);
  if (stage.name !== name) {
    throw new StageConfigError(`Invalid ${file}:\n✖ must describe stage "${name}", not "${stage.name}"\n  → at name`);
  }
  return stage;
}
