import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AttachmentRecord, DossierRecord, DossierStatus } from '#core/dossier';
import type { DossierRepository, SaveResult } from '#core/ports';
import { UNASSIGNED_ROUND } from '#core/round';
import { isConditionalCheckFailed, queryAll, withoutStorageAttributes } from '#adapters/dynamodb/client';
import { TABLE_KEYS } from '#adapters/dynamodb/table';

/*
 * Item layout (docs/data-model.md has the whole table):
 *   dossier     pk DOSSIER#<n>  sk #DOSSIER       gsi1 DOSSIERS#ROUND#<round> / <status>#<n padded>
 *                                                 gsi2 DOSSIERS#STATUS#<status> / <n padded>
 *   attachment  pk DOSSIER#<n>  sk FILE#<s3 key>
 * Every write is a single-item (conditional) write: dynalite, the embedded engine, has no
 * transactions, and one code path must serve dynalite, DynamoDB Local and DynamoDB.
 */

const { partitionKey: PK, sortKey: SK, gsi1, gsi2, ttlAttribute } = TABLE_KEYS;

type Item = Record<string, unknown>;


const DOSSIER_SK = '#DOSSIER';
const FILE_SK_PREFIX = 'FILE#';

/** The partition of a dossier and its files: IAM policies limit roles to it by this prefix. */
export const DOSSIER_KEY_PREFIX = 'DOSSIER#';
const dossierPk = (number: number) => `${DOSSIER_KEY_PREFIX}${number}`;
/** Zero-padded so that the string order of index sort keys is the numeric order. */
const padded = (number: number) => String(number).padStart(10, '0');
/** The index partitions of dossiers: by round (gsi1) and by status (gsi2); the purge reads and writes them too. */
export const roundIndexPk = (round: string) => `DOSSIERS#ROUND#${round}`;
export const statusIndexPk = (status: DossierStatus) => `DOSSIERS#STATUS#${status}`;

/** The table key of a dossier's item (exported for adapters that read it with others in one batch). */
export function dossierKey(number: number): Item {
  return { [PK]: dossierPk(number), [SK]: DOSSIER_SK };
}

/** The two index key attributes that follow the status: any status change rewrites both. */
function statusIndexKeys(number: number, status: DossierStatus): Item {
  return { [gsi1.sortKey]: `${status}#${padded(number)}`, [gsi2.partitionKey]: statusIndexPk(status) };
}

function dossierItem(record: DossierRecord): Item {
  return {
    ...record,
    ...dossierKey(record.number),
    [gsi1.partitionKey]: roundIndexPk(record.round),
    [gsi2.sortKey]: padded(record.number),
    ...statusIndexKeys(record.number, record.status),
    type: 'dossier',
  };
}

function attachmentItem(record: AttachmentRecord): Item {
  return { ...record, [PK]: dossierPk(record.dossierNumber), [SK]: `${FILE_SK_PREFIX}${record.key}`, type: 'attachment' };
}


/** What DossierRecord a dossier DS never showed us gets: nothing known but its number. */
function missingDossier(number: number, demarcheNumber: number, status: DossierStatus, at: Date): DossierRecord {
  return {
    number,
    demarcheNumber,
    state: null,
    status,
    dateDerniereModification: null,
    modifiedAtMs: 0,
    dateDepot: null,
    round: UNASSIGNED_ROUND,
    project: null,
    issues: [],
    attachments: [],
    filesComplete: true,
    snapshotKey: null,
    ingestedAt: at.toISOString(),
  };
}

/**
 * How long the record of a dossier we never stored, marked not_found or deleted, is kept.
 * Anyone holding the legacy webhook token can name any dossier number: such records carry no
 * personal data (number, démarche, status, time) and expire through the table's TTL, so junk
 * does not pile up. A dossier we had stored keeps its data and gets no expiry (docs/data-model.md).
 */
export const MISSING_DOSSIER_RETENTION_DAYS = 30;

/** A dossier item as a record: the expiry of a minimal record is storage, not part of the record. */
export function dossierRecordOf(item: Item): DossierRecord {
  const { [ttlAttribute]: _expiresAt, ...rest } = item;
  return withoutStorageAttributes<DossierRecord>(rest);
}

/** `SET status, gsi1sk, gsi2pk`: the update parts every status change shares. */
function statusChange(number: number, status: DossierStatus) {
  const keys = statusIndexKeys(number, status);
  return {
    set: ['#status = :status', '#gsi1sk = :gsi1sk', '#gsi2pk = :gsi2pk'],
    names: { '#status': 'status', '#gsi1sk': gsi1.sortKey, '#gsi2pk': gsi2.partitionKey },
    values: { ':status': status, ':gsi1sk': keys[gsi1.sortKey], ':gsi2pk': keys[gsi2.partitionKey] },
  };
}

export interface ListOptions {
  /** Items per page; 100 by default. */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

export interface DossierPage {
  items: DossierRecord[];
  /** Present when there may be more: pass it back to get the next page. */
  cursor?: string;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor: pass back the cursor of the previous page unchanged');
    this.name = 'InvalidCursorError';
  }
}

/** Opaque to callers: base64url of the LastEvaluatedKey (our keys are all strings). */
export function encodeCursor(lastEvaluatedKey: Item | undefined): string | undefined {
  return lastEvaluatedKey ? Buffer.from(JSON.stringify(lastEvaluatedKey)).toString('base64url') : undefined;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    && Object.values(value).every((field) => typeof field === 'string');
}

export function decodeCursor(cursor: string): Record<string, string> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!isStringMap(key) || !(PK in key)) throw new InvalidCursorError();
  return key;
}

const DEFAULT_PAGE_SIZE = 100;

function pageSize(limit: number | undefined): number {
  const size = limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return size;
}

export interface DynamoDossierRepositoryOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /**
   * Items per Query call when a method reads every page (listAttachments). DynamoDB caps a
   * page at 1 MB anyway; tests set it low to exercise pagination.
   */
  queryPageSize?: number;
}

export class DynamoDossierRepository implements DossierRepository {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly queryPageSize: number | undefined;

  constructor({ client, tableName, queryPageSize }: DynamoDossierRepositoryOptions) {
    this.client = client;
    this.tableName = tableName;
    this.queryPageSize = queryPageSize;
  }

  async saveIfNewer(record: DossierRecord): Promise<SaveResult> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: dossierItem(record),
        // A missing dossier (not_found, deleted) is replaced by any version: DS shows it again.
        ConditionExpression: 'attribute_not_exists(#pk) OR #modifiedAtMs < :modifiedAtMs OR #status IN (:notFound, :deleted)',
        ExpressionAttributeNames: { '#pk': PK, '#modifiedAtMs': 'modifiedAtMs', '#status': 'status' },
        ExpressionAttributeValues: { ':modifiedAtMs': record.modifiedAtMs, ':notFound': 'not_found', ':deleted': 'deleted' },
      }));
      return { written: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    // The item that won is read back rather than taken from ReturnValuesOnConditionCheckFailure:
    // dynalite ignores that parameter, and the same code must run on every engine.
    const current = await this.get(record.number);
    // Dossier items are never deleted, so a refused write always leaves one to read.
    if (!current) throw new Error(`dossier ${record.number}: write refused but no stored item found`);
    return { written: false, current };
  }

  async get(number: number): Promise<DossierRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({
      TableName: this.tableName,
      Key: dossierKey(number),
      ConsistentRead: true,
    }));
    return Item ? dossierRecordOf(Item) : undefined;
  }

  async completeFiles(number: number, modifiedAtMs: number, status: DossierStatus): Promise<boolean> {
    const change = statusChange(number, status);
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: dossierKey(number),
        UpdateExpression: `SET #filesComplete = :true, ${change.set.join(', ')}`,
        // Same version only; and a dossier marked missing meanwhile stays missing (its
        // modifiedAtMs is unchanged by markMissing, so the version test alone would revive it).
        ConditionExpression: 'attribute_exists(#pk) AND #modifiedAtMs = :modifiedAtMs AND NOT (#status IN (:notFound, :deleted))',
        ExpressionAttributeNames: { ...change.names, '#pk': PK, '#modifiedAtMs': 'modifiedAtMs', '#filesComplete': 'filesComplete' },
        ExpressionAttributeValues: {
          ...change.values, ':true': true, ':modifiedAtMs': modifiedAtMs, ':notFound': 'not_found', ':deleted': 'deleted',
        },
      }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Update if the dossier exists, create a minimal record if not. Both writes are conditional,
   * so a save that lands in between is never overwritten by the minimal record: the put then
   * fails and the update is tried once more, on the item that save created.
   */
  async markMissing(number: number, demarcheNumber: number, status: 'not_found' | 'deleted', at: Date): Promise<void> {
    if (await this.updateStatusIfExists(number, status)) return;
    const expiresAt = Math.floor(at.getTime() / 1000) + MISSING_DOSSIER_RETENTION_DAYS * 24 * 60 * 60;
    if (await this.createIfAbsent(missingDossier(number, demarcheNumber, status, at), { [ttlAttribute]: expiresAt })) return;
    if (await this.updateStatusIfExists(number, status)) return;
    throw new Error(`dossier ${number}: could not mark it ${status} (item appeared and vanished)`);
  }

  async listAttachments(number: number): Promise<AttachmentRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :filePrefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': dossierPk(number), ':filePrefix': FILE_SK_PREFIX },
      // Ingestion plans its file fetches from this right after writing: read our own writes.
      ConsistentRead: true,
    });
    return items.map((item) => withoutStorageAttributes<AttachmentRecord>(item));
  }

  /**
   * The key is content-addressed, so rewriting it is harmless, except that a late
   * `scan_pending` or `fetch_failed` must never hide a file already archived: only a write
   * of `stored` may replace `stored`.
   */
  async putAttachment(record: AttachmentRecord): Promise<void> {
    const put = { TableName: this.tableName, Item: attachmentItem(record) };
    if (record.status === 'stored') {
      await this.client.send(new PutCommand(put));
      return;
    }
    try {
      await this.client.send(new PutCommand({
        ...put,
        ConditionExpression: 'attribute_not_exists(#pk) OR #status <> :stored',
        ExpressionAttributeNames: { '#pk': PK, '#status': 'status' },
        ExpressionAttributeValues: { ':stored': 'stored' },
      }));
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** Dossiers of a round, ordered by status then number; only one status when given. */
  async listByRound(round: string, options: ListOptions & { status?: DossierStatus } = {}): Promise<DossierPage> {
    const byStatus = options.status !== undefined;
    return this.queryPage({
      TableName: this.tableName,
      IndexName: gsi1.indexName,
      KeyConditionExpression: byStatus ? '#pk = :pk AND begins_with(#sk, :statusPrefix)' : '#pk = :pk',
      ExpressionAttributeNames: byStatus ? { '#pk': gsi1.partitionKey, '#sk': gsi1.sortKey } : { '#pk': gsi1.partitionKey },
      ExpressionAttributeValues: {
        ':pk': roundIndexPk(round),
        ...(byStatus ? { ':statusPrefix': `${options.status}#` } : {}),
      },
    }, options);
  }

  /** Dossiers with one status across rounds, ordered by number. */
  async listByStatus(status: DossierStatus, options: ListOptions = {}): Promise<DossierPage> {
    return this.queryPage({
      TableName: this.tableName,
      IndexName: gsi2.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': gsi2.partitionKey },
      ExpressionAttributeValues: { ':pk': statusIndexPk(status) },
    }, options);
  }

  /** Returns false when there is no such dossier. */
  private async updateStatusIfExists(number: number, status: DossierStatus): Promise<boolean> {
    const change = statusChange(number, status);
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: dossierKey(number),
        UpdateExpression: `SET ${change.set.join(', ')}`,
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { ...change.names, '#pk': PK },
        ExpressionAttributeValues: change.values,
      }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Returns false when the dossier exists already. `extra`: storage attributes (the expiry). */
  private async createIfAbsent(record: DossierRecord, extra: Item = {}): Promise<boolean> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...dossierItem(record), ...extra },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** One page of an index query, as records, with the cursor of the next. */
  private async queryPage(input: QueryCommandInput, options: ListOptions): Promise<DossierPage> {
    const { Items = [], LastEvaluatedKey } = await this.client.send(new QueryCommand({
      ...input,
      Limit: pageSize(options.limit),
      ...(options.cursor ? { ExclusiveStartKey: decodeCursor(options.cursor) } : {}),
    }));
    const cursor = encodeCursor(LastEvaluatedKey);
    return { items: Items.map(dossierRecordOf), ...(cursor ? { cursor } : {}) };
  }

  /** Every page of a query (for bounded collections, such as the files of one dossier). */
  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    return queryAll(this.client, input, this.queryPageSize);
  }
}
