import { LegacyWebhookBodySchema } from '#schemas/ds-webhook';
import { ReceiveWebhookEnvSchema } from '#schemas/env';
import { sameToken } from '#core/standard-webhooks';
import { hintFromLegacyWebhook } from '#core/webhook-hints';
import { createSqsClient } from '#adapters/sqs/client';
import { SqsIngestQueue } from '#adapters/sqs/ingest-queue';
import { loadConfig } from '#shared/config';
import {
  json, limitBodySize, parseFormOrJsonBody, requirePathToken, requireServedDemarche, validateBody, type HttpEvent,
} from '#shared/http';
import { httpEndpoint } from '#shared/middy';
import { logger } from '#shared/powertools';
import { resolveSecret } from '#shared/secrets';

/**
 * POST /webhooks/ds/{token}: the legacy DS webhook (form POST, unsigned, never retried).
 * Authenticates by the path token, validates, queues a hint and answers at once; the
 * dossier itself is read from DS later by ingest-dossier.
 */
export const MAX_BODY_BYTES = 16 * 1024;

const config = loadConfig(ReceiveWebhookEnvSchema);
const webhookToken = resolveSecret(config, 'WEBHOOK_TOKEN');
const queue = new SqsIngestQueue({ client: createSqsClient(), queueUrl: config.INGEST_QUEUE_URL });

async function receiveDsWebhook(event: HttpEvent) {
  const body = validateBody(LegacyWebhookBodySchema, event.parsedBody);
  requireServedDemarche(body.procedure_id, config.DS_DEMARCHE_NUMBER);
  await queue.send([hintFromLegacyWebhook(body, new Date())]);
  logger.info('webhook queued', { demarche: body.procedure_id, dossier: body.dossier_id, state: body.state });
  return json(200, { queued: 1, dossier: body.dossier_id });
}

export const handler = httpEndpoint(receiveDsWebhook)
  .use(requirePathToken(() => webhookToken, sameToken))
  .use(limitBodySize(MAX_BODY_BYTES))
  .use(parseFormOrJsonBody());
