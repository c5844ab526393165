import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { ReconcileEnvSchema, ReconcileEventSchema } from '#schemas/reconcile-env';
import { InvalidScheduleEventError } from '#core/errors';
import {
  reconcileDossiers, reserveBeforeDeadlineMs, summarize, unreconciledDemarches, unreconciledError, type ReconcileSummary,
} from '#core/reconcile';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { reconcileDependencies } from '#shared/reconcile-dependencies';

/**
 * Schedule (every 10 minutes, infra/schedules.ts) -> reconcile-dossiers: queue what DS changed
 * or deleted since the last run, and the dossiers stuck in files_pending, then move the
 * per-démarche cursor. Logs counts only. Fails (so the scheduler's dead-letter queue and alarm
 * see it) when a démarche could not be reconciled; the others still moved on.
 */
const config = loadConfig(ReconcileEnvSchema);
const dependencies = reconcileDependencies(config);
const reserveMs = reserveBeforeDeadlineMs(config.DS_API_TIMEOUT_SECONDS * 1000);

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
    shouldStop: () => context.getRemainingTimeInMillis() < reserveMs,
  });
  for (const failure of unreconciledDemarches(report)) logger.error('démarche not reconciled', failure);
  const summary = summarize(report);
  logger.info('reconciliation done', { ...summary, since: since ?? null });
  const failed = unreconciledError(report);
  if (failed) throw failed;
  return summary;
}

export const handler = middy(reconcile).use(injectLambdaContext(logger));
