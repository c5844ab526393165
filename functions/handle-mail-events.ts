import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { MailEventsEnvSchema, SesEventBridgeEventSchema, sesEventIssues } from '#schemas/ses-event';
import { InvalidMailEventError } from '#core/mail-events/errors';
import {
  handleMailEvent, summaryOf, unsentStaffMailsError, type MailEventDependencies, type MailEventResult,
} from '#core/mail-events/handle-mail-event';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { createSesClient } from '#adapters/ses/client';
import { SesMailer } from '#adapters/ses/mailer';
import { loadConfig } from '#shared/config';
import { logger } from '#shared/powertools';
import { ROUNDS_CONFIG } from '#shared/rounds-config';

/**
 * EventBridge rule (SES events of the stack's configuration set: bounces, complaints, rejects,
 * deliveries) -> one event -> functions/core/mail-events. Thin: parse, run the use case, log ids
 * and counts (never an address: the events are full of them).
 *
 * A malformed event fails the invocation (EventBridge invokes asynchronously: Lambda retries
 * twice, then the schedules' dead-letter queue and the errors alarm see it); so does a staff mail
 * SES refused, once the suppression is stored: the retry only sends what is still owed.
 */
const env = loadConfig(MailEventsEnvSchema);
const config = { ...ROUNDS_CONFIG, mailFrom: env.MAIL_FROM ?? ROUNDS_CONFIG.mailFrom };
const dependencies: MailEventDependencies = {
  rounds: new DynamoRoundRepository({ client: createDocumentClient(), tableName: env.TABLE_NAME }),
  mailer: new SesMailer({ client: createSesClient(), from: config.mailFrom, configurationSetName: env.SES_CONFIGURATION_SET }),
  config,
  clock: { now: () => new Date() },
};

async function handle(event: unknown): Promise<MailEventResult> {
  const parsed = SesEventBridgeEventSchema.safeParse(event);
  if (!parsed.success) {
    const issues = sesEventIssues(parsed.error);
    logger.error('mail event refused', { reason: 'invalid_event', issues });
    throw new InvalidMailEventError(issues);
  }
  const result = await handleMailEvent(parsed.data.detail, dependencies);
  logger.info('mail event handled', { eventId: parsed.data.id, ...summaryOf(result) });
  const incomplete = unsentStaffMailsError(result);
  if (incomplete) throw incomplete;
  return result;
}

export const handler = middy(handle).use(injectLambdaContext(logger));
