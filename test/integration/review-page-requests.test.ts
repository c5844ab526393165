import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import type { ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { formToken, reviewToken } from '#core/rounds/review-links';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoReviewPageReads } from '#adapters/dynamodb/review-page-reads';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { reviewPageReadsFrom } from '#core/reviews/reviewer-pages';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import { AssetStore } from '../../functions/review-page/assets.ts';
import { serveReviewPage, type ReviewPageDependencies } from '../../functions/review-page/routes.tsx';
import { ENGINES, type RunningEngine } from '../helpers/dynamodb-engines.ts';
import { RecordingMailer, roundDossier } from '../helpers/memory-round-ports.ts';

// Issue 9: how many DynamoDB requests each view of the review page makes, counted by a middleware
// on the client, on both engines. A page reads its items in one BatchGetItem (the list: its
// assignments' Query, then one BatchGetItem per 100 keys), whatever the number of dossiers: a
// return to one GetItem per dossier, or to reads repeated across the page, fails here.

const ROUND = '2026-03';
const SECRET = 'review-link-secret-for-request-counts';
const MANY = 60;
const future = new Date(Date.now() + 30 * 86_400_000);
const criteria = ROUNDS_CONFIG.criteria;

const reviewer = (id: string, active = true): ReviewerRecord => ({ id, email: `${id}@example.gouv.fr`, name: id, conflicts: [], active });
const token = (id: string) => reviewToken(SECRET, ROUND, id, future);
/** alice has MANY dossiers (her list needs two batches: 2 + 2 x 60 keys), bob three, denis is inactive. */
const ALICE = Array.from({ length: MANY }, (_, i) => 1001 + i);
const BOB = [2001, 2002, 2003];

function event(method: 'GET' | 'POST', path: string, query: Record<string, string>, body?: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { host: 'abc.execute-api.eu-west-3.amazonaws.com', 'x-forwarded-proto': 'https', ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) };
  return {
    version: '2.0', routeKey: `${method} ${path}`, rawPath: path, rawQueryString: new URLSearchParams(query).toString(), headers, queryStringParameters: query,
    requestContext: {
      accountId: '123456789012', apiId: 'abc', domainName: headers.host!, domainPrefix: 'abc',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'req', routeKey: `${method} ${path}`, stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
    },
    ...(body ? { body } : {}),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

/** The commands the client sends, by name, from the moment `reset` is called. */
function countRequests(client: DynamoDBDocumentClient): { names: string[]; reset(): void; byCommand(): Record<string, number> } {
  const names: string[] = [];
  client.middlewareStack.add((next, context) => async (args) => {
    names.push(String(context.commandName).replace(/Command$/, ''));
    return next(args);
  }, { step: 'initialize', name: 'countReviewPageRequests' });
  return {
    names,
    reset: () => { names.length = 0; },
    byCommand: () => names.reduce<Record<string, number>>((counts, name) => ({ ...counts, [name]: (counts[name] ?? 0) + 1 }), {}),
  };
}

describe.each(ENGINES)('DynamoDB requests per view of the review page, on $name', ({ start }) => {
  let engine: RunningEngine;
  let deps: ReviewPageDependencies;
  let requests: ReturnType<typeof countRequests>;
  let rounds: DynamoRoundRepository;
  let dossiers: DynamoDossierRepository;

  beforeAll(async () => {
    engine = await start();
    rounds = new DynamoRoundRepository({ client: engine.client, tableName: engine.tableName });
    dossiers = new DynamoDossierRepository({ client: engine.client, tableName: engine.tableName });
    const round: RoundRecord = {
      id: ROUND, status: 'reviewing', openedAt: '2026-03-01T08:00:00Z', submissionsClosedAt: '2026-05-01T06:00:00Z',
      reviewDeadline: future.toISOString(), selectionClosedAt: null, capacityPosts: 6, reviewersPerDossier: 1, criteria, version: 1,
    };
    await rounds.createRound(round);
    await rounds.putReviewers([reviewer('alice'), reviewer('bob'), reviewer('denis', false)]);
    for (const number of [...ALICE, ...BOB]) {
      const record: DossierRecord = {
        ...roundDossier(number, { round: ROUND, title: `Projet ${number}` }),
        attachments: [{ champId: 'c1', label: 'Note', filename: 'note.pdf', contentType: 'application/pdf', byteSize: 10, checksum: 'AAAAAAAAAAAAAAAAAAAAAA==', virusScan: 'safe', key: `attachments/${number}/note.pdf` }],
      };
      await dossiers.saveIfNewer(record);
    }
    const assignedAt = '2026-05-01T06:00:00Z';
    await rounds.putAssignments([
      ...ALICE.map((dossierNumber) => ({ roundId: ROUND, dossierNumber, reviewerId: 'alice', assignedAt })),
      ...BOB.map((dossierNumber) => ({ roundId: ROUND, dossierNumber, reviewerId: 'bob', assignedAt })),
      { roundId: ROUND, dossierNumber: BOB[0]!, reviewerId: 'denis', assignedAt },
    ]);
    // A draft of alice's on her third dossier and a submission of bob's on his first: each list shows its own.
    await rounds.putReview({ roundId: ROUND, dossierNumber: ALICE[2]!, reviewerId: 'alice', scores: {}, comment: 'brouillon', conflictOfInterest: false, status: 'draft', version: 1, submittedAt: null });
    await rounds.putReview({ roundId: ROUND, dossierNumber: BOB[0]!, reviewerId: 'bob', scores: {}, comment: 'envoyée', conflictOfInterest: false, status: 'submitted', version: 1, submittedAt: '2026-05-02T06:00:00Z' });

    requests = countRequests(engine.client);
    deps = {
      reads: new DynamoReviewPageReads({ client: engine.client, tableName: engine.tableName }),
      rounds, dossiers,
      mailer: new RecordingMailer(),
      attachmentLinks: { downloadUrl: async (file) => `https://files.example/${file.key}` },
      assets: new AssetStore(),
      secret: SECRET, reviewPageUrl: 'https://selection.example.gouv.fr', config: ROUNDS_CONFIG, clock: { now: () => new Date() },
    };
  });
  afterAll(async () => {
    await engine?.stop();
  });
  beforeEach(() => requests.reset());

  const get = (path: string, who: string) => serveReviewPage(event('GET', path, { token: token(who) }), deps);

  it('the list: one Query of the assignments and one BatchGetItem per 100 keys, whatever the number of dossiers', async () => {
    const bobs = await get(`/review/${ROUND}`, 'bob');
    expect(bobs.statusCode).toBe(200);
    expect(requests.byCommand()).toEqual({ Query: 1, BatchGetItem: 1 });

    requests.reset();
    const alices = await get(`/review/${ROUND}`, 'alice');
    expect(alices.statusCode).toBe(200);
    // 2 + 2 x 60 = 122 keys: two BatchGetItems, sent together.
    expect(requests.byCommand()).toEqual({ Query: 1, BatchGetItem: 2 });
    for (const number of ALICE) expect(alices.body).toContain(`Projet ${number}`);
    expect(alices.body).toContain('Brouillon');
    expect(alices.body).toContain(`Il vous reste ${MANY} dossiers à évaluer`);
    expect(bobs.body).toContain('Envoyée');
    expect(bobs.body).not.toContain('Brouillon');
  });

  it('a dossier page and an attachment link: one BatchGetItem each', async () => {
    expect((await get(`/review/${ROUND}/dossiers/${ALICE[2]}`, 'alice')).body).toContain('brouillon');
    expect(requests.byCommand()).toEqual({ BatchGetItem: 1 });
    requests.reset();
    expect(await get(`/review/${ROUND}/dossiers/${ALICE[0]}/attachments/0`, 'alice')).toMatchObject({ statusCode: 302 });
    expect(requests.byCommand()).toEqual({ BatchGetItem: 1 });
  });

  it('a save: one BatchGetItem and the conditional put; an invalid or stale form, one BatchGetItem', async () => {
    const path = `/review/${ROUND}/dossiers/${ALICE[5]}`;
    const csrf = formToken(SECRET, ROUND, 'alice', future);
    const post = (fields: Record<string, string>) => serveReviewPage(event('POST', path, { token: token('alice') }, new URLSearchParams({ csrf, ...fields }).toString()), deps);
    expect(await post({ version: '0', intent: 'draft', comment: 'Premier avis' })).toMatchObject({ statusCode: 303 });
    expect(requests.byCommand()).toEqual({ BatchGetItem: 1, PutItem: 1 });

    requests.reset();
    expect(await post({ version: '1', intent: 'submit', comment: 'Il manque les notes' })).toMatchObject({ statusCode: 422 });
    expect(requests.byCommand()).toEqual({ BatchGetItem: 1 });

    requests.reset();
    const stale = await post({ version: '0', intent: 'draft', comment: 'Un autre onglet' });
    expect(stale.statusCode).toBe(409);
    expect(stale.body).toContain('Premier avis');
    // The page's read already shows another version: nothing written, the page built from that read.
    expect(requests.byCommand()).toEqual({ BatchGetItem: 1 });
  });

  it('refusals: none for a link that is not genuine; the page\'s one read for a genuine one', async () => {
    expect((await serveReviewPage(event('GET', `/review/${ROUND}`, { token: `${token('alice')}x` }), deps)).statusCode).toBe(403);
    expect(requests.names).toEqual([]);
    expect((await get(`/review/${ROUND}/dossiers/${BOB[0]}`, 'denis')).statusCode).toBe(403);
    expect((await get(`/review/${ROUND}/dossiers/${BOB[1]}`, 'alice')).statusCode).toBe(404);
    expect(requests.byCommand()).toEqual({ BatchGetItem: 2 });
  });

  it('reads what the reference composition of single reads gives, for every page', async () => {
    const reference = reviewPageReadsFrom(rounds, dossiers);
    for (const [who, numbers] of [['alice', ALICE], ['bob', BOB], ['denis', [BOB[0]!]], ['nobody', []]] as const) {
      expect(await deps.reads.readReviewerList(ROUND, who)).toEqual(await reference.readReviewerList(ROUND, who));
      for (const number of [...numbers.slice(0, 3), BOB[1]!, 9_999]) {
        expect(await deps.reads.readReviewerDossier(ROUND, who, number)).toEqual(await reference.readReviewerDossier(ROUND, who, number));
      }
    }
    expect(await deps.reads.readReviewerList('2099-01', 'alice')).toEqual({ round: undefined, reviewer: expect.objectContaining({ id: 'alice' }), assigned: [] });
  });
});
