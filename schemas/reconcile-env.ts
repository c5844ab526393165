import { z } from 'zod';
import { IngestDossierEnvSchema, ReceiveWebhookEnvSchema } from './env.ts';

/**
 * The environment of reconcile-dossiers. The shared variables reuse the exact validators of
 * schemas/env.ts (taken from the schemas it exports), so a démarche list, a DS URL or a secret
 * is read the same way by every function.
 */
const ingest = IngestDossierEnvSchema.def.left.shape;
const receiver = ReceiveWebhookEnvSchema.def.left.shape;
/** `DS_API_TOKEN`, or `DS_API_TOKEN_SECRET_ARN` in Lambda. */
const dsApiToken = IngestDossierEnvSchema.def.right;

const minutes = (fallback: number) => z.coerce.number().int().min(0).max(7 * 24 * 60).default(fallback);

export const ReconcileEnvSchema = z
  .object({
    DS_DEMARCHE_NUMBER: receiver.DS_DEMARCHE_NUMBER,
    DS_API_URL: ingest.DS_API_URL,
    DS_API_TIMEOUT_SECONDS: ingest.DS_API_TIMEOUT_SECONDS,
    TABLE_NAME: ingest.TABLE_NAME,
    INGEST_QUEUE_URL: receiver.INGEST_QUEUE_URL,
    /** Listed from the cursor minus this many seconds: a DS update committed late is still seen. */
    RECONCILE_OVERLAP_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
    /** files_pending dossiers are queued again only once their version is this old... */
    RECONCILE_FILES_PENDING_MIN_AGE_MINUTES: minutes(60),
    /** ...and at most once per this many minutes per démarche. */
    RECONCILE_FILES_PENDING_INTERVAL_MINUTES: minutes(60),
  })
  .and(dsApiToken);
export type ReconcileEnv = z.infer<typeof ReconcileEnvSchema>;

/**
 * What EventBridge Scheduler (or staff invoking the function by hand) sends: `{}`, or
 * `{ "since": "<ISO instant>" }` to list again from an earlier instant.
 */
export const ReconcileEventSchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true, error: 'since must be an ISO 8601 instant, e.g. 2026-03-01T00:00:00+01:00' }).optional(),
  })
  .nullish()
  .transform((event) => event ?? {});
export type ReconcileEvent = z.output<typeof ReconcileEventSchema>;
