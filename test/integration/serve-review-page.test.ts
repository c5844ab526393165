import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import type { ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { formToken, reviewToken } from '#core/rounds/review-links';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { captureFunctionLogs, lambdaContext, withEnv } from '../helpers/lambda.ts';
import { S3RVER_CREDENTIALS, startS3rver, type S3Engine } from '../helpers/s3-engine.ts';
import { startSesLocal, type SesEngine } from '../helpers/ses-engine.ts';

// serve-review-page, the real handler module, against dynalite, s3rver and aws-ses-v2-local, with
// API Gateway v2 events as the HTTP API sends them. The tests run in order and share the round.

const ROUND = '2026-03';
const OTHER_ROUND = '2026-05';
const SECRET = 'review-link-secret-for-page-tests';
const TITLE = 'Projet Confidentiel Alpha';
const COMMENT = 'Commentaire très personnel de la relectrice';
const PDF = Buffer.from('%PDF-1.4\n% a tiny test file\n%%EOF\n');
const criteria = ROUNDS_CONFIG.criteria;

let dynamo: RunningEngine;
let s3: S3Engine;
let ses: SesEngine;
let rounds: DynamoRoundRepository;
let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<any>;
let restoreEnv: () => void;
const logLines: string[] = [];

const reviewer = (email: string, overrides: Partial<ReviewerRecord> = {}): ReviewerRecord =>
  ({ id: `r-${createHash('sha256').update(email).digest('hex').slice(0, 14)}`, email, name: email.split('@')[0]!, conflicts: [], active: true, ...overrides });
const alice = reviewer('alice.relectrice@example.gouv.fr');
const bruno = reviewer('bruno.relecteur@example.gouv.fr');
const denis = reviewer('denis.inactif@example.gouv.fr', { active: false });
const future = new Date(Date.now() + 30 * 86_400_000);
const aliceToken = reviewToken(SECRET, ROUND, alice.id, future);
const aliceCsrf = formToken(SECRET, ROUND, alice.id, future);

function dossier(number: number, title: string, attachments: DossierRecord['attachments'] = []): DossierRecord {
  const at = '2026-03-05T14:22:11+01:00';
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: at, modifiedAtMs: Date.parse(at),
    dateDepot: at, round: ROUND, issues: [], attachments, filesComplete: true, snapshotKey: null, ingestedAt: new Date().toISOString(),
    project: {
      title, description: 'Une description.', administration: { name: 'Direction du numérique', siret: '11000000000011' },
      team: [{ name: 'Jeanne Martin', role: 'Cheffe de projet', email: 'jeanne.martin@example.gouv.fr' }],
      eigPostsRequested: 2, wishedStartDate: '2026-09-01', theme: 'Santé', commitments: [],
    },
  };
}

function event(method: 'GET' | 'POST', path: string, options: { query?: Record<string, string>; body?: string; headers?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  const query = options.query ?? {};
  const headers = { host: 'abc.execute-api.eu-west-3.amazonaws.com', 'x-forwarded-proto': 'https', ...(options.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...options.headers };
  return {
    version: '2.0', routeKey: `${method} ${path}`, rawPath: path, rawQueryString: new URLSearchParams(query).toString(), headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '123456789012', apiId: 'abc', domainName: headers.host, domainPrefix: 'abc',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'req', routeKey: `${method} ${path}`, stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

const call = (e: APIGatewayProxyEventV2) => handler(e, lambdaContext('serve-review-page'));
/** `null`: no token at all. */
const get = (path: string, token: string | null = aliceToken, extra: Record<string, string> = {}) =>
  call(event('GET', path, { query: { ...(token ? { token } : {}), ...extra } }));
const post = (path: string, fields: Record<string, string>, token = aliceToken) =>
  call(event('POST', path, { query: { token }, body: new URLSearchParams(fields).toString() }));
const allScores = (value: number) => Object.fromEntries(criteria.map((c) => [`score_${c.id}`, String(value)]));

beforeAll(async () => {
  [dynamo, s3, ses] = await Promise.all([startDynalite(), startS3rver({ bucket: 'ds-selection-review-page-test' }), startSesLocal()]);
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const round: RoundRecord = {
    id: ROUND, status: 'reviewing', openedAt: '2026-03-01T08:00:00Z', submissionsClosedAt: '2026-05-01T06:00:00Z',
    reviewDeadline: future.toISOString(), selectionClosedAt: null, capacityPosts: 6, reviewersPerDossier: 1, criteria, version: 1,
  };
  await rounds.createRound(round);
  await rounds.putReviewers([alice, bruno, denis]);
  const key = `attachments/101/${createHash('md5').update(PDF).digest('hex')}/note projet é.pdf`;
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: PDF, ContentType: 'application/pdf' }));
  await dossiers.saveIfNewer(dossier(101, TITLE, [{
    champId: 'c1', label: 'Note de projet', filename: 'note projet é.pdf', contentType: 'application/pdf', byteSize: PDF.length,
    checksum: createHash('md5').update(PDF).digest('base64'), virusScan: 'safe', key,
  }]));
  await dossiers.saveIfNewer(dossier(102, 'Projet de Bruno'));
  await rounds.putAssignments([
    { roundId: ROUND, dossierNumber: 101, reviewerId: alice.id, assignedAt: '2026-05-01T06:00:00Z' },
    { roundId: ROUND, dossierNumber: 102, reviewerId: bruno.id, assignedAt: '2026-05-01T06:00:00Z' },
    { roundId: ROUND, dossierNumber: 101, reviewerId: denis.id, assignedAt: '2026-05-01T06:00:00Z' },
  ]);

  restoreEnv = withEnv({
    TABLE_NAME: dynamo.tableName, BUCKET_NAME: s3.bucket, REVIEW_PAGE_URL: 'http://127.0.0.1:3999/', REVIEW_LINK_SECRET: SECRET,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ENDPOINT_URL_SESV2: ses.endpoint,
    AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  vi.resetModules();
  handler = (await import('../../functions/serve-review-page.ts')).handler as unknown as typeof handler;
  captureFunctionLogs(logLines);
});
afterAll(async () => {
  vi.restoreAllMocks();
  restoreEnv?.();
  await Promise.all([dynamo?.stop(), s3?.stop(), ses?.stop()]);
});

describe('serve-review-page on dynalite, s3rver and aws-ses-v2-local', () => {
  it('shows the reviewer\'s list for a valid link, with the security headers', async () => {
    const response = await get(`/review/${ROUND}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'strict-transport-security': expect.stringMatching(/^max-age=\d+/),
    });
    expect(response.body).toContain(TITLE);
    expect(response.body).toContain(`/review/${ROUND}/dossiers/101?token=${aliceToken}`);
    expect(response.body).not.toContain('Projet de Bruno');
    expect(response.body).toContain('À faire');
    expect(response.body).toContain('Il vous reste 1 dossier à évaluer');
    expect(response.headers).not.toHaveProperty('set-cookie');
  });

  it('refuses a forged token, a token of another round and an expired one (403), an inactive reviewer (403), with no data', async () => {
    const forged = `${aliceToken.slice(0, -1)}${aliceToken.endsWith('A') ? 'B' : 'A'}`;
    const cases: Array<[string | null, RegExp]> = [
      [forged, /Ce lien n'est pas valide/],
      [null, /Ce lien n'est pas valide/],
      [reviewToken(SECRET, OTHER_ROUND, alice.id, future), /Ce lien n'est pas valide/],
      [reviewToken(SECRET, ROUND, alice.id, new Date(Date.now() - 60_000)), /Ce lien a expiré/],
      [reviewToken(SECRET, ROUND, denis.id, future), /Ce lien n'est plus actif/],
    ];
    for (const [token, message] of cases) {
      for (const path of [`/review/${ROUND}`, `/review/${ROUND}/dossiers/101`, `/review/${ROUND}/dossiers/101/attachments/0`]) {
        const response = await get(path, token);
        expect(response.statusCode, `${path} ${message}`).toBe(403);
        expect(response.body).toMatch(message);
        expect(response.body).toContain('Demandez un nouveau lien à l\'équipe du programme EIG.');
        expect(response.body).not.toContain(TITLE);
        expect(response.body).not.toMatch(/dossiers\/\d+/);
        expect(response.headers['content-security-policy']).toBeDefined();
      }
    }
  });

  it('answers 404 for a dossier not assigned, a bad dossier number and an unknown path under /review', async () => {
    const notAssigned = await get(`/review/${ROUND}/dossiers/102`);
    expect(notAssigned.statusCode).toBe(404);
    expect(notAssigned.body).toContain('Ce dossier ne vous est pas confié');
    expect(notAssigned.body).not.toContain('Projet de Bruno');
    expect((await get(`/review/${ROUND}/dossiers/999`)).statusCode).toBe(404);
    expect((await get(`/review/${ROUND}/dossiers/abc`)).statusCode).toBe(404);
    expect((await get(`/review/${ROUND}/dossiers/101/attachments/7`)).statusCode).toBe(404);
    const unknown = await get(`/review/${ROUND}/elsewhere/1`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('Page introuvable');
  });

  it('shows the dossier with its form: csrf bound to the link, version 0', async () => {
    const response = await get(`/review/${ROUND}/dossiers/101`);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain(`<h1>${TITLE}</h1>`);
    expect(response.body).toContain(`<input type="hidden" name="csrf" value="${aliceCsrf}"/>`);
    expect(response.body).toContain('<input type="hidden" name="version" value="0"/>');
    expect(response.body).not.toContain('jeanne.martin@example.gouv.fr');
  });

  it('refuses a POST without or with another anti-forgery token (403), and writes nothing', async () => {
    const fields = { ...allScores(4), comment: COMMENT, version: '0', intent: 'submit' };
    const without = await post(`/review/${ROUND}/dossiers/101`, fields);
    expect(without.statusCode).toBe(403);
    expect(without.body).toContain('Le formulaire n\'a pas pu être vérifié');
    const other = await post(`/review/${ROUND}/dossiers/101`, { ...fields, csrf: formToken(SECRET, ROUND, bruno.id, future) });
    expect(other.statusCode).toBe(403);
    expect(await rounds.listReviews(ROUND)).toEqual([]);
  });

  it('saves a draft (303 to the page with saved=draft), then submits it (saved=submitted), stored as ReviewRecords', async () => {
    const [first, second] = criteria;
    const draft = await post(`/review/${ROUND}/dossiers/101`, { csrf: aliceCsrf, version: '0', [`score_${first!.id}`]: '4', [`score_${second!.id}`]: '', comment: 'Brouillon', intent: 'draft' });
    expect(draft.statusCode).toBe(303);
    expect(draft.headers.location).toBe(`/review/${ROUND}/dossiers/101?token=${aliceToken}&saved=draft`);
    expect(await rounds.getReview(ROUND, 101, alice.id)).toMatchObject({ status: 'draft', version: 1, scores: { [first!.id]: 4 }, comment: 'Brouillon', submittedAt: null, writtenBy: 'reviewer' });
    const shown = await get(`/review/${ROUND}/dossiers/101`, aliceToken, { saved: 'draft' });
    expect(shown.body).toContain('Brouillon enregistré.');
    expect(shown.body).toContain('<input type="hidden" name="version" value="1"/>');
    expect(shown.body).toMatch(new RegExp(`name="score_${first!.id}" value="4" checked`));

    const sent = await post(`/review/${ROUND}/dossiers/101`, { csrf: aliceCsrf, version: '1', ...allScores(5), comment: COMMENT, intent: 'submit' });
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toBe(`/review/${ROUND}/dossiers/101?token=${aliceToken}&saved=submitted`);
    const stored = await rounds.getReview(ROUND, 101, alice.id);
    expect(stored).toMatchObject({ status: 'submitted', version: 2, comment: COMMENT, conflictOfInterest: false, submittedAt: expect.any(String) });
    expect(stored!.scores).toEqual(Object.fromEntries(criteria.map((c) => [c.id, 5])));
    expect((await get(`/review/${ROUND}/dossiers/101`, aliceToken, { saved: 'submitted' })).body).toContain('Évaluation envoyée.');
    expect((await get(`/review/${ROUND}`)).body).toContain('Envoyée');
  });

  it('refuses an incomplete submission with 422, the French message next to the field, what was typed kept', async () => {
    const [first, ...others] = criteria;
    const response = await post(`/review/${ROUND}/dossiers/101`, {
      csrf: aliceCsrf, version: '2', ...Object.fromEntries(others.map((c) => [`score_${c.id}`, '3'])), comment: 'Saisie en cours', intent: 'submit',
    });
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain(`Notez « ${first!.label} » de 1 à 5 avant d'envoyer l'évaluation.`);
    expect(response.body).toContain(`aria-describedby="score_${first!.id}-error"`);
    expect(response.body).toContain('>Saisie en cours</textarea>');
    expect(response.body).toContain('role="alert"');
    expect(await rounds.getReview(ROUND, 101, alice.id)).toMatchObject({ version: 2, comment: COMMENT });
  });

  it('refuses a stale form (409) with the stored values, the new version and a message; writes nothing', async () => {
    const response = await post(`/review/${ROUND}/dossiers/101`, { csrf: aliceCsrf, version: '1', ...allScores(1), comment: 'Ancien onglet', intent: 'submit' });
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain('modifiée ailleurs');
    expect(response.body).toContain('<input type="hidden" name="version" value="2"/>');
    expect(response.body).toContain(`>${COMMENT}</textarea>`);
    expect(await rounds.getReview(ROUND, 101, alice.id)).toMatchObject({ version: 2, comment: COMMENT });
  });

  it('refuses a body over 64 KiB (413) and another content type (415)', async () => {
    const big = await post(`/review/${ROUND}/dossiers/101`, { csrf: aliceCsrf, version: '2', comment: 'x'.repeat(70 * 1024), intent: 'draft' });
    expect(big.statusCode).toBe(413);
    const json = await call(event('POST', `/review/${ROUND}/dossiers/101`, { query: { token: aliceToken }, body: '{}', headers: { 'content-type': 'application/json' } }));
    expect(json.statusCode).toBe(415);
  });

  it('redirects an attachment (302) to a presigned URL that downloads the bytes, inline, as a PDF', async () => {
    const response = await get(`/review/${ROUND}/dossiers/101/attachments/0`);
    expect(response.statusCode).toBe(302);
    const location = response.headers.location as string;
    expect(location.startsWith(`${s3.endpoint}/`)).toBe(true);
    const url = new URL(location);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);
    expect(url.searchParams.get('response-content-disposition')).toBe('inline; filename*=UTF-8\'\'note%20projet%20%C3%A9.pdf');
    const file = await fetch(location);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/^application\/pdf/);
    expect(file.headers.get('content-disposition')).toBe('inline; filename*=UTF-8\'\'note%20projet%20%C3%A9.pdf');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(PDF);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('serves the DSFR assets from the allow-list, compressed per Accept-Encoding, cached for a year', async () => {
    const css = '/review/assets/1.14.4/dsfr.main.min.css';
    const br = await call(event('GET', css, { headers: { 'accept-encoding': 'gzip, deflate, br' } }));
    expect(br.statusCode).toBe(200);
    expect(br.isBase64Encoded).toBe(true);
    expect(br.headers).toMatchObject({
      'content-type': 'text/css; charset=utf-8', 'content-encoding': 'br', vary: 'Accept-Encoding',
      'cache-control': 'public, max-age=31536000, immutable',
    });
    const cssBytes = brotliDecompressSync(Buffer.from(br.body, 'base64'));
    expect(cssBytes.toString('utf8')).toContain('.fr-btn');
    expect(Buffer.from(br.body, 'base64').length).toBeLessThan(cssBytes.length / 5);

    const gzip = await call(event('GET', css, { headers: { 'accept-encoding': 'gzip' } }));
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(Buffer.from(gzip.body, 'base64')).equals(cssBytes)).toBe(true);
    const plain = await call(event('GET', css, { headers: {} }));
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Buffer.from(plain.body, 'base64').equals(cssBytes)).toBe(true);

    const font = await call(event('GET', '/review/assets/1.14.4/fonts/Marianne-Regular.woff2', { headers: { 'accept-encoding': 'br' } }));
    expect(font.statusCode).toBe(200);
    expect(font.headers).toMatchObject({ 'content-type': 'font/woff2', 'cache-control': 'public, max-age=31536000, immutable' });
    expect(font.headers['content-encoding']).toBeUndefined();
    const icon = await call(event('GET', '/review/assets/1.14.4/icons/system/fr--error-fill.svg', { headers: { 'accept-encoding': 'gzip' } }));
    expect(icon.headers).toMatchObject({ 'content-type': 'image/svg+xml', 'content-encoding': 'gzip' });

    for (const path of ['/review/assets/1.14.4/dsfr.module.min.js', '/review/assets/1.14.4/../package.json', '/review/assets/1.0.0/dsfr.main.min.css', '/review/assets/1.14.4/icons/system/unknown.svg']) {
      expect((await call(event('GET', path))).statusCode, path).toBe(404);
    }
  });

  it('sends HSTS only over https', async () => {
    const local = await call(event('GET', `/review/${ROUND}`, { query: { token: aliceToken }, headers: { 'x-forwarded-proto': 'http' } }));
    expect(local.statusCode).toBe(200);
    expect(local.headers['strict-transport-security']).toBeUndefined();
  });

  it('logs routes, round ids, statuses and reasons, never a title, a name, an email, a comment or a token', () => {
    const logs = logLines.join('\n');
    expect(logs).toContain('"reason":"invalid_link"');
    expect(logs).toContain('"status":403');
    for (const secret of [TITLE, 'Projet de Bruno', alice.email, alice.name, denis.email, COMMENT, 'Brouillon', aliceToken, aliceCsrf, 'Jeanne Martin', 'jeanne.martin']) {
      expect(logs).not.toContain(secret);
    }
  });
});
