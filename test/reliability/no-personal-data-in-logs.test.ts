import { readdirSync } from 'node:fs';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReviewerRecord } from '#core/rounds/model';
import { formToken, reviewToken } from '#core/rounds/review-links';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { lambdaContext, withEnv } from '../helpers/lambda.ts';
import { readJson, sampleDossier } from '../helpers/samples.ts';
import { S3RVER_CREDENTIALS, startS3rver, type S3Engine } from '../helpers/s3-engine.ts';

// Issue 7, point 4: no personal data in logs. The sample dossiers are ingested (DS simulator,
// ingest-dossier), a round is run (open, close-submissions, a review posted through the review
// page, close-selection) by the real handler modules at POWERTOOLS_LOG_LEVEL=DEBUG; every line
// written to stdout, stderr or the console is kept, and none may hold a value of the dossiers
// (taken from the JSON files: every champ, the demandeur, the usager), a reviewer's email or
// name, the review's comment, or a review link or form token.

const TOKEN = 'simulated-ds-token';
const ROUND = '2026-03';
const SECRET = 'review-link-secret-for-log-tests-0123';
const COMMENT = 'Avis confidentiel : équipe fragile, budget flou';
const PERSONAL_KEYS = new Set(['stringValue', 'value', 'email', 'nom', 'prenom', 'siret', 'siren', 'raisonSociale', 'nomCommercial', 'label', 'streetAddress',
  'streetName', 'prenomMandataire', 'nomMandataire', 'motivation', 'filename', 'numeroTvaIntracommunautaire', 'siretSiegeSocial', 'phone', 'telephone']);

/** Every personal-looking string of the sample dossiers: long enough to mean something, not a date, a state or a flag. */
function personalValues(): string[] {
  const found = new Set<string>();
  const walk = (node: unknown, key?: string) => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, key));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, k);
    else if (typeof node === 'string' && key && PERSONAL_KEYS.has(key)) {
      for (const value of [node, ...node.split('\n')].map((s) => s.trim())) {
        if (value.length >= 5 && !/^\d{4}-\d{2}-\d{2}/.test(value) && !['true', 'false'].includes(value)) found.add(value);
      }
      if (/^\d{14}$/.test(node)) found.add(node.slice(0, 9)); // the SIREN inside a SIRET
    }
  };
  for (const file of readdirSync(new URL('../../events/dossiers/', import.meta.url)).filter((f) => f.endsWith('.json'))) walk(readJson(`events/dossiers/${file}`));
  return [...found];
}

const reviewer = (id: string, email: string, name: string): ReviewerRecord => ({ id, email, name, conflicts: [], active: true });
const alice = reviewer('r-logs-alice', 'alice.secrete@example.gouv.fr', 'Alice Secrète');
const bruno = reviewer('r-logs-bruno', 'bruno.discret@example.gouv.fr', 'Bruno Discret');
const expiry = new Date(Date.now() + 60 * 86_400_000);
const aliceToken = reviewToken(SECRET, ROUND, alice.id, expiry);
const aliceCsrf = formToken(SECRET, ROUND, alice.id, expiry);

// ingest-dossier may delay a failed record on SQS: never a real queue.
mockClient(SQSClient);
const ses = mockClient(SESv2Client);
let ds: DsSimulator;
let dynamo: RunningEngine;
let s3: S3Engine;
let restoreEnv: () => void;
const lines: string[] = [];
const debugOut = (text: string) => { if (process.env.DEBUG_LOGS_TEST) realStderr(`${text}\n`); };
const realStderr = process.stderr.write.bind(process.stderr);
type Handler = (event: unknown, context: unknown) => Promise<any>;
let ingest: Handler;
let roundStep: Handler;
let reviewPage: Handler;

beforeAll(async () => {
  [dynamo, s3, ds] = await Promise.all([startDynalite(), startS3rver({ bucket: 'logs-test' }), new DsSimulator({ token: TOKEN, virusScanMs: 0 }).start()]);
  await new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName }).putReviewers([alice, bruno]);
  restoreEnv = withEnv({
    DS_DEMARCHE_NUMBER: '98765', DS_API_URL: ds.graphqlUrl, DS_API_TOKEN: TOKEN, TABLE_NAME: dynamo.tableName, BUCKET_NAME: s3.bucket,
    REVIEW_PAGE_URL: 'http://127.0.0.1:3999/', REVIEW_LINK_SECRET: SECRET, MAIL_FROM: 'selection@example.gouv.fr',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'eu-west-3',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  ses.on(SendEmailCommand).callsFake(() => ({ MessageId: `mail-${ses.calls().length}` }));
  vi.resetModules();
  ingest = (await import('../../functions/ingest-dossier.ts')).handler as unknown as Handler;
  roundStep = (await import('../../functions/run-round-step.ts')).handler as unknown as Handler;
  reviewPage = (await import('../../functions/serve-review-page.ts')).handler as unknown as Handler;
  // Every line, whoever writes it: Powertools (its own console on stdout/stderr), console.*, anything else.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      lines.push(...chunk.toString().split('\n').filter((l) => l.trim() !== ''));
      return true;
    }) as typeof stream.write);
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => { lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')); });
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  restoreEnv?.();
  await Promise.all([ds?.stop(), s3?.stop(), dynamo?.stop()]);
});

function sqsEvent(numbers: number[]): SQSEvent {
  return {
    Records: numbers.map((n) => ({
      messageId: `m-${n}`, receiptHandle: 'r',
      body: JSON.stringify({ demarcheNumber: 98765, dossierNumber: n, hint: { source: 'webhook', receivedAt: new Date().toISOString() } }),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-3:123456789012:ingest', awsRegion: 'eu-west-3',
    })),
  };
}

function post(path: string, fields: Record<string, string>) {
  const body = new URLSearchParams(fields).toString();
  return reviewPage({
    version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: `token=${aliceToken}`, queryStringParameters: { token: aliceToken },
    headers: { host: '127.0.0.1', 'content-type': 'application/x-www-form-urlencoded' },
    requestContext: { http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
    body, isBase64Encoded: false,
  }, lambdaContext('serve-review-page'));
}

describe('no personal data in logs', () => {
  it('logs none of the dossiers\' values, reviewers\' names or emails, comments or tokens through an ingest and a whole round at DEBUG', async () => {
    const numbers = readdirSync(new URL('../../events/dossiers/', import.meta.url)).filter((f) => f.endsWith('.json')).map((f) => Number(f.slice(0, -5)));
    for (const n of numbers) ds.upsert(sampleDossier(n));
    expect(await ingest(sqsEvent(numbers), lambdaContext('ingest-dossier'))).toEqual({ batchItemFailures: [] });

    const staff = { actor: 'staff:logs-test', round: ROUND, force: true };
    const opened = await roundStep({ step: 'open', ...staff }, lambdaContext('run-round-step'));
    const closed = await roundStep({ step: 'close-submissions', ...staff }, lambdaContext('run-round-step'));
    debugOut(JSON.stringify({ opened, closed }).slice(0, 3000));
    const assignments = await new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName }).listAssignments(ROUND);
    const mine = assignments.find((a) => a.reviewerId === alice.id);
    expect(mine, 'alice has a dossier to review').toBeDefined();
    const scores = Object.fromEntries(ROUNDS_CONFIG.criteria.map((c) => [`score_${c.id}`, '4']));
    const saved = await post(`/review/${ROUND}/dossiers/${mine!.dossierNumber}`, { csrf: aliceCsrf, version: '0', intent: 'submit', comment: COMMENT, ...scores });
    expect(saved.statusCode).toBe(303);
    await roundStep({ step: 'close-selection', ...staff }, lambdaContext('run-round-step'));
    expect(ses.commandCalls(SendEmailCommand).length).toBeGreaterThan(0); // mails were sent, with names and links in them

    const searched = [...personalValues(), alice.email, alice.name, bruno.email, bruno.name, COMMENT, aliceToken, aliceCsrf, aliceToken.split('.')[2]!];
    debugOut(lines.join('\n'));
    const leaks = lines.flatMap((line) => searched.filter((value) => line.includes(value)).map((value) => ({ value, line: line.slice(0, 300) })));
    vi.mocked(process.stderr.write).mockRestore();
    process.stderr.write(`[logs] ${lines.length} log lines checked against ${searched.length} personal values: ${leaks.length} found\n`);
    // Not vacuous: every handler logged, at DEBUG (the level lines carry).
    expect(lines.filter((l) => l.includes('"service":"ds-selection"')).length).toBeGreaterThanOrEqual(5);
    expect(leaks).toEqual([]);
  }, 120_000);
});
