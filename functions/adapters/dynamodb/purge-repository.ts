import {
  DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient, type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { DecisionRecord } from '#core/rounds/model';
import type { RetentionRound, Tombstone } from '#core/retention/policy';
import type { PurgeRepository, RoundRecordKind, StoredDossier } from '#core/retention/ports';
import { batchWriteDrained, chunks, isConditionalCheckFailed, queryAll, withoutStorageAttributes, type BatchRetryOptions } from '#adapters/dynamodb/client';
import { DOSSIER_KEY_PREFIX } from '#adapters/dynamodb/dossier-repository';
import { roundIndexPk, statusIndexPk } from '#adapters/dynamodb/dossier-repository';
import { checkedRoundId, paddedDossierNumber as padded, roundPartitionKey as roundPk } from '#adapters/dynamodb/round-repository';
import { TABLE_KEYS } from '#adapters/dynamodb/table';

/*
 * The deletions of the data retention rules (functions/core/retention/), on the item layout of
 * dossier-repository.ts and round-repository.ts (docs/data-model.md):
 *   dossier       pk DOSSIER#<n>   sk #DOSSIER        gsi1 DOSSIERS#ROUND#<r> / <status>#<n padded>, gsi2 DOSSIERS#STATUS#<status> / <n padded>
 *   attachment    pk DOSSIER#<n>   sk FILE#<key>
 *   round         pk ROUND#<r>     sk #ROUND          gsi1 ROUNDS / <status>#<r>
 *   round records pk ROUND#<r>     sk REVIEW#, ASSIGNMENT#, NOTIFY#, EXCLUSION#, COMMITTEE#, DECISION#, AUDIT#
 * Only DOSSIER# and ROUND# partitions are touched (the purge function's IAM role allows no other),
 * through queries on known keys and the two indexes: no Scan. Single-item writes and batches, no
 * transaction (dynalite has none): each step is idempotent and the use case orders them so that
 * a crash leaves something the next run finds.
 */

const { partitionKey: PK, sortKey: SK, gsi1, gsi2, ttlAttribute } = TABLE_KEYS;
type Item = Record<string, unknown>;

const DOSSIER_SK = '#DOSSIER';
const ROUND_SK = '#ROUND';
const FILE_SK_PREFIX = 'FILE#';
const ROUND_RECORD_PREFIXES: Readonly<Record<RoundRecordKind, string>> = {
  review: 'REVIEW#',
  assignment: 'ASSIGNMENT#',
  notification: 'NOTIFY#',
  exclusion: 'EXCLUSION#',
  committee: 'COMMITTEE#',
};
const DECISION_PREFIX = 'DECISION#';
const AUDIT_PREFIX = 'AUDIT#';
/** The attribute marking a tombstone or a purged round (not part of the records' types). */
const PURGED_AT = 'purgedAt';
const BATCH_WRITE_SIZE = 25;

const dossierKey = (number: number): Item => ({ [PK]: `${DOSSIER_KEY_PREFIX}${number}`, [SK]: DOSSIER_SK });

/** The tombstone as a dossier item: the same keys and index entries as any dossier with status `deleted`. */
function tombstoneItem(tombstone: Tombstone, expiresAt: number): Item {
  const number = padded(tombstone.number);
  return {
    ...tombstone,
    ...dossierKey(tombstone.number),
    [gsi1.partitionKey]: roundIndexPk(tombstone.round),
    [gsi1.sortKey]: `${tombstone.status}#${number}`,
    [gsi2.partitionKey]: statusIndexPk(tombstone.status),
    [gsi2.sortKey]: number,
    [ttlAttribute]: expiresAt,
    type: 'dossier',
  };
}

function storedDossierOf(item: Item): StoredDossier {
  const { [ttlAttribute]: _expiresAt, ...rest } = item;
  return withoutStorageAttributes<StoredDossier>(rest);
}

export interface DynamoPurgeRepositoryOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Items per Query call (tests set it low to exercise pagination). */
  queryPageSize?: number;
  batchRetry?: BatchRetryOptions;
}

export class DynamoPurgeRepository implements PurgeRepository {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly queryPageSize: number | undefined;
  private readonly batchRetry: BatchRetryOptions;

  constructor({ client, tableName, queryPageSize, batchRetry = {} }: DynamoPurgeRepositoryOptions) {
    this.client = client;
    this.tableName = tableName;
    this.queryPageSize = queryPageSize;
    this.batchRetry = batchRetry;
  }

  async listClosedRounds(): Promise<RetentionRound[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: gsi1.indexName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': gsi1.partitionKey, '#sk': gsi1.sortKey },
      ExpressionAttributeValues: { ':pk': 'ROUNDS', ':prefix': 'closed#' },
    }, this.queryPageSize);
    return items.map((item) => ({
      id: item.id as string,
      status: item.status as RetentionRound['status'],
      openedAt: item.openedAt as string,
      selectionClosedAt: (item.selectionClosedAt as string | null | undefined) ?? null,
      ...(typeof item[PURGED_AT] === 'string' ? { purgedAt: item[PURGED_AT] as string } : {}),
    }));
  }

  async listRoundDossiers(round: string, limit: number): Promise<StoredDossier[]> {
    return this.queryUpTo({
      TableName: this.tableName,
      IndexName: gsi1.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': gsi1.partitionKey },
      ExpressionAttributeValues: { ':pk': roundIndexPk(checkedRoundId(round)) },
    }, limit);
  }

  async listDeletedUnpurged(limit: number): Promise<StoredDossier[]> {
    return this.queryUpTo({
      TableName: this.tableName,
      IndexName: gsi2.indexName,
      KeyConditionExpression: '#pk = :pk',
      // Tombstones stay in the partition until their TTL: read, filtered out, not returned.
      FilterExpression: 'attribute_not_exists(#purgedAt)',
      ExpressionAttributeNames: { '#pk': gsi2.partitionKey, '#purgedAt': PURGED_AT },
      ExpressionAttributeValues: { ':pk': statusIndexPk('deleted') },
    }, limit);
  }

  async getDossier(number: number): Promise<StoredDossier | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: dossierKey(number), ConsistentRead: true }));
    return Item ? storedDossierOf(Item) : undefined;
  }

  async deleteFileRecords(number: number, dryRun: boolean): Promise<number> {
    const keys = await this.keysOf(`${DOSSIER_KEY_PREFIX}${number}`, FILE_SK_PREFIX);
    if (!dryRun) await this.batchDelete(keys);
    return keys.length;
  }

  async deleteDossier(number: number, dryRun: boolean): Promise<number> {
    if (dryRun) return (await this.getDossier(number)) ? 1 : 0;
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: dossierKey(number) }));
    return 1;
  }

  async putTombstone(tombstone: Tombstone, expiresAt: number, condition: { expectedModifiedAtMs: number; requireDeleted: boolean }): Promise<boolean> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: tombstoneItem(tombstone, expiresAt),
        // The version read before purging: a version stored meanwhile (DS restored the dossier) wins.
        ConditionExpression: `attribute_exists(#pk) AND #modifiedAtMs = :modifiedAtMs${condition.requireDeleted ? ' AND #status = :deleted' : ''}`,
        ExpressionAttributeNames: { '#pk': PK, '#modifiedAtMs': 'modifiedAtMs', ...(condition.requireDeleted ? { '#status': 'status' } : {}) },
        ExpressionAttributeValues: { ':modifiedAtMs': condition.expectedModifiedAtMs, ...(condition.requireDeleted ? { ':deleted': 'deleted' } : {}) },
      }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async deleteRoundRecords(
    round: string, kinds: readonly RoundRecordKind[], options: { dossierNumber?: number; dryRun: boolean },
  ): Promise<Record<RoundRecordKind, number>> {
    const counts: Record<RoundRecordKind, number> = { review: 0, assignment: 0, notification: 0, exclusion: 0, committee: 0 };
    for (const kind of kinds) {
      let prefix = ROUND_RECORD_PREFIXES[kind];
      if (options.dossierNumber !== undefined) {
        // Notifications are keyed by reviewer, not dossier: they cannot be picked per dossier.
        if (kind === 'notification') throw new RangeError('notifications cannot be selected by dossier');
        prefix += padded(options.dossierNumber);
        // REVIEW#<n>#<reviewer> and ASSIGNMENT#<n>#<reviewer>: the '#' keeps 12 from matching 123.
        if (kind === 'review' || kind === 'assignment') prefix += '#';
      }
      const keys = await this.keysOf(roundPk(round), prefix);
      // EXCLUSION#<n> and COMMITTEE#<n> are the whole key: an exact match only.
      const selected = options.dossierNumber !== undefined && (kind === 'exclusion' || kind === 'committee')
        ? keys.filter((key) => key[SK] === prefix)
        : keys;
      if (!options.dryRun) await this.batchDelete(selected);
      counts[kind] = selected.length;
    }
    return counts;
  }

  async listDecisions(round: string, dossierNumber?: number): Promise<DecisionRecord[]> {
    const prefix = `${DECISION_PREFIX}${dossierNumber === undefined ? '' : padded(dossierNumber)}`;
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': roundPk(round), ':prefix': prefix },
      ConsistentRead: true,
    }, this.queryPageSize);
    return items
      .filter((item) => dossierNumber === undefined || item[SK] === prefix)
      .map((item) => withoutStorageAttributes<DecisionRecord>(item));
  }

  /** Replaces each decision whole (the reduced record has fewer attributes: a put drops the others). */
  async putDecisions(decisions: DecisionRecord[]): Promise<void> {
    const items = decisions.map((decision) => ({
      ...decision, [PK]: roundPk(decision.roundId), [SK]: `${DECISION_PREFIX}${padded(decision.dossierNumber)}`, type: 'decision',
    }));
    for (const chunk of chunks(items, BATCH_WRITE_SIZE)) {
      await batchWriteDrained(this.client, { [this.tableName]: chunk.map((Item) => ({ PutRequest: { Item } })) }, this.batchRetry);
    }
  }

  async putAudit(record: { roundId: string; step: string; at: string; actor: string; summary: Record<string, unknown> }): Promise<void> {
    if (Number.isNaN(Date.parse(record.at)) || record.step.includes('#')) throw new RangeError('audit record: bad instant or step');
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...record, [PK]: roundPk(record.roundId), [SK]: `${AUDIT_PREFIX}${record.at}#${record.step}`, type: 'audit' },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }));
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async markRoundPurged(round: string, at: string): Promise<void> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: roundPk(round), [SK]: ROUND_SK },
        UpdateExpression: 'SET #purgedAt = :at',
        // Never creates a round, never marks one that is not closed.
        ConditionExpression: 'attribute_exists(#pk) AND #status = :closed',
        ExpressionAttributeNames: { '#pk': PK, '#status': 'status', '#purgedAt': PURGED_AT },
        ExpressionAttributeValues: { ':at': at, ':closed': 'closed' },
      }));
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** The keys (pk, sk only) of a partition's items under a sort key prefix, read consistently. */
  private async keysOf(pk: string, prefix: string): Promise<Item[]> {
    return queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ProjectionExpression: '#pk, #sk',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      ConsistentRead: true,
    }, this.queryPageSize);
  }

  private async batchDelete(keys: Item[]): Promise<void> {
    for (const chunk of chunks(keys, BATCH_WRITE_SIZE)) {
      await batchWriteDrained(this.client, {
        [this.tableName]: chunk.map((key) => ({ DeleteRequest: { Key: { [PK]: key[PK], [SK]: key[SK] } } })),
      }, this.batchRetry);
    }
  }

  /** Pages of a query until `limit` items (after any filter) or the end. */
  private async queryUpTo(input: QueryCommandInput, limit: number): Promise<StoredDossier[]> {
    const records: StoredDossier[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(new QueryCommand({
        ...input,
        Limit: this.queryPageSize ?? Math.min(Math.max(limit, 1), 500),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }));
      records.push(...(page.Items ?? []).map(storedDossierOf));
      startKey = page.LastEvaluatedKey;
    } while (startKey && records.length < limit);
    return records.slice(0, limit);
  }
}
