import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sign } from '#core/standard-webhooks';
import { ConfigurationError } from '#core/errors';
import { loadConfig } from '#shared/config';
import { resolveSecret } from '#shared/secrets';
import { ReceiveWebhookEnvSchema, ReceiveWebhookV2EnvSchema, SECRET_RULES, localEnvSchema } from '#schemas/env';
import { RoundStepEnvSchema } from '#schemas/round-step-env';
import { loadLocalSecrets } from '../../infra/local/local-secrets.ts';
import { withEnv } from '../helpers/lambda.ts';

// Issue 7: a v2 signing secret that decodes to zero bytes (`whsec_`, or `whsec_` left over in a
// space-separated list) made the receiver accept signatures made with an empty key. Secrets are
// now checked when the configuration loads and when read from Secrets Manager, against the
// reference Standard Webhooks library (standardwebhooks 1.1.1) as the oracle.

const key = (bytes: number, fill = 9) => `whsec_${Buffer.alloc(bytes, fill).toString('base64')}`;
const DS_SECRET = 'whsec_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY='; // the DS test vector's, 32 bytes
const V2 = SECRET_RULES.DS_WEBHOOK_V2_SECRET!;

/** Whether the reference library takes the secret (its constructor throws on a bad one). */
const referenceAccepts = (secret: string) => {
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
};

describe('v2 signing secrets, against the reference library', () => {
  const refusedByBoth = ['whsec_', 'whsec_!!!!', 'whsec_AAAA*AAA', 'whsec_A'];
  // The reference library takes these; a short HMAC key is guessable and lenient base64 signs
  // with whatever bytes Buffer.from keeps, so we are stricter.
  const refusedByUsOnly = [key(3), key(23), `whsec_${Buffer.alloc(32, 1).toString('base64').replace(/=$/, '')}`];

  it.each(refusedByBoth)('refuses %j, as the reference library does', (secret) => {
    expect(referenceAccepts(secret)).toBe(false);
    expect(V2.safeParse(secret).success).toBe(false);
  });

  it.each(refusedByUsOnly)('refuses the weak or lenient %j', (secret) => {
    expect(V2.safeParse(secret).success).toBe(false);
  });

  it.each([
    ['a trailing empty secret', `${DS_SECRET} whsec_`],
    ['an empty secret first', `whsec_ ${DS_SECRET}`],
    ['a secret without its prefix', `${DS_SECRET} ${Buffer.alloc(32, 2).toString('base64')}`],
  ])('refuses a list with %s', (_, value) => {
    expect(V2.safeParse(value).success).toBe(false);
  });

  it.each([DS_SECRET, key(24), key(32), key(64)])('accepts %j and signs exactly as the reference library', (secret) => {
    expect(V2.safeParse(secret).success).toBe(true);
    expect(referenceAccepts(secret)).toBe(true);
    const body = '{"webhook_id":"V2ViaG9vay00Mg=="}';
    const reference = new Webhook(secret).sign('msg_42_1_2', new Date(1772716967_000), body);
    expect(sign(secret, 'msg_42_1_2', '1772716967', Buffer.from(body))).toBe(reference);
  });

  it('accepts several secrets during a rotation, and surrounding spaces', () => {
    expect(V2.parse(` ${DS_SECRET}  ${key(32)} `)).toBe(`${DS_SECRET}  ${key(32)}`);
  });

  it('refuses to sign or verify with an empty key, whatever the configuration let through', () => {
    expect(() => sign('whsec_', 'msg', '1', Buffer.from('{}'))).toThrow(/can't be empty/);
  });
});

describe('the configuration loader', () => {
  const base = { DS_DEMARCHE_NUMBER: '98765', INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/1/q', TABLE_NAME: 't' };

  it.each(['whsec_', `${DS_SECRET} whsec_`, key(8)])('refuses DS_WEBHOOK_V2_SECRET=%j, naming the variable and not the value', (value) => {
    let error: unknown;
    try {
      loadConfig(ReceiveWebhookV2EnvSchema, { ...base, DS_WEBHOOK_V2_SECRET: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('DS_WEBHOOK_V2_SECRET');
    expect((error as Error).message).toContain('must be whsec_ secrets');
    for (const part of value.split(' ')) if (part.length > 'whsec_'.length) expect((error as Error).message).not.toContain(part.slice(6));
  });

  it('refuses a short legacy webhook token and a short review link secret', () => {
    expect(() => loadConfig(ReceiveWebhookEnvSchema, { ...base, WEBHOOK_TOKEN: 'abc123' })).toThrow(/32 to 128[\s\S]*WEBHOOK_TOKEN/);
    expect(() => loadConfig(RoundStepEnvSchema, {
      TABLE_NAME: 't', BUCKET_NAME: 'b', REVIEW_PAGE_URL: 'https://x.example/', REVIEW_LINK_SECRET: 'x'.repeat(31),
    })).toThrow(/at least 32[\s\S]*REVIEW_LINK_SECRET/);
    expect(loadConfig(ReceiveWebhookEnvSchema, { ...base, WEBHOOK_TOKEN: 'a'.repeat(32) }).WEBHOOK_TOKEN).toBe('a'.repeat(32));
  });

  it('npm start applies the same rules', () => {
    const local = localEnvSchema(['reconcile-dossiers']);
    for (const [name, value] of [['DS_WEBHOOK_V2_SECRET', 'whsec_'], ['DS_WEBHOOK_V2_SECRET', `${DS_SECRET} whsec_`], ['WEBHOOK_TOKEN', 'a'.repeat(16)], ['REVIEW_LINK_SECRET', 'x'.repeat(31)]]) {
      const parsed = local.safeParse({ [name!]: value });
      expect(parsed.success, `${name}=${value}`).toBe(false);
      expect(parsed.error!.issues.map((issue) => issue.path[0])).toEqual([name]);
    }
  });

  describe('at cold start', () => {
    let restore = () => {};
    afterEach(() => restore());

    it('the v2 receiver does not load with an empty signing key (it accepted signatures made with one)', async () => {
      restore = withEnv({ ...base, DS_WEBHOOK_V2_SECRET: 'whsec_', AWS_REGION: 'eu-west-3' });
      vi.resetModules();
      await expect(import('../../functions/receive-ds-webhook-v2.ts')).rejects.toThrow(/DS_WEBHOOK_V2_SECRET/);
    });
  });
});

describe('secrets read from Secrets Manager', () => {
  const sm = mockClient(SecretsManagerClient);
  let restore = () => {};
  let arnCount = 0;
  // A new ARN per test: resolveSecret caches each secret for 15 minutes.
  const arn = () => `arn:aws:secretsmanager:eu-west-3:123456789012:secret:test-${++arnCount}`;
  beforeAll(() => { restore = withEnv({ AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }); });
  afterAll(() => { sm.restore(); restore(); });

  it.each([
    ['DS_WEBHOOK_V2_SECRET', `${DS_SECRET} whsec_ `],
    ['DS_WEBHOOK_V2_SECRET', key(3)],
    ['WEBHOOK_TOKEN', 'short-token'],
    ['REVIEW_LINK_SECRET', 'a-review-link-key'],
  ])('fails at cold start on a weak %s, naming the secret, never its value', async (name, value) => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: value });
    const secretArn = arn();
    const error = await resolveSecret({ [`${name}_SECRET_ARN`]: secretArn }, name).catch((caught: unknown) => caught as Error);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`secret ${name} (${secretArn}) is invalid`);
    // The value's secret part: a bare `whsec_` has none to leak.
    for (const part of value.trim().split(' ').map((p) => p.replace(/^whsec_/, '')).filter(Boolean)) {
      expect((error as Error).message).not.toContain(part);
    }
  });

  it('returns a valid secret, trimmed', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: `${DS_SECRET}\n` });
    await expect(resolveSecret({ DS_WEBHOOK_V2_SECRET_SECRET_ARN: arn() }, 'DS_WEBHOOK_V2_SECRET')).resolves.toBe(DS_SECRET);
  });

  it('checks a plain value too (a caller that skipped the schema)', async () => {
    await expect(resolveSecret({ DS_WEBHOOK_V2_SECRET: 'whsec_' }, 'DS_WEBHOOK_V2_SECRET')).rejects.toThrow(ConfigurationError);
  });
});

describe('the secrets the local stack generates', () => {
  let dataDir: string;
  beforeAll(async () => { dataDir = await mkdtemp(join(tmpdir(), 'ds-selection-secrets-')); });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('pass the same rules, and the reference library', async () => {
    const secrets = await loadLocalSecrets(dataDir, {});
    expect(SECRET_RULES.WEBHOOK_TOKEN!.safeParse(secrets.webhookToken).success).toBe(true);
    expect(SECRET_RULES.REVIEW_LINK_SECRET!.safeParse(secrets.reviewLinkSecret).success).toBe(true);
    expect(V2.safeParse(secrets.webhookV2Secret).success).toBe(true);
    expect(referenceAccepts(secrets.webhookV2Secret)).toBe(true);
  });

  it('refuses a weak stored secret, naming it and not its value', async () => {
    const other = await mkdtemp(join(tmpdir(), 'ds-selection-secrets-'));
    try {
      await writeFile(join(other, 'local-secrets.json'), JSON.stringify({ webhookV2Secret: 'whsec_' }));
      await expect(loadLocalSecrets(other, {})).rejects.toThrow(/"webhookV2Secret" in .*local-secrets\.json.*must be whsec_/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
