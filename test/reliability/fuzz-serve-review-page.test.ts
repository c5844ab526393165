import { createHash } from 'node:crypto';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import type { ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { formToken, reviewToken } from '#core/rounds/review-links';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import { startDynalite, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { fcParameters, hostileString, recordSdkCommands, StatusTally } from '../helpers/fuzz.ts';
import { lambdaContext, withEnv } from '../helpers/lambda.ts';

// Issue 7, point 4: the review page (GET and POST /review/...) under generated requests, through
// the real handler module (functions/serve-review-page.ts) on dynalite, SES mocked, attachment
// links presigned locally. Each request is built from parts whose effect is known: the path
// (round, dossier, attachment, near misses, malformed escapes, overlong), the link token (the
// reviewer's, another reviewer's, an inactive one's, forged, expired, for another round or a
// round that does not exist), and for a POST the content type, the size, the anti-forgery
// token, the version and every field of the form. Expected: the exact status; a GET never
// writes; a refused POST writes nothing; an accepted one writes the one review, as posted.

const SECRET = 'review-link-secret-for-fuzz-tests';
const ROUND = '2026-03';
const CLOSED = '2026-01';
const MISSING_ROUND = '2026-05';
const criteria = ROUNDS_CONFIG.criteria;
const MAX_FORM_BYTES = 64 * 1024;
const ASSET = '/review/assets/1.14.4/dsfr.main.min.css';

const ses = mockClient(SESv2Client);
const getTally = new StatusTally('GET /review/...');
const postTally = new StatusTally('POST /review/...');
let dynamo: RunningEngine;
let rounds: DynamoRoundRepository;
let handler: (event: APIGatewayProxyEventV2, context: unknown) => Promise<{ statusCode: number; body: string; headers?: Record<string, string> }>;
let restoreEnv: () => void;
let sdk: ReturnType<typeof recordSdkCommands>;

const reviewer = (email: string, active = true): ReviewerRecord =>
  ({ id: `r-${createHash('sha256').update(email).digest('hex').slice(0, 14)}`, email, name: email.split('@')[0]!, conflicts: [], active });
const alice = reviewer('alice.fuzz@example.gouv.fr');
const bruno = reviewer('bruno.fuzz@example.gouv.fr');
const denis = reviewer('denis.fuzz@example.gouv.fr', false);
const future = new Date(Date.now() + 30 * 86_400_000);
const past = new Date(Date.now() - 60_000);

/** Who is assigned what: alice 101 (one attachment) and 103 in the open round, 301 in the closed one. */
const ASSIGNED: Record<string, Record<string, number[]>> = {
  [ROUND]: { [alice.id]: [101, 103], [bruno.id]: [102], [denis.id]: [101] },
  [CLOSED]: { [alice.id]: [301] },
};
const ATTACHMENTS: Record<number, number> = { 101: 1 };

function dossier(number: number, round: string): DossierRecord {
  const at = '2026-03-05T14:22:11+01:00';
  const attachments = (ATTACHMENTS[number] ? [{
    champId: 'c1', label: 'Note', filename: 'note.pdf', contentType: 'application/pdf', byteSize: 10,
    checksum: 'AAAAAAAAAAAAAAAAAAAAAA==', virusScan: 'safe', key: `attachments/${number}/abc/note.pdf`,
  }] : []) as DossierRecord['attachments'];
  return {
    number, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: at, modifiedAtMs: Date.parse(at),
    dateDepot: at, round, issues: [], attachments, filesComplete: true, snapshotKey: null, ingestedAt: new Date().toISOString(),
    project: {
      title: `Projet ${number}`, description: 'Une description.', administration: { name: 'Direction', siret: '11000000000011' },
      team: [], eigPostsRequested: 2, wishedStartDate: '2026-09-01', theme: 'Santé', commitments: [],
    },
  };
}

// ---- parts with known effect ---------------------------------------------------------------

/** A link token and what it opens: `session` when it opens one for the round it was made for. */
type TokenPart = { value?: string; round?: string; reviewer?: ReviewerRecord; outcome: 'session' | 'invalid' | 'expired' };
const tokenFor = (round: string, who: ReviewerRecord): TokenPart => ({ value: reviewToken(SECRET, round, who.id, future), round, reviewer: who, outcome: 'session' });
const aliceToken = reviewToken(SECRET, ROUND, alice.id, future);
const tokens: fc.Arbitrary<TokenPart> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(tokenFor(ROUND, alice)) },
  { weight: 2, arbitrary: fc.constantFrom(tokenFor(CLOSED, alice), tokenFor(ROUND, bruno), tokenFor(ROUND, denis), tokenFor(MISSING_ROUND, alice)) },
  { weight: 1, arbitrary: fc.constant<TokenPart>({ value: reviewToken(SECRET, ROUND, alice.id, past), round: ROUND, outcome: 'expired' }) },
  { weight: 4, arbitrary: fc.oneof(
    fc.constantFrom(`${aliceToken.slice(0, -1)}${aliceToken.endsWith('A') ? 'B' : 'A'}`, aliceToken.slice(0, -5), `${aliceToken}.x`, `${aliceToken},${aliceToken}`,
      ` ${aliceToken}`, aliceToken.toUpperCase(), reviewToken('another-secret', ROUND, alice.id, future), aliceToken.replace(/\.(\d+)\./, (_, e: string) => `.${Number(e) + 1}.`),
      `${alice.id}..`, '...', 'a'.repeat(201), ''),
    fc.nat({ max: aliceToken.length - 1 }).map((i) => aliceToken.slice(0, i) + (aliceToken[i] === 'x' ? 'y' : 'x') + aliceToken.slice(i + 1)),
    hostileString(),
  ).map((value): TokenPart => ({ value, outcome: 'invalid' })) },
  { weight: 1, arbitrary: fc.constant<TokenPart>({ outcome: 'invalid' }) },
);

/** A round segment of the path, raw, and the round it decodes to (undefined: not a path the page has). */
const roundSegments: fc.Arbitrary<{ raw: string; round?: string }> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ raw: ROUND, round: ROUND }) },
  { weight: 2, arbitrary: fc.constantFrom(CLOSED, MISSING_ROUND, '2026%2D03', '%32026-03', '2026-3', '2026-03%00', '2026-03 ', '2026-03%20', '2026-03%2F..').map((raw) => ({ raw, round: decodeURIComponent(raw) })) },
  { weight: 2, arbitrary: hostileString().filter((s) => s !== '' && !s.includes('/') && !s.includes('?')).map((raw) => {
    try {
      return { raw, round: decodeURIComponent(raw) };
    } catch {
      return { raw };
    }
  }) },
);
const dossierSegments = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('101', '103', '301') },
  { weight: 3, arbitrary: fc.constantFrom('102', '999', '2147483647', '9999999999') },
  { weight: 2, arbitrary: fc.constantFrom('0', '0101', '-1', '1e2', '101.0', '１０１', '%31%30%31', '99999999999', 'abc', '101 ', '') },
);
const indexSegments = fc.oneof(fc.constantFrom('0', '0', '1', '9999'), fc.constantFrom('00', '-1', '10000', 'a', '0x0', ''));

type PathPart = { path: string; kind: 'list' | 'dossier' | 'attachment' | 'asset' | 'missing_asset' | 'not_found'; round?: string; dossier?: number; index?: number };
const isNumber = (s: string) => /^[1-9]\d{0,9}$/.test(s);
const paths: fc.Arbitrary<PathPart> = fc.oneof(
  { weight: 4, arbitrary: roundSegments.map(({ raw, round }): PathPart => ({ path: `/review/${raw}`, kind: round === undefined ? 'not_found' : 'list', round })) },
  { weight: 8, arbitrary: fc.tuple(roundSegments, dossierSegments).map(([{ raw, round }, n]): PathPart => ({
    path: `/review/${raw}/dossiers/${n}`, kind: round === undefined || !isNumber(n) ? 'not_found' : 'dossier', round, dossier: Number(n),
  })) },
  { weight: 3, arbitrary: fc.tuple(roundSegments, dossierSegments, indexSegments).map(([{ raw, round }, n, i]): PathPart => ({
    path: `/review/${raw}/dossiers/${n}/attachments/${i}`, kind: round === undefined || !isNumber(n) || !/^(0|[1-9]\d{0,3})$/.test(i) ? 'not_found' : 'attachment',
    round, dossier: Number(n), index: Number(i),
  })) },
  { weight: 1, arbitrary: fc.constantFrom<PathPart>(
    { path: ASSET, kind: 'asset' }, { path: '/review/assets/1.14.4/../package.json', kind: 'missing_asset' }, { path: '/review/assets/1.14.4/dsfr.module.min.js', kind: 'missing_asset' },
    { path: '/review', kind: 'not_found' }, { path: '/review/', kind: 'not_found' }, { path: `/review//dossiers/101`, kind: 'not_found' },
    { path: `/review/${ROUND}/dossiers/101/`, kind: 'not_found' }, { path: `/review/${ROUND}/elsewhere/1`, kind: 'not_found' }, { path: `/reviews/${ROUND}`, kind: 'not_found' },
    { path: `/review/${ROUND}/dossiers`, kind: 'not_found' }, { path: `/review/${ROUND}/dossiers/101/attachments`, kind: 'not_found' }, { path: '/', kind: 'not_found' },
    { path: `/review/${'x'.repeat(20_000)}/dossiers/101`, kind: 'dossier', round: 'x'.repeat(20_000), dossier: 101 }, { path: `/review/${ROUND}/dossiers/101/attachments/0/x`, kind: 'not_found' },
  ) },
  { weight: 1, arbitrary: hostileString().map((s): PathPart => ({ path: `/x/${s}`, kind: 'not_found' })) },
);

/** The outcome of opening a session for a page of `round`: the status of a refusal, or the reviewer. */
function session(token: TokenPart, round: string): { refused: number } | { reviewer: ReviewerRecord } {
  if (token.outcome === 'invalid' || token.round !== round) return { refused: 403 };
  if (token.outcome === 'expired') return { refused: 403 };
  if (round === MISSING_ROUND) return { refused: 404 };
  if (!token.reviewer!.active) return { refused: 403 };
  return { reviewer: token.reviewer! };
}
const assigned = (round: string, who: ReviewerRecord, n: number) => (ASSIGNED[round]?.[who.id] ?? []).includes(n);

function expectedGet(path: PathPart, token: TokenPart): number {
  if (path.kind === 'asset') return 200;
  if (path.kind === 'missing_asset' || path.kind === 'not_found') return 404;
  const opened = session(token, path.round!);
  if ('refused' in opened) return opened.refused;
  if (path.kind === 'list') return 200;
  if (!assigned(path.round!, opened.reviewer, path.dossier!)) return 404;
  if (path.kind === 'dossier') return 200;
  return path.index! < (ATTACHMENTS[path.dossier!] ?? 0) ? 302 : 404;
}

// The form: each field valid or not, known up front.
type Field = { value?: string; valid: boolean; scored?: boolean };
const scoreValues: fc.Arbitrary<Field> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('1', '2', '3', '4', '5', ' 4 ').map((value) => ({ value, valid: true, scored: true })) },
  { weight: 2, arbitrary: fc.constantFrom<Field>({ value: '', valid: true, scored: false }, { valid: true, scored: false }) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('0', '6', '3.5', '-1', '05x', 'abc', '٣', '1e0', '+3'), hostileString().filter((s) => !/^\s*[1-5]?\s*$/.test(s) && !/^\s*0*[1-5]\s*$/.test(s)))
    .map((value) => ({ value, valid: false })) },
);
const intents = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('draft', 'submit').map((value) => ({ value, valid: true })) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom<string | undefined>('Submit', 'envoyer', '', undefined), hostileString()).filter((v) => v !== 'draft' && v !== 'submit').map((value) => ({ value, valid: false })) },
);
const comments = fc.oneof(
  { weight: 10, arbitrary: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 50 }), fc.constant('é'.repeat(5000)), fc.constant(`${'😀'.repeat(5000)}\r\n  `))
    .map((value) => ({ value, valid: true })) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(5001), '😀'.repeat(5001)).map((value) => ({ value, valid: false })) },
);
const forms = fc.record({
  intent: intents,
  scores: fc.tuple(...criteria.map(() => scoreValues)),
  unknown: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('score_', 'score_autre', 'score_IMPACT', 'score_x y') }),
  comment: comments,
  /** Ticked on drafts only here: a declared conflict hands the dossier to someone else (its own tests: reviews-core, serve-review-page). */
  conflict: fc.boolean(),
  csrf: fc.oneof({ weight: 10, arbitrary: fc.constant('matching' as const) }, { weight: 2, arbitrary: fc.constantFrom('missing', 'bruno', 'other_round', 'forged', 'expiry') }),
  version: fc.oneof({ weight: 10, arbitrary: fc.constant('current' as const) }, { weight: 2, arbitrary: fc.constantFrom('next', 'previous', 'junk') }),
  extra: fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => !k.startsWith('score_') && !['intent', 'comment', 'conflict', 'csrf', 'version'].includes(k)), hostileString(), { maxKeys: 3 }) }),
});
type Form = typeof forms extends fc.Arbitrary<infer F> ? F : never;

const contentTypes = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'Application/X-WWW-Form-Urlencoded ;charset=utf-8').map((value) => ({ value, form: true })) },
  { weight: 1, arbitrary: fc.constantFrom<string | undefined>('application/json', 'multipart/form-data; boundary=x', 'text/plain', 'application/x-www-form-urlencodedx', '', undefined).map((value) => ({ value, form: false })) },
);
const paddings = fc.oneof({ weight: 14, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(MAX_FORM_BYTES - 10, MAX_FORM_BYTES + 1, 300_000) });

// ---- requests ------------------------------------------------------------------------------

function event(method: 'GET' | 'POST', path: string, token: string | undefined, body?: string, contentType?: string, base64 = false): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { host: 'abc.execute-api.eu-west-3.amazonaws.com', 'x-forwarded-proto': 'https', 'accept-encoding': 'gzip, br' };
  if (contentType !== undefined) headers['content-type'] = contentType;
  const query = token === undefined ? undefined : { token };
  return {
    version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: query ? new URLSearchParams(query).toString() : '', headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '123456789012', apiId: 'abc', domainName: headers.host!, domainPrefix: 'abc',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'fuzz' },
      requestId: 'req', routeKey: '$default', stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
    },
    ...(body !== undefined ? { body: base64 ? Buffer.from(body).toString('base64') : body } : {}),
    isBase64Encoded: base64,
  } as APIGatewayProxyEventV2;
}

function csrfValue(form: Form, token: TokenPart): string | undefined {
  const round = token.round ?? ROUND;
  switch (form.csrf) {
    case 'matching': return token.reviewer ? formToken(SECRET, round, token.reviewer.id, future) : formToken(SECRET, ROUND, alice.id, future);
    case 'missing': return undefined;
    case 'bruno': return formToken(SECRET, round, bruno.id, future);
    case 'other_round': return formToken(SECRET, round === ROUND ? CLOSED : ROUND, token.reviewer?.id ?? alice.id, future);
    case 'forged': return formToken('another-secret', round, token.reviewer?.id ?? alice.id, future);
    case 'expiry': return formToken(SECRET, round, token.reviewer?.id ?? alice.id, new Date(future.getTime() + 1000));
  }
}
const csrfMatches = (form: Form, token: TokenPart) => form.csrf === 'matching' || (form.csrf === 'bruno' && token.reviewer?.id === bruno.id);

function formErrors(form: Form): string[] {
  const errors: string[] = [];
  if (!form.intent.valid) errors.push('intent');
  if (form.unknown) errors.push(form.unknown);
  criteria.forEach((c, i) => {
    const score = form.scores[i]!;
    if (!score.valid || (form.intent.value === 'submit' && !form.conflict && !score.scored)) errors.push(`score_${c.id}`);
  });
  if (!form.comment.valid) errors.push('comment');
  return errors;
}

beforeAll(async () => {
  dynamo = await startDynalite();
  rounds = new DynamoRoundRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const dossiers = new DynamoDossierRepository({ client: dynamo.client, tableName: dynamo.tableName });
  const round = (id: string, status: RoundRecord['status']): RoundRecord => ({
    id, status, openedAt: '2026-03-01T08:00:00Z', submissionsClosedAt: '2026-05-01T06:00:00Z', reviewDeadline: future.toISOString(),
    selectionClosedAt: status === 'closed' ? '2026-05-22T06:00:00Z' : null, capacityPosts: 6, reviewersPerDossier: 1, criteria, version: 1,
  });
  await rounds.createRound(round(ROUND, 'reviewing'));
  await rounds.createRound(round(CLOSED, 'closed'));
  await rounds.putReviewers([alice, bruno, denis]);
  for (const [n, r] of [[101, ROUND], [102, ROUND], [103, ROUND], [301, CLOSED]] as const) await dossiers.saveIfNewer(dossier(n, r));
  await rounds.putAssignments(Object.entries(ASSIGNED).flatMap(([roundId, byReviewer]) => Object.entries(byReviewer).flatMap(([reviewerId, numbers]) =>
    numbers.map((dossierNumber) => ({ roundId, dossierNumber, reviewerId, assignedAt: '2026-05-01T06:00:00Z' })))));

  restoreEnv = withEnv({
    TABLE_NAME: dynamo.tableName, BUCKET_NAME: 'fuzz-bucket', REVIEW_PAGE_URL: 'https://abc.execute-api.eu-west-3.amazonaws.com/', REVIEW_LINK_SECRET: SECRET,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/serve-review-page.ts')).handler as unknown as typeof handler;
  sdk = recordSdkCommands();
  cacheReads();
});

/**
 * Speed: dynalite answers in about a millisecond, and a page reads several items; 20,000 pages
 * would take minutes. Reads are cached (a copy per hit) and any write empties the cache, so
 * every answer is what dynalite would give; writes always reach dynalite.
 */
function cacheReads(): void {
  const proto = DynamoDBDocumentClient.prototype as unknown as { send: (command: object) => Promise<unknown> };
  const send = proto.send;
  const cache = new Map<string, Promise<unknown>>();
  // An own property of the document client's prototype, shadowing the Smithy `send` it inherits.
  Object.defineProperty(proto, 'send', { configurable: true, writable: true, value: function (this: unknown, command: object) {
    const name = command.constructor.name;
    if (!/^(Get|Query|BatchGet)Command$/.test(name)) {
      cache.clear();
      return send.call(this, command);
    }
    const key = `${name}:${JSON.stringify((command as { input: unknown }).input)}`;
    if (!cache.has(key)) {
      const answer = send.call(this, command);
      answer.catch(() => cache.delete(key));
      cache.set(key, answer);
      sdk.commands.push(name);
    }
    return cache.get(key)!.then((output) => structuredClone(output));
  } });
  restoreReads = () => { delete (proto as { send?: unknown }).send; };
}
let restoreReads = () => {};
afterAll(async () => {
  getTally.print();
  postTally.print();
  restoreReads();
  vi.restoreAllMocks();
  restoreEnv?.();
  await dynamo?.stop();
});

describe('the review page under generated requests', () => {
  it('answers every GET with the exact status, never 5xx, and never writes anything', async () => {
    await fc.assert(fc.asyncProperty(paths, tokens, fc.boolean(), async (path, token, withBody) => {
      sdk.clear();
      ses.resetHistory();
      const response = await handler(event('GET', path.path, token.value, withBody ? 'intent=submit' : undefined), lambdaContext('serve-review-page'));
      getTally.record(response.statusCode);
      expect(response.statusCode).toBeLessThan(500);
      expect(response.statusCode).toBe(expectedGet(path, token));
      expect(sdk.writes()).toEqual([]);
      expect(ses.calls()).toEqual([]);
      if (response.statusCode === 403) expect(response.body).not.toContain('Projet 10');
    }), fcParameters(10_000));
    for (const status of [200, 302, 403, 404]) expect(getTally.counts.get(status) ?? 0, `status ${status}`).toBeGreaterThan(getTally.runs / 1000);
  }, 180_000);

  it('answers every POST with the exact status, writes nothing unless it saves, and then writes the one review as posted; never 5xx', async () => {
    const savePath = fc.oneof(
      { weight: 12, arbitrary: paths.filter((p) => p.kind === 'dossier') },
      { weight: 2, arbitrary: paths },
    );
    await fc.assert(fc.asyncProperty(savePath, tokens, forms, contentTypes, paddings, fc.boolean(), async (path, token, form, contentType, padding, base64) => {
      const round = path.round ?? ROUND;
      const who = token.reviewer ?? alice;
      if (form.intent.value === 'submit') form.conflict = false;
      const tracked = path.kind === 'dossier' && assigned(round, who, path.dossier!);
      const before = tracked ? await rounds.getReview(round, path.dossier!, who.id) : undefined;
      const current = before?.version ?? 0;
      const fields = new URLSearchParams();
      const csrf = csrfValue(form, token);
      if (csrf !== undefined) fields.set('csrf', csrf);
      fields.set('version', { current: String(current), next: String(current + 1), previous: String(current - 1), junk: `${current}x` }[form.version]);
      if (form.intent.value !== undefined) fields.set('intent', form.intent.value);
      criteria.forEach((c, i) => { if (form.scores[i]!.value !== undefined) fields.set(`score_${c.id}`, form.scores[i]!.value!); });
      if (form.unknown) fields.set(form.unknown, '3');
      fields.set('comment', form.comment.value);
      if (form.conflict) fields.set('conflict', 'on');
      for (const [k, v] of Object.entries(form.extra)) fields.append(k, v);
      let body = fields.toString();
      if (padding > 0) body += `&padding=${'x'.repeat(Math.max(0, padding - Buffer.byteLength(body) - 9))}`;

      // The oracle, in the order the page decides.
      const errors = formErrors(form);
      const conflictDeclared = form.intent.value === 'submit' && form.conflict && errors.length === 0;
      let expected: number;
      const opened = path.kind === 'dossier' ? session(token, round) : undefined;
      if (path.kind !== 'dossier') expected = 404;
      else if (Buffer.byteLength(body) > MAX_FORM_BYTES) expected = 413;
      else if (!contentType.form) expected = 415;
      else if ('refused' in opened!) expected = opened.refused;
      else if (!csrfMatches(form, token)) expected = 403;
      else if (!assigned(round, opened!.reviewer, path.dossier!)) expected = 404;
      else if (round === CLOSED) expected = 409;
      else if (errors.length > 0) expected = 422;
      else expected = form.version === 'current' ? 303 : 409;

      sdk.clear();
      ses.resetHistory();
      const response = await handler(event('POST', path.path, token.value, body, contentType.value, base64), lambdaContext('serve-review-page'));
      postTally.record(response.statusCode);
      expect(response.statusCode).toBeLessThan(500);
      expect(response.statusCode).toBe(expected);
      // Each error is shown next to its field; a field the form does not have, in the summary.
      if (expected === 422) for (const field of errors) expect(response.body).toContain(field === form.unknown ? `« ${field.slice('score_'.length)} »` : `id="${field}-error"`);
      if (expected !== 303) {
        expect(sdk.writes()).toEqual([]);
        expect(ses.calls()).toEqual([]);
        if (tracked) expect(await rounds.getReview(round, path.dossier!, who.id)).toEqual(before);
        return;
      }
      // Saved: the one review, version + 1, as posted (a conflict also reassigns: other writes, one mail at most).
      const after = await rounds.getReview(round, path.dossier!, who.id);
      expect(after).toMatchObject({ version: current + 1, status: form.intent.value === 'draft' ? 'draft' : 'submitted', writtenBy: 'reviewer' });
      if (!conflictDeclared) {
        expect(sdk.writes().every((name) => /^Put(Item)?Command$/.test(name))).toBe(true);
        expect(ses.calls()).toEqual([]);
        const posted = Object.fromEntries(criteria.flatMap((c, i) => (form.scores[i]!.scored ? [[c.id, Number(form.scores[i]!.value)]] : [])));
        expect(after!.scores).toEqual(posted);
        expect(after!.comment).toBe(form.comment.value.replace(/\r\n/g, '\n').trim());
      }
    }), fcParameters(10_000));
    for (const status of [303, 403, 404, 409, 413, 415, 422]) expect(postTally.counts.get(status) ?? 0, `status ${status}`).toBeGreaterThan(postTally.runs / 500);
  }, 300_000);
});
