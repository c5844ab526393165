import { createError } from '@middy/util';
import { V2WebhookBodySchema } from '#schemas/ds-webhook';
import { ReceiveWebhookV2EnvSchema, splitV2SigningSecrets } from '#schemas/env';
import { verifySignedRequest } from '#core/standard-webhooks';
import { hintFromV2Event } from '#core/webhook-hints';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { WebhookEventLog } from '#adapters/dynamodb/webhook-event-log';
import { createSqsClient } from '#adapters/sqs/client';
import { SqsIngestQueue } from '#adapters/sqs/ingest-queue';
import { loadConfig } from '#shared/config';
import { json, limitBodySize, parseJson, requireServedDemarche, validateBody, type HttpEvent } from '#shared/http';
import { httpEndpoint } from '#shared/middy';
import { logger } from '#shared/powertools';
import { resolveSecret } from '#shared/secrets';

/**
 * POST /webhooks/ds-v2: DS webhooks v2 (Standard Webhooks signature, batches of up to 100
 * thin events, at-least-once). Verifies the signature over the raw body, queues one hint
 * per event not seen before (dedupe on `sequence`) and answers at once.
 */
export const MAX_BODY_BYTES = 256 * 1024;

const config = loadConfig(ReceiveWebhookV2EnvSchema);
// Several secrets, space separated, are accepted while one is being rotated; each one was
// checked (whsec_ and at least 24 bytes) by the configuration or by resolveSecret.
const secrets = resolveSecret(config, 'DS_WEBHOOK_V2_SECRET').then(splitV2SigningSecrets);
const queue = new SqsIngestQueue({ client: createSqsClient(), queueUrl: config.INGEST_QUEUE_URL });
const eventLog = new WebhookEventLog({ client: createDocumentClient(), tableName: config.TABLE_NAME });

async function receiveDsWebhookV2(event: HttpEvent) {
  const verification = verifySignedRequest({
    id: event.headers['webhook-id'],
    timestamp: event.headers['webhook-timestamp'],
    signature: event.headers['webhook-signature'],
    body: event.rawBody!,
  }, await secrets, new Date());
  if (!verification.ok) throw createError(401, `signature rejected: ${verification.reason}`);

  const body = validateBody(V2WebhookBodySchema, parseJson(event.rawBody!.toString('utf8')));
  requireServedDemarche(body.demarche_number, config.DS_DEMARCHE_NUMBER);
  const fresh = await eventLog.unseen(body.webhook_id, body.events);
  const receivedAt = new Date();
  // Queue first, then remember: a crash in between re-queues on DS's retry, never loses an event.
  await queue.send(fresh.map((e) => hintFromV2Event(body.demarche_number, e, receivedAt)));
  await eventLog.markSeen(body.webhook_id, fresh);
  logger.info('webhook v2 queued', { demarche: body.demarche_number, events: body.events.length, queued: fresh.length });
  return json(200, { received: body.events.length, queued: fresh.length, duplicates: body.events.length - fresh.length });
}

export const handler = httpEndpoint(receiveDsWebhookV2).use(limitBodySize(MAX_BODY_BYTES));
