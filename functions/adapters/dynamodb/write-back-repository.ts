import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WriteBackRecord } from '#core/write-back/model';
import type { WriteBackStore } from '#core/write-back/write-back-decisions';
import { isConditionalCheckFailed, queryAll, withoutStorageAttributes } from '#adapters/dynamodb/client';
import { TABLE_KEYS } from '#adapters/dynamodb/table';
import { paddedDossierNumber as padded, roundPartitionKey as roundPk } from '#adapters/dynamodb/round-repository';

/*
 * Where each dossier's write-back to DS stands (docs/data-model.md, "Write-back"):
 *   write-back  pk ROUND#<id>  sk WRITEBACK#<dossier padded to 10>
 *   audit       pk ROUND#<id>  sk AUDIT#<at>#write-back   (the same audit items as the round steps)
 * Unconditional puts of the whole record (the latest run's word wins; it carries the earlier
 * runs' mutations), a consistent begins_with query to list them. No Scan.
 */

const { partitionKey: PK, sortKey: SK } = TABLE_KEYS;
export const WRITEBACK_SK_PREFIX = 'WRITEBACK#';
const AUDIT_SK_PREFIX = 'AUDIT#';
export const WRITE_BACK_AUDIT_STEP = 'write-back';


export class DynamoWriteBackRepository implements WriteBackStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async putWriteBack(record: WriteBackRecord): Promise<void> {
    await this.client.send(new PutCommand({
      TableName: this.tableName,
      Item: { ...record, [PK]: roundPk(record.roundId), [SK]: `${WRITEBACK_SK_PREFIX}${padded(record.dossierNumber)}`, type: 'write_back' },
    }));
  }

  /** Consistent, ordered by dossier number. */
  async listWriteBacks(roundId: string): Promise<WriteBackRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': roundPk(roundId), ':prefix': WRITEBACK_SK_PREFIX },
      ConsistentRead: true,
    });
    return items.map((item) => withoutStorageAttributes<WriteBackRecord>(item));
  }

  /** An audit record as the round steps write theirs (never changed: a replay of the same instant is ignored). */
  async putWriteBackAudit(record: { roundId: string; at: string; actor: string; summary: Record<string, unknown> }): Promise<void> {
    if (Number.isNaN(Date.parse(record.at))) throw new RangeError(`audit record: 'at' must be an ISO instant, got ${JSON.stringify(record.at)}`);
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: {
          roundId: record.roundId, step: WRITE_BACK_AUDIT_STEP, at: record.at, actor: record.actor, summary: record.summary,
          [PK]: roundPk(record.roundId), [SK]: `${AUDIT_SK_PREFIX}${record.at}#${WRITE_BACK_AUDIT_STEP}`, type: 'audit',
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }));
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
