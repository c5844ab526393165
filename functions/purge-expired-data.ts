import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { PurgeEnvSchema, PurgeEventSchema } from '#schemas/retention';
import { InvalidScheduleEventError } from '#core/errors';
import { purgeExpiredData, type PurgeExpiredDataReport } from '#core/retention/purge-expired-data';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoPurgeRepository } from '#adapters/dynamodb/purge-repository';
import { createS3Client } from '#adapters/s3/client';
import { S3PurgeStore } from '#adapters/s3/purge-store';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { RETENTION_CONFIG } from '#shared/retention-config';

/**
 * Schedules (infra/schedules.ts) -> purge-expired-data: every 10 minutes the dossiers DS deleted
 * (`deleted-dossiers`), daily those and the closed rounds past their retention (`all`);
 * functions/core/retention/ decides, docs/data-protection.md explains. Logs counts only.
 */
const config = loadConfig(PurgeEnvSchema);
/** Time kept before the deadline to finish one dossier and write the round's audit record. */
const RESERVE_MS = 30_000;

const deps = {
  repository: new DynamoPurgeRepository({ client: createDocumentClient(), tableName: config.TABLE_NAME }),
  objects: new S3PurgeStore({ client: createS3Client(), bucket: config.BUCKET_NAME }),
  clock: { now: () => new Date() },
  policy: RETENTION_CONFIG,
};

async function purge(event: unknown, context: Context): Promise<PurgeExpiredDataReport> {
  const parsed = PurgeEventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidScheduleEventError(`invalid purge event:\n${z.prettifyError(parsed.error)}`);
  const report = await purgeExpiredData(deps, {
    scope: parsed.data.scope,
    actor: parsed.data.actor,
    maxDossiers: RETENTION_CONFIG.maxDossiersPerRun,
    shouldStop: () => context.getRemainingTimeInMillis() < RESERVE_MS,
  });
  // Counts, round ids and flags only: never a dossier's content.
  logger.info('purge done', { ...report });
  return report;
}

export const handler = middy(purge).use(injectLambdaContext(logger));
