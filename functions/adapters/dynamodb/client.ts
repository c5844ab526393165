import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { clientConfig, type ClientOptions } from '../client-options.ts';
import { TABLE_KEYS } from './table.ts';

export type DynamoDbClientOptions = ClientOptions;

/** The DynamoDB client, on AWS, dynalite and DynamoDB Local alike (AWS_ENDPOINT_URL_DYNAMODB). */
export function createDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(clientConfig(options));
}

/**
 * Plain JS objects in and out. `removeUndefinedValues`: optional fields (`rowId`, `lastError`)
 * are simply absent from the item. Class instances are refused rather than silently
 * flattened: records are plain data.
 */
export function toDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createDocumentClient(options: DynamoDbClientOptions = {}): DynamoDBDocumentClient {
  return toDocumentClient(createDynamoDbClient(options));
}

/** How batch calls retry what DynamoDB left unprocessed (throttling, response size caps). */
export interface BatchRetryOptions {
  /** Calls per chunk before giving up, the first one included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class UnprocessedItemsError extends Error {
  constructor(operation: 'BatchGetItem' | 'BatchWriteItem', attempts: number) {
    super(`${operation}: items still unprocessed after ${attempts} attempts`);
    this.name = 'UnprocessedItemsError';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter, as AWS recommends for unprocessed batch items. */
function backoffMs(retry: number, { baseDelayMs = 50, maxDelayMs = 2_000 }: BatchRetryOptions): number {
  return Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
}

type RequestItems<T> = Record<string, T> | undefined;
const isEmpty = <T>(items: RequestItems<T>): boolean => !items || Object.keys(items).length === 0;

/**
 * One BatchGetItem call of at most 100 keys, repeated on UnprocessedKeys until drained.
 * Returns every item found, per table, in no particular order.
 */
export async function batchGetDrained(
  client: DynamoDBDocumentClient,
  requestItems: NonNullable<BatchGetCommandInput['RequestItems']>,
  retry: BatchRetryOptions = {},
): Promise<Record<string, Record<string, unknown>[]>> {
  const found: Record<string, Record<string, unknown>[]> = {};
  let pending: BatchGetCommandInput['RequestItems'] = requestItems;
  const maxAttempts = retry.maxAttempts ?? 8;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (attempt > 0) await sleep(backoffMs(attempt - 1, retry));
    const response: BatchGetCommandOutput = await client.send(new BatchGetCommand({ RequestItems: pending }));
    for (const [table, items] of Object.entries(response.Responses ?? {})) {
      (found[table] ??= []).push(...items);
    }
    pending = response.UnprocessedKeys;
    if (isEmpty(pending)) return found;
  }
  throw new UnprocessedItemsError('BatchGetItem', maxAttempts);
}

/** One BatchWriteItem call of at most 25 requests, repeated on UnprocessedItems until drained. */
export async function batchWriteDrained(
  client: DynamoDBDocumentClient,
  requestItems: NonNullable<BatchWriteCommandInput['RequestItems']>,
  retry: BatchRetryOptions = {},
): Promise<void> {
  let pending: BatchWriteCommandInput['RequestItems'] = requestItems;
  const maxAttempts = retry.maxAttempts ?? 8;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (attempt > 0) await sleep(backoffMs(attempt - 1, retry));
    const response: BatchWriteCommandOutput = await client.send(new BatchWriteCommand({ RequestItems: pending }));
    pending = response.UnprocessedItems;
    if (isEmpty(pending)) return;
  }
  throw new UnprocessedItemsError('BatchWriteItem', maxAttempts);
}

/** True for a failed ConditionExpression (by name: safe across SDK copies and mocks). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Consecutive slices of at most `size` items, in order (batch APIs cap their request size). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

type Item = Record<string, unknown>;

/** Every page of a query, following LastEvaluatedKey (for bounded collections). `pageSize` forces small pages in tests. */
export async function queryAll(client: DynamoDBDocumentClient, input: QueryCommandInput, pageSize?: number): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await client.send(new QueryCommand({
      ...input,
      ...(pageSize ? { Limit: pageSize } : {}),
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Attributes that exist for the table's sake, not the record's: stripped on the way out. */
const STORAGE_ATTRIBUTES = [
  TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey,
  TABLE_KEYS.gsi1.partitionKey, TABLE_KEYS.gsi1.sortKey, TABLE_KEYS.gsi2.partitionKey, TABLE_KEYS.gsi2.sortKey, 'type',
];

export function withoutStorageAttributes<T>(item: Item): T {
  const record = { ...item };
  for (const name of STORAGE_ATTRIBUTES) delete record[name];
  return record as T;
}
