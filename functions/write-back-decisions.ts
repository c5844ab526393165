import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { InvalidScheduleEventError } from '#core/errors';
import { hasNothingToDo, requesterKind } from '#core/rounds/scheduled-run';
import {
  incompleteWriteBackError, WriteBackRefusedError, writeBackDeadline, writeBackDecisions, type WriteBackRequest, type WriteBackResult,
} from '#core/write-back/write-back-decisions';
import { WriteBackEnvSchema, WriteBackEventSchema } from '#schemas/write-back';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { writeBackDependencies } from '#shared/write-back-dependencies';

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
const dependencies = writeBackDependencies(loadConfig(WriteBackEnvSchema));

async function run(event: unknown, context?: Context): Promise<WriteBackResult | { nothingToDo: true; reason: string }> {
  const parsed = WriteBackEventSchema.safeParse(event ?? {});
  if (!parsed.success) throw new InvalidScheduleEventError(`invalid write-back event:\n${z.prettifyError(parsed.error)}`);
  const { round, dryRun, recheck, actor } = parsed.data;
  const deadline = writeBackDeadline(context?.getRemainingTimeInMillis?.(), new Date());
  const request: WriteBackRequest = { ...(round ? { roundId: round } : {}), dryRun, recheck, actor, ...(deadline ? { deadline } : {}) };
  let result: WriteBackResult;
  try {
    result = await writeBackDecisions(request, await dependencies);
  } catch (error) {
    if (!(error instanceof WriteBackRefusedError)) throw error;
    const refusal = { round: error.roundId, reason: error.reason, detail: error.message };
    if (hasNothingToDo(request, error)) {
      logger.warn('write-back: nothing to do', refusal);
      return { nothingToDo: true, reason: error.reason };
    }
    logger.error('write-back refused', refusal);
    throw error;
  }
  logger.info('write-back done', { round: result.roundId, dryRun, by: requesterKind(actor), ...result.summary });
  const incomplete = incompleteWriteBackError(result);
  if (incomplete) throw incomplete;
  return result;
}

export const handler = middy(run).use(injectLambdaContext(logger));
