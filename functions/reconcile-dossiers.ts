import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { ReconcileEnvSchema, ReconcileEventSchema } from '#schemas/reconcile-env';
import { InvalidScheduleEventError, ReconcileFailedError } from '#core/errors';
import { reconcileDossiers, summarize, type ReconcileDependencies, type ReconcileSummary } from '#core/reconcile';
import { DsGraphqlClient } from '#adapters/ds-api/graphql-client';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoSyncCursorRepository } from '#adapters/dynamodb/sync-cursor-repository';
import { createSqsClient } from '#adapters/sqs/client';
import { SqsIngestQueue } from '#adapters/sqs/ingest-queue';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { resolveSecret } from '#shared/secrets';

/**
 * Schedule (every 10 minutes, infra/schedules.ts) -> reconcile-dossiers: queue what DS changed
 * or deleted since the last run, and the dossiers stuck in files_pending, then move the
 * per-démarche cursor. Logs counts only. Fails (so the scheduler's dead-letter queue and alarm
 * see it) when a démarche could not be reconciled; the others still moved on.
 */
const config = loadConfig(ReconcileEnvSchema);

/** Attempts per DS call, and the longest wait between two. */
const DS_ATTEMPTS = 3;
const DS_MAX_DELAY_MS = 10_000;
/** Time a run keeps before its deadline to finish a page, queue it and save the cursor. */
export const RESERVE_MS = DS_ATTEMPTS * config.DS_API_TIMEOUT_SECONDS * 1000 + (DS_ATTEMPTS - 1) * DS_MAX_DELAY_MS + 10_000;

const documentClient = createDocumentClient();
const dependencies: Promise<ReconcileDependencies> = resolveSecret(config, 'DS_API_TOKEN').then((token) => ({
  ds: new DsGraphqlClient({
    url: config.DS_API_URL, token, timeoutMs: config.DS_API_TIMEOUT_SECONDS * 1000, maxAttempts: DS_ATTEMPTS, maxDelayMs: DS_MAX_DELAY_MS,
    onRetry: (notice) => logger.warn('DS call retried', { ...notice }),
  }),
  queue: new SqsIngestQueue({ client: createSqsClient(), queueUrl: config.INGEST_QUEUE_URL }),
  cursors: new DynamoSyncCursorRepository({ client: documentClient, tableName: config.TABLE_NAME }),
  dossiers: new DynamoDossierRepository({ client: documentClient, tableName: config.TABLE_NAME }),
  clock: { now: () => new Date() },
}));

async function reconcile(event: unknown, context: Context): Promise<ReconcileSummary> {
  const parsed = ReconcileEventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidScheduleEventError(`invalid reconcile event:\n${z.prettifyError(parsed.error)}`);
  const { since } = parsed.data;
  const report = await reconcileDossiers(await dependencies, {
    demarches: config.DS_DEMARCHE_NUMBER,
    runId: context.awsRequestId,
    ...(since ? { since } : {}),
    overlapMs: config.RECONCILE_OVERLAP_SECONDS * 1000,
    filesPending: {
      minAgeMs: config.RECONCILE_FILES_PENDING_MIN_AGE_MINUTES * 60_000,
      intervalMs: config.RECONCILE_FILES_PENDING_INTERVAL_MINUTES * 60_000,
    },
    shouldStop: () => context.getRemainingTimeInMillis() < RESERVE_MS,
  });
  const summary = summarize(report);
  for (const { error, demarche } of report.demarches) {
    // Error names and messages only: ours and the adapters' never carry dossier content.
    if (error) logger.error('démarche not reconciled', { demarche, error: error.name, reason: error.message });
  }
  logger.info('reconciliation done', { ...summary, since: since ?? null });
  if (report.failed > 0) {
    throw new ReconcileFailedError(`${report.failed} of ${report.demarches.length} démarche(s) not reconciled (see the log above); the next run retries`);
  }
  return summary;
}

export const handler = middy(reconcile).use(injectLambdaContext(logger));
