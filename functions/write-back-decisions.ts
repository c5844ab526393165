import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { InvalidScheduleEventError } from '#core/errors';
import { WriteBackRefusedError, writeBackDecisions, type WriteBackDependencies, type WriteBackResult } from '#core/write-back/write-back-decisions';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundDossiers } from '#adapters/dynamodb/round-dossiers';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { DynamoWriteBackRepository } from '#adapters/dynamodb/write-back-repository';
import { DsMutations } from '#adapters/ds-api/ds-mutations';
import { WriteBackEnvSchema, WriteBackEventSchema } from '#schemas/write-back';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { resolveSecret } from '#shared/secrets';

/**
 * Schedule (infra/schedules.ts `write-back-decisions`, only on stages with `writeBack.enabled`)
 * or staff (`{"round": "2026-03", "dryRun": true, "actor": "staff:jdupont"}`) -> the decisions of
 * a closed round written back to DS (functions/core/write-back/write-back-decisions.ts). With
 * its own write token (DS_WRITE_TOKEN_SECRET_ARN), never the read token.
 *
 * Idempotent: a rerun sends only what is left. A dossier DS refused fails the run after the
 * others are done (so Lambda retries, then the schedules' dead-letter queue and its alarm see
 * it); a scheduled run with no closed round has nothing to do. Logs counts, never names.
 */
const env = loadConfig(WriteBackEnvSchema);
const documentClient = createDocumentClient();
const dossierRepository = new DynamoDossierRepository({ client: documentClient, tableName: env.TABLE_NAME });
const dependencies: Promise<WriteBackDependencies> = resolveSecret(env, 'DS_WRITE_TOKEN').then((token) => ({
  rounds: new DynamoRoundRepository({ client: documentClient, tableName: env.TABLE_NAME }),
  dossiers: new DynamoRoundDossiers({ dossiers: dossierRepository }),
  store: new DynamoWriteBackRepository({ client: documentClient, tableName: env.TABLE_NAME }),
  ds: new DsMutations({
    url: env.DS_API_URL, token, instructeurId: env.WRITE_BACK_SETTINGS.instructeurId, timeoutMs: env.DS_API_TIMEOUT_SECONDS * 1000,
    onRetry: (notice) => logger.warn('DS call retried', { ...notice }),
  }),
  settings: env.WRITE_BACK_SETTINGS,
  clock: { now: () => new Date() },
}));

/** Stop between two dossiers this long before the Lambda's deadline: a dossier takes at most a few DS calls. */
const DEADLINE_MARGIN_MS = 60_000;

export class WriteBackIncompleteError extends Error {
  override name = 'WriteBackIncompleteError';
}

async function run(event: unknown, context?: Context): Promise<WriteBackResult | { nothingToDo: true; reason: string }> {
  const parsed = WriteBackEventSchema.safeParse(event ?? {});
  if (!parsed.success) throw new InvalidScheduleEventError(`invalid write-back event:\n${z.prettifyError(parsed.error)}`);
  const { round, dryRun, recheck, actor } = parsed.data;
  const remaining = context?.getRemainingTimeInMillis?.();
  const deadline = remaining ? new Date(Date.now() + remaining - DEADLINE_MARGIN_MS) : undefined;
  let result: WriteBackResult;
  try {
    result = await writeBackDecisions({ ...(round ? { roundId: round } : {}), dryRun, recheck, actor, ...(deadline ? { deadline } : {}) }, await dependencies);
  } catch (error) {
    if (!(error instanceof WriteBackRefusedError)) throw error;
    const refusal = { round: error.roundId, reason: error.reason, detail: error.message };
    if (actor === 'schedule' && !round && error.reason === 'no_round') {
      logger.warn('write-back: nothing to do', refusal);
      return { nothingToDo: true, reason: error.reason };
    }
    logger.error('write-back refused', refusal);
    throw error;
  }
  logger.info('write-back done', { round: result.roundId, dryRun, by: actor === 'schedule' ? 'schedule' : 'staff', ...result.summary });
  const failed = Number(result.summary.failed ?? 0);
  const left = Number(result.summary.not_attempted ?? 0);
  if (!dryRun && (failed > 0 || left > 0)) {
    throw new WriteBackIncompleteError(`write-back of round ${result.roundId}: ${failed} dossier(s) failed, ${left} not attempted `
      + `(${String(result.summary.stoppedEarly ?? 'DS refused or conflicts')}); see the WRITEBACK# records or \`ds-selection rounds write-back --round ${result.roundId} --dry-run\`, fix, run again`);
  }
  return result;
}

export const handler = middy(run).use(injectLambdaContext(logger));
