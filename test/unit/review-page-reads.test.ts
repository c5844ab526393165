import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand, type BatchGetCommandInput, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { UnprocessedItemsError, createDocumentClient } from '#adapters/dynamodb/client';
import { BATCH_GET_SIZE, DynamoReviewPageReads } from '#adapters/dynamodb/review-page-reads';
import type { AssignmentRecord, ReviewRecord, ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { roundDossier } from '../helpers/memory-round-ports.ts';

/*
 * The review page's batch reads when DynamoDB processes only part of a batch (throttling, the
 * 16 MB answer cap) and hands the rest back as UnprocessedKeys: no local engine does that on
 * demand, so a mocked client plays a table that answers at most `perCall` keys per call.
 */

const TABLE = 'table';
const dynamo = mockClient(DynamoDBDocumentClient);
const client = createDocumentClient({ region: 'eu-west-3', credentials: { accessKeyId: 'mock', secretAccessKey: 'mock' } });
const reads = (maxAttempts = 5) => new DynamoReviewPageReads({ client, tableName: TABLE, batchRetry: { baseDelayMs: 1, maxAttempts } });

type Item = Record<string, unknown>;
const padded = (n: number) => String(n).padStart(10, '0');
const round: RoundRecord = {
  id: '2026-03', status: 'reviewing', openedAt: '2026-03-01T08:00:00Z', submissionsClosedAt: '2026-05-01T06:00:00Z', reviewDeadline: '2026-05-22T06:00:00Z',
  selectionClosedAt: null, capacityPosts: 6, reviewersPerDossier: 2, criteria: [], version: 2,
};
const alice: ReviewerRecord = { id: 'alice', email: 'alice@example.gouv.fr', name: 'Alice', conflicts: [], active: true };
const assignment = (dossierNumber: number): AssignmentRecord => ({ roundId: round.id, dossierNumber, reviewerId: 'alice', assignedAt: '2026-05-01T06:00:00Z' });
const review = (dossierNumber: number): ReviewRecord => ({
  roundId: round.id, dossierNumber, reviewerId: 'alice', scores: {}, comment: `avis ${dossierNumber}`, conflictOfInterest: false, status: 'draft', version: 1, submittedAt: null,
});

/** The items as stored: each record with its keys, index keys and type (the storage attributes the adapter strips). */
let stored: Map<string, Item>;
const keyId = (key: Item) => `${key.pk as string}|${key.sk as string}`;
function store(item: Item): void {
  stored.set(keyId(item), item);
}

/** A BatchGetItem that processes the first `perCall` keys of each call and hands the others back. */
function answerAtMost(perCall: number) {
  return (input: BatchGetCommandInput) => {
    const request = input.RequestItems![TABLE]!;
    const keys = request.Keys!;
    const [processed, left] = [keys.slice(0, perCall), keys.slice(perCall)];
    return {
      Responses: { [TABLE]: processed.map((key) => stored.get(keyId(key))).filter((item): item is Item => item !== undefined) },
      ...(left.length > 0 ? { UnprocessedKeys: { [TABLE]: { ...request, Keys: left } } } : {}),
    };
  };
}

/** The assignments' index query, two items per page. */
function answerQuery(assignments: AssignmentRecord[]) {
  return (input: QueryCommandInput) => {
    const start = Number((input.ExclusiveStartKey as { at?: number } | undefined)?.at ?? 0);
    const page = assignments.slice(start, start + 2).map((a) => ({ ...a, pk: `ROUND#${a.roundId}`, sk: `ASSIGNMENT#${padded(a.dossierNumber)}#alice`, gsi1pk: 'REVIEWER#alice', gsi1sk: `ROUND#${a.roundId}#${padded(a.dossierNumber)}`, type: 'assignment' }));
    return { Items: page, ...(start + 2 < assignments.length ? { LastEvaluatedKey: { at: start + 2 } } : {}) };
  };
}

const batchCalls = () => dynamo.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems![TABLE]!);

beforeEach(() => {
  dynamo.reset();
  stored = new Map();
  store({ ...round, pk: `ROUND#${round.id}`, sk: '#ROUND', gsi1pk: 'ROUNDS', gsi1sk: `reviewing#${round.id}`, type: 'round' });
  store({ ...alice, pk: 'REVIEWER#alice', sk: '#REVIEWER', gsi2pk: 'REVIEWERS', gsi2sk: 'alice', type: 'reviewer' });
});

function storeAssigned(numbers: number[], { reviewed = (_n: number): boolean => true }: { reviewed?: (n: number) => boolean } = {}): void {
  for (const n of numbers) {
    store({ ...assignment(n), pk: `ROUND#${round.id}`, sk: `ASSIGNMENT#${padded(n)}#alice`, type: 'assignment' });
    if (reviewed(n)) store({ ...review(n), pk: `ROUND#${round.id}`, sk: `REVIEW#${padded(n)}#alice`, type: 'review' });
    store({ ...roundDossier(n), pk: `DOSSIER#${n}`, sk: '#DOSSIER', gsi1pk: 'x', gsi1sk: 'x', gsi2pk: 'x', gsi2sk: 'x', type: 'dossier', expiresAt: 1 });
  }
}

describe('DynamoReviewPageReads: a dossier page in one BatchGetItem', () => {
  it('reads the round, the reviewer, the assignment, the review and the dossier in one consistent call', async () => {
    storeAssigned([101]);
    dynamo.on(BatchGetCommand).callsFake(answerAtMost(BATCH_GET_SIZE));
    expect(await reads().readReviewerDossier(round.id, 'alice', 101)).toEqual({ round, reviewer: alice, assigned: true, review: review(101), dossier: roundDossier(101) });
    expect(batchCalls()).toEqual([{
      ConsistentRead: true,
      Keys: [
        { pk: 'ROUND#2026-03', sk: '#ROUND' }, { pk: 'REVIEWER#alice', sk: '#REVIEWER' }, { pk: 'ROUND#2026-03', sk: `ASSIGNMENT#${padded(101)}#alice` },
        { pk: 'ROUND#2026-03', sk: `REVIEW#${padded(101)}#alice` }, { pk: 'DOSSIER#101', sk: '#DOSSIER' },
      ],
    }]);
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('asks again for UnprocessedKeys, and only for them, until none are left', async () => {
    storeAssigned([101]);
    dynamo.on(BatchGetCommand).callsFake(answerAtMost(2));
    expect(await reads().readReviewerDossier(round.id, 'alice', 101)).toEqual({ round, reviewer: alice, assigned: true, review: review(101), dossier: roundDossier(101) });
    expect(batchCalls().map((call) => call.Keys!.map(keyId))).toEqual([
      ['ROUND#2026-03|#ROUND', 'REVIEWER#alice|#REVIEWER', `ROUND#2026-03|ASSIGNMENT#${padded(101)}#alice`, `ROUND#2026-03|REVIEW#${padded(101)}#alice`, 'DOSSIER#101|#DOSSIER'],
      [`ROUND#2026-03|ASSIGNMENT#${padded(101)}#alice`, `ROUND#2026-03|REVIEW#${padded(101)}#alice`, 'DOSSIER#101|#DOSSIER'],
      ['DOSSIER#101|#DOSSIER'],
    ]);
    expect(batchCalls().every((call) => call.ConsistentRead === true)).toBe(true);
  });

  it('tells what is missing: no assignment, no review, no dossier, no round', async () => {
    dynamo.on(BatchGetCommand).callsFake(answerAtMost(BATCH_GET_SIZE));
    expect(await reads().readReviewerDossier(round.id, 'alice', 101)).toEqual({ round, reviewer: alice, assigned: false, review: undefined, dossier: undefined });
    expect(await reads().readReviewerDossier('2026-05', 'bob', 101)).toEqual({ round: undefined, reviewer: undefined, assigned: false, review: undefined, dossier: undefined });
  });

  it('gives up with UnprocessedItemsError when keys stay unprocessed', async () => {
    storeAssigned([101]);
    dynamo.on(BatchGetCommand).callsFake(answerAtMost(0));
    await expect(reads(3).readReviewerDossier(round.id, 'alice', 101)).rejects.toBeInstanceOf(UnprocessedItemsError);
    expect(batchCalls()).toHaveLength(3);
  });
});

describe('DynamoReviewPageReads: the list in a Query and one BatchGetItem per 100 keys', () => {
  const numbers = Array.from({ length: 60 }, (_, i) => 1001 + i);

  it('reads every page of assignments, then each one\'s review and dossier in chunks of 100 keys, retrying what is left', async () => {
    storeAssigned(numbers, { reviewed: (n) => n % 3 === 0 });
    dynamo.on(QueryCommand).callsFake(answerQuery(numbers.map(assignment)));
    dynamo.on(BatchGetCommand).callsFake(answerAtMost(40));

    const list = await reads().readReviewerList(round.id, 'alice');

    expect(list.round).toEqual(round);
    expect(list.reviewer).toEqual(alice);
    expect(list.assigned).toEqual(numbers.map((n) => ({ assignment: assignment(n), review: n % 3 === 0 ? review(n) : undefined, dossier: roundDossier(n) })));
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(30);
    // 2 + 2 x 60 = 122 keys: a chunk of 100 (40 per call: 3 calls) and one of 22 (1 call).
    const sizes = batchCalls().map((call) => call.Keys!.length);
    expect(sizes.sort((a, b) => b - a)).toEqual([100, 60, 22, 20]);
    const asked = batchCalls().filter((call) => call.Keys!.length === 100 || call.Keys!.length === 22).flatMap((call) => call.Keys!.map(keyId));
    expect(new Set(asked).size).toBe(122);
  });

  it('asks for a key once, even if the index gives an assignment twice', async () => {
    storeAssigned([101, 102]);
    dynamo.on(QueryCommand).callsFake(answerQuery([assignment(101), assignment(102), assignment(101)]));
    dynamo.on(BatchGetCommand).callsFake(answerAtMost(BATCH_GET_SIZE));
    const list = await reads().readReviewerList(round.id, 'alice');
    expect(list.assigned.map((a) => a.dossier?.number)).toEqual([101, 102, 101]);
    expect(batchCalls()).toHaveLength(1);
    expect(batchCalls()[0]!.Keys).toHaveLength(6);
  });

  it('an empty list still reads the round and the reviewer', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(BatchGetCommand).callsFake(answerAtMost(BATCH_GET_SIZE));
    expect(await reads().readReviewerList(round.id, 'alice')).toEqual({ round, reviewer: alice, assigned: [] });
    expect(batchCalls()[0]!.Keys).toEqual([{ pk: 'ROUND#2026-03', sk: '#ROUND' }, { pk: 'REVIEWER#alice', sk: '#REVIEWER' }]);
  });

  it('gives up with UnprocessedItemsError when a chunk stays unprocessed', async () => {
    storeAssigned(numbers);
    dynamo.on(QueryCommand).callsFake(answerQuery(numbers.map(assignment)));
    dynamo.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => (input.RequestItems![TABLE]!.Keys!.length === 22 ? answerAtMost(0)(input) : answerAtMost(BATCH_GET_SIZE)(input)));
    await expect(reads(4).readReviewerList(round.id, 'alice')).rejects.toBeInstanceOf(UnprocessedItemsError);
    expect(batchCalls().filter((call) => call.Keys!.length === 22)).toHaveLength(4);
  });
});
