import * as z from 'zod';
import { demarcheNumbers, dsApiTimeoutSeconds, dsApiUrl, nonEmpty, queueUrl, secret } from './env.ts';

/**
 * The environment of reconcile-dossiers. The shared variables use the validators of
 * schemas/env.ts, so a démarche list, a DS URL or a secret is read the same way by every function.
 */

const minutes = (fallback: number) => z.coerce.number().int().min(0).max(7 * 24 * 60).default(fallback);

export const ReconcileEnvSchema = z
  .object({
    DS_DEMARCHE_NUMBER: demarcheNumbers,
    DS_API_URL: dsApiUrl,
    DS_API_TIMEOUT_SECONDS: dsApiTimeoutSeconds,
    TABLE_NAME: nonEmpty,
    INGEST_QUEUE_URL: queueUrl,
    /** Listed from the cursor minus this many seconds: a DS update committed late is still seen. */
    RECONCILE_OVERLAP_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
    /** files_pending dossiers are queued again only once their version is this old... */
    RECONCILE_FILES_PENDING_MIN_AGE_MINUTES: minutes(60),
    /** ...and at most once per this many minutes per démarche. */
    RECONCILE_FILES_PENDING_INTERVAL_MINUTES: minutes(60),
  })
  .and(secret('DS_API_TOKEN'));
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
