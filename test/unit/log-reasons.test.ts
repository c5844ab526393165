import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { httpEvent, lambdaContext, withEnv } from '../helpers/lambda.ts';

// Issue 7: every refusal or failure log lost its reason. The code passed it as `message` in the
// extra attributes, a key Powertools Logger reserves: it dropped the value and printed a
// "reserved key" warning instead. The logs are read back here from what Powertools writes.

const TOKEN = '8f3c2a7e1d9b4f60a5c2e7d8b1f04a93';
const sqs = mockClient(SQSClient);
let handler: (event: unknown, context: unknown) => Promise<any>;
let logger: typeof import('#shared/powertools')['logger'];
let restoreEnv: () => void;
let stdout: MockInstance;
let stderr: MockInstance;

/** The JSON lines Powertools printed since the last reset (it writes to stdout, errors included). */
const lines = () => [...stdout.mock.calls, ...stderr.mock.calls]
  .map(([chunk]) => String(chunk).trim())
  .filter((text) => text.startsWith('{'))
  .map((text) => JSON.parse(text) as Record<string, unknown>);
const printed = () => [...stdout.mock.calls, ...stderr.mock.calls].map(([chunk]) => String(chunk)).join('');

beforeAll(async () => {
  restoreEnv = withEnv({
    DS_DEMARCHE_NUMBER: '98765', INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest',
    WEBHOOK_TOKEN: TOKEN, AWS_REGION: 'eu-west-3', POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_DEV: '',
  });
  vi.resetModules();
  handler = (await import('../../functions/receive-ds-webhook.ts')).handler as unknown as typeof handler;
  logger = (await import('#shared/powertools')).logger;
});
afterAll(() => restoreEnv());
beforeEach(() => {
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  sqs.reset();
});
afterEach(() => {
  stdout.mockRestore();
  stderr.mockRestore();
});

describe('log reasons', () => {
  it('a refused request logs its status and reason, without a reserved-key warning', async () => {
    const body = new URLSearchParams({ procedure_id: '98765', dossier_id: 'douze', state: 'en_construction', updated_at: '2026-03-05 14:22:10 +0100' });
    const response = await handler(httpEvent('ds-webhook-legacy.json', { body: body.toString() }), lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(lines()).toContainEqual(expect.objectContaining({
      level: 'WARN', message: 'request refused', status: 400, reason: expect.stringContaining('dossier_id'),
    }));
    expect(printed()).not.toMatch(/reserved key/);
  });

  it('a failed request logs the error name and reason', async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error('queue unavailable'), { name: 'ServiceUnavailable' }));
    const response = await handler(httpEvent('ds-webhook-legacy.json'), lambdaContext());
    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect(lines()).toContainEqual(expect.objectContaining({
      level: 'ERROR', message: 'request failed', status: 500, reason: expect.any(String),
    }));
    expect(printed()).not.toMatch(/reserved key/);
  });

  it('keeps a reason passed as `message` by any other call (the safety net), under `reason` or `detail`', () => {
    logger.error('message failed', { messageId: 'm-1', error: 'DsUnavailableError', message: 'HTTP 503 after 5 attempts' });
    logger.warn('round step refused', { reason: 'no_round', message: 'no round is open' });
    expect(lines()).toEqual([
      expect.objectContaining({ message: 'message failed', messageId: 'm-1', error: 'DsUnavailableError', reason: 'HTTP 503 after 5 attempts' }),
      expect.objectContaining({ message: 'round step refused', reason: 'no_round', detail: 'no round is open' }),
    ]);
    expect(printed()).not.toMatch(/reserved key/);
  });
});
