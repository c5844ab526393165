import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { IngestDossierEnvSchema } from '#schemas/env';
import { IngestMessageSchema } from '#schemas/ingest-message';
import { ingestDossier, type IngestDependencies } from '#core/ingest-dossier';
import { DsGraphqlClient } from '#adapters/ds-api/graphql-client';
import { sharedPacer } from '#adapters/ds-api/request-pacer';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { createS3Client } from '#adapters/s3/client';
import { S3AttachmentStore } from '#adapters/s3/attachment-store';
import { SqsRedelivery } from '#adapters/sqs/redelivery';
import { INGEST_PIPELINE } from '#infra/pipeline-settings';
import { loadConfig } from '#shared/config';
import { EIG_FORM_MAPPING } from '#shared/form-mapping';
import { logger } from '#shared/powertools';
import { resolveSecret } from '#shared/secrets';

/**
 * SQS -> ingest-dossier: each message is a hint "dossier N changed". A record fails (and SQS
 * delivers it again, then to the DLQ after 5 receives) when DS or S3 fails, or when a file
 * is not final yet (virus scan pending, expired URL): nothing is acknowledged half done.
 * Each failed record is hidden for a delay that grows with its receive count
 * (INGEST_PIPELINE.retryDelaysSeconds: 1, 5, 15 minutes), not the queue's 30 minutes, or for
 * as long as DS's rate limiter asked when that is longer (DsRateLimitedError.retryAfterMs).
 * Every DS request of this instance waits for the token's shared pacer
 * (DS_API_REQUESTS_PER_MINUTE, this instance's share of DS's limit), so a backlog goes at DS's
 * pace instead of into its 429s.
 */
const config = loadConfig(IngestDossierEnvSchema);
const documentClient = createDocumentClient();
const dependencies: Promise<IngestDependencies> = resolveSecret(config, 'DS_API_TOKEN').then((token) => ({
  // 4 attempts of at most DS_API_TIMEOUT_SECONDS plus waits of at most 15 s: bounded well inside the function timeout.
  ds: new DsGraphqlClient({
    url: config.DS_API_URL, token, timeoutMs: config.DS_API_TIMEOUT_SECONDS * 1000, maxAttempts: 4, maxDelayMs: 15_000,
    pacer: sharedPacer(config.DS_API_URL, token, config.DS_API_REQUESTS_PER_MINUTE),
  }),
  dossiers: new DynamoDossierRepository({ client: documentClient, tableName: config.TABLE_NAME }),
  // Only getRound is used (a GetItem on ROUND#<id>): the function's table grant already covers it.
  rounds: new DynamoRoundRepository({ client: documentClient, tableName: config.TABLE_NAME }),
  files: new S3AttachmentStore({ client: createS3Client(), bucket: config.BUCKET_NAME }),
  mapping: EIG_FORM_MAPPING,
  clock: { now: () => new Date() },
  servedDemarches: config.DS_DEMARCHE_NUMBER,
}));
const redelivery = new SqsRedelivery(INGEST_PIPELINE.retryDelaysSeconds);

/** Thrown to have SQS deliver the message again later; not a fault. */
export class NotFinalYetError extends Error {
  override name = 'NotFinalYetError';
}

async function ingestRecord(record: SQSRecord): Promise<void> {
  try {
    const message = IngestMessageSchema.parse(JSON.parse(record.body));
    const outcome = await ingestDossier(message, await dependencies);
    if (outcome.result === 'refused') {
      // Numbers only: the dossier, the démarche DS says it belongs to, the one the message claimed.
      logger.warn('dossier of a démarche not served: not stored, message acknowledged', {
        dossierNumber: outcome.number, demarcheNumber: outcome.demarcheNumber, claimedDemarcheNumber: message.demarcheNumber, messageId: record.messageId,
      });
      return;
    }
    logger.info('dossier ingested', { ...outcome, messageId: record.messageId });
    if (outcome.retryLater) {
      throw new NotFinalYetError(`dossier ${outcome.number}: ${outcome.filesPending} file(s) not archived yet`);
    }
  } catch (error) {
    const { name, message } = error as Error;
    if (error instanceof NotFinalYetError) logger.info('message will be delivered again', { messageId: record.messageId, reason: message });
    else logger.error('message failed', { messageId: record.messageId, error: name, reason: message });
    const { receiveCount, delaySeconds, refusedWith } = await redelivery.delay(record, error);
    if (refusedWith) logger.warn('could not delay the message: the queue\'s visibility timeout applies', { messageId: record.messageId, error: refusedWith });
    else logger.info('message delayed', { messageId: record.messageId, receiveCount, delaySeconds });
    throw error;
  }
}

const processor = new BatchProcessor(EventType.SQS);

export const handler = middy(async (event: SQSEvent, context: Context) =>
  // A batch where every record must wait is not a fault: report them all as failures, don't throw.
  processPartialResponse(event, ingestRecord, processor, { context, throwOnFullBatchFailure: false }),
).use(injectLambdaContext(logger));
