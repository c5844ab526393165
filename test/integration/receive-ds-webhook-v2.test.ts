import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sign } from '#core/standard-webhooks';
import { startDynalite } from '../helpers/dynamodb-engines.ts';
import { httpEvent, lambdaContext, withEnv } from '../helpers/lambda.ts';

// The v2 receiver against a real DynamoDB engine (dynalite) for its dedupe log; SQS is mocked
// to observe what is queued.
const SECRET = 'whsec_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=';
const sqs = mockClient(SQSClient);
let handler: (event: unknown, context: unknown) => Promise<any>;
let engine: Awaited<ReturnType<typeof startDynalite>>;
let restoreEnv: () => void;

const queued = () => sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));
const now = () => String(Math.floor(Date.now() / 1000));

/** A freshly signed delivery (the sample's own signature is for its 2026-03-05 timestamp). */
function delivery(body: object, { secret = SECRET, timestamp = now(), id = 'msg_42_1_2' } = {}) {
  const raw = JSON.stringify(body);
  return httpEvent('ds-webhook-v2.json', { body: raw }, {
    'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': sign(secret, id, timestamp, Buffer.from(raw)),
  });
}
const event = (sequence: number, dossier = 23456789, type = 'dossier_modifie') =>
  ({ sequence, type, dossier_number: dossier, timestamp: '2026-03-05T14:22:10+01:00' });
const batch = (events: object[], demarche = 98765) => ({ webhook_id: 'V2ViaG9vay00Mg==', demarche_number: demarche, events });

beforeAll(async () => {
  engine = await startDynalite();
  restoreEnv = withEnv({
    DS_DEMARCHE_NUMBER: '98765', INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest',
    TABLE_NAME: engine.tableName, DS_WEBHOOK_V2_SECRET: SECRET, AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint,
    AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/receive-ds-webhook-v2.ts')).handler as unknown as typeof handler;
});
afterAll(async () => { restoreEnv(); await engine.stop(); });
beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [],
  }));
});

describe('receive-ds-webhook-v2', () => {
  it('accepts the DS signed sample at its own timestamp and queues one hint per event', async () => {
    vi.useFakeTimers({ now: 1772716967_000, toFake: ['Date'] });
    try {
      const response = await handler(httpEvent('ds-webhook-v2.json'), lambdaContext());
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ received: 2, queued: 2, duplicates: 0 });
    } finally {
      vi.useRealTimers();
    }
    expect(queued().map((m) => [m.dossierNumber, m.hint.sequence, m.hint.eventType])).toEqual([
      [23456789, 918273, 'dossier_depose'], [23456790, 918275, 'dossier_depose'],
    ]);
  });

  it('deduplicates on sequence across deliveries and inside one', async () => {
    await handler(delivery(batch([event(10), event(11)])), lambdaContext());
    const response = await handler(delivery(batch([event(11), event(12), event(12)])), lambdaContext());
    expect(JSON.parse(response.body)).toMatchObject({ received: 3, queued: 1 });
    expect(queued().map((m) => m.hint.sequence)).toEqual([10, 11, 12]);
  });

  it('answers 401 for a bad signature, a wrong secret or a stale timestamp, and queues nothing', async () => {
    const wrongSecret = delivery(batch([event(20)]), { secret: 'whsec_' + Buffer.alloc(32, 1).toString('base64') });
    const stale = delivery(batch([event(21)]), { timestamp: String(Math.floor(Date.now() / 1000) - 301) });
    const tampered = delivery(batch([event(22)]));
    tampered.body = tampered.body.replace('"sequence":22', '"sequence":23');
    for (const request of [wrongSecret, stale, tampered]) {
      expect((await handler(request, lambdaContext())).statusCode).toBe(401);
    }
    expect(queued()).toEqual([]);
  });

  it('verifies the raw bytes of a base64 body', async () => {
    const request = delivery(batch([event(30)]));
    const response = await handler({ ...request, body: Buffer.from(request.body).toString('base64'), isBase64Encoded: true }, lambdaContext());
    expect(response.statusCode).toBe(200);
  });

  it('answers 400 naming the bad field of a signed but malformed batch', async () => {
    const response = await handler(delivery(batch([{ ...event(40), dossier_number: 'x' }])), lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('events.0.dossier_number');
  });

  it('answers 422 for another démarche and 413 for an oversized body', async () => {
    expect((await handler(delivery(batch([event(50)], 11111)), lambdaContext())).statusCode).toBe(422);
    const big = delivery({ ...batch([event(51)]), padding: 'x'.repeat(300 * 1024) });
    expect((await handler(big, lambdaContext())).statusCode).toBe(413);
    expect(queued()).toEqual([]);
  });

  it('does not remember events it failed to queue, so a DS retry queues them', async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error('ServiceUnavailable'));
    expect((await handler(delivery(batch([event(60)])), lambdaContext())).statusCode).toBeGreaterThanOrEqual(500);
    sqs.on(SendMessageBatchCommand).callsFake((input) => ({
      Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: '' })), Failed: [],
    }));
    const retry = await handler(delivery(batch([event(60)])), lambdaContext());
    expect(JSON.parse(retry.body)).toMatchObject({ queued: 1 });
  });

  // Issue 7: ids taken from the request are bounded at the edge. A `webhook_id` of ~2 KB made
  // the dedupe key `WEBHOOK#<id>` pass DynamoDB's 2,048-byte partition key limit: a 500, which
  // DS retries for a day. Now a clear 400 naming the field, and nothing is queued or stored.
  it.each([
    ['webhook_id', { webhook_id: 'A'.repeat(2_100) }],
    ['webhook_id', { webhook_id: 'A'.repeat(129) }],
    ['webhook_id', { webhook_id: 'V2ViaG9vay00Mg==\u0000#SEQ' }],
    ['webhook_id', { webhook_id: '' }],
    ['demarche_number', { demarche_number: 2 ** 31 }],
    ['events.0.dossier_number', { events: [event(70, 2 ** 31)] }],
    ['events.0.dossier_number', { events: [event(71, 1e20)] }],
    ['events.0.sequence', { events: [event(1e15)] }],
    ['events.0.sequence', { events: [event(2 ** 53)] }],
    ['events.0.type', { events: [event(72, 23456789, 'x'.repeat(65))] }],
    ['events.0.type', { events: [event(73, 23456789, 'Dossier Modifié')] }],
  ])('answers 400 naming %s when it is out of bounds, and queues nothing', async (field, patch) => {
    const response = await handler(delivery({ ...batch([event(69)]), ...patch }), lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain(`${field}:`);
    expect(queued()).toEqual([]);
  });

  it('accepts ids at their bounds', async () => {
    const atBounds = { ...batch([event(10 ** 15 - 1, 2 ** 31 - 1)], 98765), webhook_id: 'A'.repeat(128) };
    const response = await handler(delivery(atBounds), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(queued()).toEqual([expect.objectContaining({ dossierNumber: 2 ** 31 - 1 })]);
  });
});
