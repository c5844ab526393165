import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DossierRecord } from '#core/dossier';
import type { ReviewPageReads, ReviewerDossierRecords, ReviewerListRecords } from '#core/reviews/reviewer-pages';
import type { ReviewRecord, ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { batchGetDrained, chunks, withoutStorageAttributes, type BatchRetryOptions } from '#adapters/dynamodb/client';
import { dossierKey, dossierRecordOf } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundRepository, roundItemKeys } from '#adapters/dynamodb/round-repository';
import { TABLE_KEYS } from '#adapters/dynamodb/table';

/*
 * The review page's reads (functions/core/reviews/reviewer-pages.ts), each page's items in one
 * BatchGetItem of the single table, whatever their kind: the keys of patterns 13 (round), 27c
 * (reviewer), 27b (review) and 1 (dossier) of docs/data-model.md, and an assignment's own key
 * (`ROUND#<r>` / `ASSIGNMENT#<n padded>#<reviewer>`), read with them:
 *   a dossier page   round, reviewer, the assignment (by key), the review, the dossier: 1 request;
 *   the list         the reviewer's assignments (gsi1 Query), then the round, the reviewer, and
 *                    for each assignment the review and the dossier: 2 requests up to 49
 *                    assignments, one more BatchGetItem (concurrent) per 50 more.
 * Every BatchGetItem reads consistently, as the GetItems it replaces did. Each request carries a
 * fixed cost (signing, HTTP, the engine's request handling) that dwarfs reading one more item,
 * hence one batch per page rather than one GetItem per item (on dynalite, a GetItem costs about
 * 2.8 ms, a BatchGetItem of 8 dossiers about 6). No ProjectionExpression: it applies to every item
 * of the table in a batch, and these are of different kinds; the list's dossiers projected apart
 * would take a request of their own, dearer than the bytes it saves (about 2 ms on 8 dossiers).
 * The function's role needs dynamodb:BatchGetItem on the leading keys ROUND#*, REVIEWER#* and
 * DOSSIER#* together (infra/ds-selection-stack.ts, grantReviewPage).
 */

const { partitionKey: PK, sortKey: SK } = TABLE_KEYS;

type Item = Record<string, unknown>;

/** BatchGetItem takes at most 100 keys. */
export const BATCH_GET_SIZE = 100;

const keyId = (key: Item) => `${key[PK] as string}\u0000${key[SK] as string}`;

export interface DynamoReviewPageReadsOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Items per Query page of the assignments (tests set it low to exercise pagination). */
  queryPageSize?: number;
  /** How batch reads retry unprocessed keys (tests shorten it). */
  batchRetry?: BatchRetryOptions;
}

export class DynamoReviewPageReads implements ReviewPageReads {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly rounds: DynamoRoundRepository;
  private readonly batchRetry: BatchRetryOptions;

  constructor({ client, tableName, queryPageSize, batchRetry = {} }: DynamoReviewPageReadsOptions) {
    this.client = client;
    this.tableName = tableName;
    this.rounds = new DynamoRoundRepository({ client, tableName, ...(queryPageSize ? { queryPageSize } : {}) });
    this.batchRetry = batchRetry;
  }

  async readReviewerList(roundId: string, reviewerId: string): Promise<ReviewerListRecords> {
    const assignments = await this.rounds.listReviewerAssignments(roundId, reviewerId);
    const keys = assignments.map((a) => ({ review: roundItemKeys.review(roundId, a.dossierNumber, reviewerId), dossier: dossierKey(a.dossierNumber) }));
    const sessionKeys = this.sessionKeys(roundId, reviewerId);
    const items = await this.getItems([sessionKeys.round, sessionKeys.reviewer, ...keys.flatMap((k) => [k.review, k.dossier])]);
    return {
      ...this.sessionRecords(items, sessionKeys),
      assigned: assignments.map((assignment, index) => ({
        assignment,
        review: recordOf<ReviewRecord>(items, keys[index]!.review),
        dossier: dossierOf(items, keys[index]!.dossier),
      })),
    };
  }

  async readReviewerDossier(roundId: string, reviewerId: string, dossierNumber: number): Promise<ReviewerDossierRecords> {
    const sessionKeys = this.sessionKeys(roundId, reviewerId);
    const keys = {
      assignment: roundItemKeys.assignment(roundId, dossierNumber, reviewerId),
      review: roundItemKeys.review(roundId, dossierNumber, reviewerId),
      dossier: dossierKey(dossierNumber),
    };
    const items = await this.getItems([sessionKeys.round, sessionKeys.reviewer, keys.assignment, keys.review, keys.dossier]);
    return {
      ...this.sessionRecords(items, sessionKeys),
      assigned: items.has(keyId(keys.assignment)),
      review: recordOf<ReviewRecord>(items, keys.review),
      dossier: dossierOf(items, keys.dossier),
    };
  }

  private sessionKeys(roundId: string, reviewerId: string) {
    return { round: roundItemKeys.round(roundId), reviewer: roundItemKeys.reviewer(reviewerId) };
  }

  private sessionRecords(items: Map<string, Item>, keys: { round: Item; reviewer: Item }) {
    return { round: recordOf<RoundRecord>(items, keys.round), reviewer: recordOf<ReviewerRecord>(items, keys.reviewer) };
  }

  /**
   * The items found at `keys`, by key: duplicates asked once (DynamoDB refuses a batch with a key
   * twice), 100 keys per BatchGetItem, the chunks concurrently, each retried on UnprocessedKeys
   * (exponential backoff with jitter, UnprocessedItemsError after the last attempt).
   */
  private async getItems(keys: Item[]): Promise<Map<string, Item>> {
    const unique = [...new Map(keys.map((key) => [keyId(key), key])).values()];
    const answers = await Promise.all(chunks(unique, BATCH_GET_SIZE).map((chunk) => batchGetDrained(this.client, {
      [this.tableName]: { Keys: chunk, ConsistentRead: true },
    }, this.batchRetry)));
    const found = new Map<string, Item>();
    for (const answer of answers) for (const item of answer[this.tableName] ?? []) found.set(keyId(item), item);
    return found;
  }
}

function recordOf<T>(items: Map<string, Item>, key: Item): T | undefined {
  const item = items.get(keyId(key));
  return item ? withoutStorageAttributes<T>(item) : undefined;
}

function dossierOf(items: Map<string, Item>, key: Item): DossierRecord | undefined {
  const item = items.get(keyId(key));
  return item ? dossierRecordOf(item) : undefined;
}
