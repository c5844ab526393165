import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { UnprocessedItemsError, createDocumentClient } from '#adapters/dynamodb/client';
import { WebhookEventLog } from '#adapters/dynamodb/webhook-event-log';

/*
 * DynamoDB may process only part of a batch (throttling, size caps) and hand back the rest
 * as UnprocessedKeys / UnprocessedItems. No local engine does that on demand, so a mocked
 * client plays it here.
 */

const TABLE = 'table';
const WEBHOOK = 'wh-1';
const dynamo = mockClient(DynamoDBDocumentClient);
const client = createDocumentClient({ region: 'eu-west-3', credentials: { accessKeyId: 'mock', secretAccessKey: 'mock' } });
const log = new WebhookEventLog({ client, tableName: TABLE, retry: { baseDelayMs: 1, maxAttempts: 4 } });

const key = (sequence: number) => ({ pk: `WEBHOOK#${WEBHOOK}`, sk: `SEQ#${String(sequence).padStart(15, '0')}` });
const events = (...sequences: number[]) => sequences.map((sequence) => ({ sequence }));
const putRequest = (sequence: number) => ({ PutRequest: { Item: expect.objectContaining({ ...key(sequence), sequence }) } });

beforeEach(() => {
  dynamo.reset();
});

describe('BatchWriteItem retries', () => {
  it('sends UnprocessedItems again until none are left', async () => {
    const leftAfterFirst = { [TABLE]: [{ PutRequest: { Item: { ...key(2), sequence: 2 } } }, { PutRequest: { Item: { ...key(3), sequence: 3 } } }] };
    const leftAfterSecond = { [TABLE]: [{ PutRequest: { Item: { ...key(3), sequence: 3 } } }] };
    dynamo.on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: leftAfterFirst })
      .resolvesOnce({ UnprocessedItems: leftAfterSecond })
      .resolvesOnce({ UnprocessedItems: {} });

    await log.markSeen(WEBHOOK, events(1, 2, 3));

    const calls = dynamo.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(3);
    expect(calls[0]!.args[0].input.RequestItems).toEqual({ [TABLE]: [putRequest(1), putRequest(2), putRequest(3)] });
    expect(calls[1]!.args[0].input.RequestItems).toEqual(leftAfterFirst);
    expect(calls[2]!.args[0].input.RequestItems).toEqual(leftAfterSecond);
  });

  it('writes in chunks of 25', async () => {
    dynamo.on(BatchWriteCommand).resolves({});
    await log.markSeen(WEBHOOK, events(...Array.from({ length: 60 }, (_, i) => i)));
    const sizes = dynamo.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems?.[TABLE]?.length);
    expect(sizes).toEqual([25, 25, 10]);
  });

  it('gives up with UnprocessedItemsError when items stay unprocessed', async () => {
    dynamo.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: key(1) } }] } });
    await expect(log.markSeen(WEBHOOK, events(1))).rejects.toBeInstanceOf(UnprocessedItemsError);
    expect(dynamo.commandCalls(BatchWriteCommand)).toHaveLength(4);
  });
});

describe('BatchGetItem retries', () => {
  it('asks for UnprocessedKeys again until none are left, and merges what each call found', async () => {
    const projection = { ConsistentRead: true, ProjectionExpression: '#sequence', ExpressionAttributeNames: { '#sequence': 'sequence' } };
    const leftAfterFirst = { [TABLE]: { ...projection, Keys: [key(3), key(4)] } };
    const leftAfterSecond = { [TABLE]: { ...projection, Keys: [key(4)] } };
    dynamo.on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE]: [{ sequence: 1 }] }, UnprocessedKeys: leftAfterFirst })
      .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: leftAfterSecond })
      .resolvesOnce({ Responses: { [TABLE]: [{ sequence: 4 }] } });

    const fresh = await log.unseen(WEBHOOK, events(1, 2, 3, 4));

    expect(fresh).toEqual(events(2, 3));
    const calls = dynamo.commandCalls(BatchGetCommand);
    expect(calls).toHaveLength(3);
    expect(calls[0]!.args[0].input.RequestItems?.[TABLE]?.Keys).toEqual([key(1), key(2), key(3), key(4)]);
    expect(calls[1]!.args[0].input.RequestItems).toEqual(leftAfterFirst);
    expect(calls[2]!.args[0].input.RequestItems).toEqual(leftAfterSecond);
  });

  it('reads in chunks of 100', async () => {
    dynamo.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    const fresh = await log.unseen(WEBHOOK, events(...Array.from({ length: 250 }, (_, i) => i)));
    expect(fresh).toHaveLength(250);
    const sizes = dynamo.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems?.[TABLE]?.Keys?.length);
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('gives up with UnprocessedItemsError when keys stay unprocessed', async () => {
    dynamo.on(BatchGetCommand).resolves({ Responses: {}, UnprocessedKeys: { [TABLE]: { Keys: [key(1)] } } });
    await expect(log.unseen(WEBHOOK, events(1))).rejects.toBeInstanceOf(UnprocessedItemsError);
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(4);
  });
});
