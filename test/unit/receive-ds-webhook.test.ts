import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpEvent, lambdaContext, withEnv } from '../helpers/lambda.ts';

const TOKEN = '8f3c2a7e1d9b4f60a5c2e7d8b1f04a93';
const sqs = mockClient(SQSClient);
let handler: (event: unknown, context: unknown) => Promise<any>;
let restoreEnv: () => void;

const queued = () => sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));
const post = (patch: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  handler(httpEvent('ds-webhook-legacy.json', patch, headers), lambdaContext());
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FIELDS = { procedure_id: '98765', dossier_id: '23456789', state: 'en_construction', updated_at: '2026-03-05 14:22:10 +0100' };

beforeAll(async () => {
  restoreEnv = withEnv({
    DS_DEMARCHE_NUMBER: '98765,98766', INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest',
    WEBHOOK_TOKEN: TOKEN, AWS_REGION: 'eu-west-3', POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/receive-ds-webhook.ts')).handler as unknown as typeof handler;
});
afterAll(() => restoreEnv());
beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [],
  }));
});

describe('receive-ds-webhook', () => {
  it('queues the sample DS webhook as a hint and answers 200 without calling DS', async () => {
    const response = await post();
    expect(response.statusCode).toBe(200);
    expect(queued()).toEqual([{
      demarcheNumber: 98765, dossierNumber: 23456789,
      hint: { source: 'webhook', state: 'en_construction', updatedAt: '2026-03-05T13:22:10.000Z', receivedAt: expect.any(String) },
    }]);
  });

  it('answers 404 and queues nothing when the token is wrong or missing', async () => {
    expect((await post({ pathParameters: { token: TOKEN.slice(0, -1) + '0' } })).statusCode).toBe(404);
    expect((await post({ pathParameters: {} })).statusCode).toBe(404);
    expect(queued()).toEqual([]);
  });

  it('decodes a base64 body from API Gateway', async () => {
    const response = await post({ body: Buffer.from(form(FIELDS)).toString('base64'), isBase64Encoded: true });
    expect(response.statusCode).toBe(200);
    expect(queued()[0].dossierNumber).toBe(23456789);
  });

  it('accepts a JSON body', async () => {
    const response = await post({ body: JSON.stringify({ ...FIELDS, dossier_id: 7 }) }, { 'content-type': 'application/json; charset=utf-8' });
    expect(response.statusCode).toBe(200);
    expect(queued()[0].dossierNumber).toBe(7);
  });

  it('answers 400 naming the bad field', async () => {
    const response = await post({ body: form({ ...FIELDS, dossier_id: 'douze' }) });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('dossier_id');
    expect(queued()).toEqual([]);
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await post({ body: '{"procedure_id":' }, { 'content-type': 'application/json' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('not valid JSON');
  });

  it('answers 413 above 16 KiB, before parsing', async () => {
    const response = await post({ body: form({ ...FIELDS, padding: 'x'.repeat(16 * 1024) }) });
    expect(response.statusCode).toBe(413);
  });

  it('answers 415 for another content type', async () => {
    const response = await post({}, { 'content-type': 'text/plain' });
    expect(response.statusCode).toBe(415);
    expect(queued()).toEqual([]);
  });

  it('answers 422 for a démarche this deployment does not serve', async () => {
    const response = await post({ body: form({ ...FIELDS, procedure_id: '11111' }) });
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain('démarche 11111 is not served here');
    expect(queued()).toEqual([]);
  });

  it('answers 5xx when the queue refuses the message, so the failure is visible', async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error('ServiceUnavailable'));
    const response = await post();
    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect(response.body).not.toContain('ServiceUnavailable');
  });

  // Issue 7: every id taken from the request is bounded at the edge. DS numbers are GraphQL
  // `Int` (32-bit): a bigger one can never be a dossier, so it is refused, not queued.
  it.each([
    ['dossier_id', { dossier_id: String(2 ** 31) }],
    ['procedure_id', { procedure_id: String(2 ** 31) }],
    ['dossier_id', { dossier_id: '9'.repeat(400) }],
    ['dossier_id', { dossier_id: '0' }],
    ['updated_at', { updated_at: `2026-03-05 14:22:10 +0100${' '.repeat(100)}x` }],
  ])('answers 400 naming %s when it is out of bounds, and queues nothing', async (field, patch) => {
    const response = await post({ body: form({ ...FIELDS, ...patch }) });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain(field);
    expect(queued()).toEqual([]);
  });

  it('accepts the largest GraphQL Int as a dossier number', async () => {
    const response = await post({ body: form({ ...FIELDS, dossier_id: String(2 ** 31 - 1) }) });
    expect(response.statusCode).toBe(200);
    expect(queued()[0].dossierNumber).toBe(2 ** 31 - 1);
  });
});
