import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '#shared/config';
import { IngestDossierEnvSchema, ReceiveWebhookEnvSchema } from '#schemas/env';
import { ConfigurationError } from '#core/errors';
import { withEnv } from '../helpers/lambda.ts';

/** A legacy webhook token of the accepted form (32 to 128 URL-safe characters). */
const TOKEN = '8f3c2a7e1d9b4f60a5c2e7d8b1f04a93';

describe('configuration', () => {
  it('parses a comma-separated list of démarches', () => {
    const config = loadConfig(ReceiveWebhookEnvSchema, { DS_DEMARCHE_NUMBER: '98765, 98766', INGEST_QUEUE_URL: 'http://localhost/q', WEBHOOK_TOKEN: TOKEN });
    expect(config.DS_DEMARCHE_NUMBER).toEqual([98765, 98766]);
  });

  it('names every bad variable', () => {
    expect(() => loadConfig(IngestDossierEnvSchema, { TABLE_NAME: 't', DS_API_URL: 'not a url' })).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', message: expect.stringMatching(/DS_API_URL[\s\S]*BUCKET_NAME|BUCKET_NAME[\s\S]*DS_API_URL/) }),
    );
    expect(() => loadConfig(IngestDossierEnvSchema, { TABLE_NAME: 't', BUCKET_NAME: 'b' })).toThrow(/DS_API_TOKEN \(or DS_API_TOKEN_SECRET_ARN\) is required/);
  });

  it('accepts a secret ARN instead of the secret', () => {
    const config = loadConfig(IngestDossierEnvSchema, { TABLE_NAME: 't', BUCKET_NAME: 'b', DS_DEMARCHE_NUMBER: '98765', DS_API_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-3:1:secret:x' });
    expect(config.DS_API_URL).toBe('https://demarche.numerique.gouv.fr/api/v2/graphql');
    expect(config.DS_DEMARCHE_NUMBER).toEqual([98765]);
  });

  describe('at cold start', () => {
    let restore = () => {};
    afterEach(() => restore());

    it('a handler module with a missing variable fails to load, naming it', async () => {
      restore = withEnv({ DS_DEMARCHE_NUMBER: '98765', WEBHOOK_TOKEN: TOKEN, INGEST_QUEUE_URL: '' });
      vi.resetModules();
      await expect(import('../../functions/receive-ds-webhook.ts')).rejects.toThrow(/INGEST_QUEUE_URL/);
    });

    it('is a ConfigurationError', () => {
      expect(() => loadConfig(ReceiveWebhookEnvSchema, {})).toThrow(ConfigurationError);
    });
  });
});
