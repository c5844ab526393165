import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { RoundStepEnvSchema, RoundStepEventSchema } from '#schemas/round-step-env';
import { InvalidScheduleEventError } from '#core/errors';
import { RoundStepIncompleteError } from '#core/rounds/errors';
import { RoundStepRefusedError, runRoundStep, summaryOf, type RoundStepDependencies, type RoundStepResult } from '#core/rounds/run-round-step';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundDossiers } from '#adapters/dynamodb/round-dossiers';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { S3ReportStore } from '#adapters/s3/report-store';
import { createS3Client } from '#adapters/s3/client';
import { createSesClient } from '#adapters/ses/client';
import { SesMailer } from '#adapters/ses/mailer';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { eligibilityOf } from '#core/eligibility';
import { JURY_CONFIG } from '#shared/jury-config';
import { ELIGIBILITY_RULES } from '#shared/eligibility-config';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import { resolveSecret } from '#shared/secrets';

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
const env = loadConfig(RoundStepEnvSchema);
const config = { ...ROUNDS_CONFIG, mailFrom: env.MAIL_FROM ?? ROUNDS_CONFIG.mailFrom };

const documentClient = createDocumentClient();
const dependencies: Promise<RoundStepDependencies> = resolveSecret(env, 'REVIEW_LINK_SECRET').then((secret) => ({
  rounds: new DynamoRoundRepository({ client: documentClient, tableName: env.TABLE_NAME }),
  dossiers: new DynamoRoundDossiers({ dossiers: new DynamoDossierRepository({ client: documentClient, tableName: env.TABLE_NAME }) }),
  mailer: new SesMailer({ client: createSesClient(), from: config.mailFrom, configurationSetName: env.SES_CONFIGURATION_SET }),
  reports: new S3ReportStore({ client: createS3Client(), bucket: env.BUCKET_NAME }),
  config,
  clock: { now: () => new Date() },
  reviewLinks: { baseUrl: env.REVIEW_PAGE_URL, secret },
  // The report flags each dossier's eligibility under this deployment's rules (it decides nothing).
  eligibilityOf: (dossier) => eligibilityOf(dossier.project, ELIGIBILITY_RULES),
  jury: JURY_CONFIG,
}));

async function runStep(event: unknown): Promise<RoundStepResult> {
  const parsed = RoundStepEventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidScheduleEventError(`invalid round step event:\n${z.prettifyError(parsed.error)}`);
  const { step, round, dryRun, actor, force } = parsed.data;
  const request = { step, dryRun, actor, force, ...(round ? { roundId: round } : {}) };
  let result: RoundStepResult;
  try {
    result = await runRoundStep(request, await dependencies);
  } catch (error) {
    if (!(error instanceof RoundStepRefusedError)) throw error;
    // Refusals name rounds and steps only.
    const refusal = { step, round: error.roundId, reason: error.reason, detail: error.message };
    if (actor !== 'schedule' || round || error.reason !== 'no_round') {
      logger.error('round step refused', refusal);
      throw error;
    }
    logger.warn('round step: nothing to do', refusal);
    return { step, roundId: null, dryRun, changed: false, status: null, summary: { nothingToDo: true, reason: error.reason } };
  }
  logger.info('round step done', { ...summaryOf(result), by: actor === 'schedule' ? 'schedule' : 'staff' });
  const failures = Number(result.summary.mailFailures ?? 0);
  if (failures > 0) {
    throw new RoundStepIncompleteError(`${step} of round ${result.roundId ?? '(several)'}: ${failures} mail(s) not sent (SES refused or failed them); `
      + 'running the step again sends those only');
  }
  return result;
}

export const handler = middy(runStep).use(injectLambdaContext(logger));
