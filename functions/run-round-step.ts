import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { RoundStepEnvSchema, RoundStepEventSchema } from '#schemas/round-step-env';
import { InvalidScheduleEventError } from '#core/errors';
import {
  nothingToDoResult, RoundStepRefusedError, runRoundStep, summaryOf, unsentMailsError, type RoundStepRequest, type RoundStepResult,
} from '#core/rounds/run-round-step';
import { hasNothingToDo, requesterKind } from '#core/rounds/scheduled-run';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { roundStepDependencies } from '#shared/round-step-dependencies';

/**
 * Schedule (infra/schedules.ts: `{"step": ...}` for open, close-submissions, remind,
 * close-selection) or staff (`aws lambda invoke`, with `round`, `dryRun`, `actor`, `force`) -> one round
 * step (functions/core/rounds/README.md). Idempotent: a double fire changes and sends nothing.
 * Logs ids, statuses and counts only, never names, emails or scores.
 *
 * A scheduled step with no round at all to work on (the first cycle after a deploy) has nothing
 * to do: it says so and succeeds. Any other refusal, and mails left unsent, fail the run: Lambda
 * retries it (a step fired again without `round` takes the round it already moved on, and sends
 * only the mails still owed), then the schedules' dead-letter queue and its alarm see it.
 */
const dependencies = roundStepDependencies(loadConfig(RoundStepEnvSchema));

async function runStep(event: unknown): Promise<RoundStepResult> {
  const parsed = RoundStepEventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidScheduleEventError(`invalid round step event:\n${z.prettifyError(parsed.error)}`);
  const { step, round, dryRun, actor, force } = parsed.data;
  const request: RoundStepRequest = { step, dryRun, actor, force, ...(round ? { roundId: round } : {}) };
  let result: RoundStepResult;
  try {
    result = await runRoundStep(request, await dependencies);
  } catch (error) {
    if (!(error instanceof RoundStepRefusedError)) throw error;
    // Refusals name rounds and steps only.
    const refusal = { step, round: error.roundId, reason: error.reason, detail: error.message };
    if (!hasNothingToDo(request, error)) {
      logger.error('round step refused', refusal);
      throw error;
    }
    logger.warn('round step: nothing to do', refusal);
    return nothingToDoResult(request, error.reason);
  }
  logger.info('round step done', { ...summaryOf(result), by: requesterKind(actor) });
  const incomplete = unsentMailsError(result);
  if (incomplete) throw incomplete;
  return result;
}

export const handler = middy(runStep).use(injectLambdaContext(logger));
