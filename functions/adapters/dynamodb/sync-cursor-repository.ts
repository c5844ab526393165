import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SaveCursorResult, SyncCursor, SyncCursorRepository, SyncCursorState } from '#core/ports';
import { isConditionalCheckFailed } from '#adapters/dynamodb/client';
import { TABLE_KEYS } from '#adapters/dynamodb/table';

/*
 * Where reconciliation stopped, one item per démarche (docs/data-model.md, "Sync cursor"):
 *   pk SYNC#<demarcheNumber>  sk #CURSOR
 *   updatedSince, deletedSince, filesPendingRequeuedAt, lastRunAt, lastRunId, version
 * One conditional PutItem per save (no transaction: dynalite has none). A failed condition is
 * answered by a consistent read of the item, not by ReturnValuesOnConditionCheckFailure, which
 * dynalite ignores.
 */

const { partitionKey: PK, sortKey: SK } = TABLE_KEYS;

/** The partition key prefix of cursor items: the reconcile role may only touch these (dynamodb:LeadingKeys). */
export const SYNC_CURSOR_KEY_PREFIX = 'SYNC#';
const CURSOR_SK = '#CURSOR';

const cursorKey = (demarcheNumber: number) => ({ [PK]: `${SYNC_CURSOR_KEY_PREFIX}${demarcheNumber}`, [SK]: CURSOR_SK });

const DATE_ATTRIBUTES = ['updatedSince', 'deletedSince', 'filesPendingRequeuedAt', 'lastRunAt'] as const;

export interface DynamoSyncCursorRepositoryOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

export class DynamoSyncCursorRepository implements SyncCursorRepository {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor({ client, tableName }: DynamoSyncCursorRepositoryOptions) {
    this.client = client;
    this.tableName = tableName;
  }

  async get(demarcheNumber: number): Promise<SyncCursor | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: cursorKey(demarcheNumber), ConsistentRead: true }));
    if (!Item) return undefined;
    const { [PK]: _pk, [SK]: _sk, type: _type, ...cursor } = Item;
    return cursor as SyncCursor;
  }

  async save(demarcheNumber: number, state: SyncCursorState, expectedVersion: number): Promise<SaveCursorResult> {
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) throw new RangeError(`not a cursor version: ${expectedVersion}`);
    for (const name of DATE_ATTRIBUTES) {
      const value = state[name];
      // A cursor date is absent or an instant: never an empty or unreadable value.
      if (value !== undefined && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
        throw new RangeError(`sync cursor ${name} must be an ISO instant, got ${JSON.stringify(value)}`);
      }
    }
    const cursor: SyncCursor = {
      demarcheNumber,
      ...pick(state, 'updatedSince'),
      ...pick(state, 'deletedSince'),
      ...pick(state, 'filesPendingRequeuedAt'),
      lastRunAt: state.lastRunAt,
      lastRunId: state.lastRunId,
      version: expectedVersion + 1,
    };
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...cursorKey(demarcheNumber), type: 'sync_cursor', ...cursor },
        ...(expectedVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            }),
      }));
      return { saved: true, cursor };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return { saved: false, current: await this.get(demarcheNumber) };
  }
}

function pick<K extends keyof SyncCursorState>(state: SyncCursorState, key: K): Partial<Pick<SyncCursorState, K>> {
  return state[key] === undefined ? {} : ({ [key]: state[key] } as Pick<SyncCursorState, K>);
}
