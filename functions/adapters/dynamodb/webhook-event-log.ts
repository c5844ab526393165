import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetDrained, batchWriteDrained, chunks, type BatchRetryOptions } from '#adapters/dynamodb/client';
import { TABLE_KEYS } from '#adapters/dynamodb/table';

/*
 * DS webhooks v2 deliver at least once: a batch may come again, whole or in part. Each event
 * carries a `sequence`, unique per webhook, so the events already queued are remembered here,
 * one item per event:
 *   pk WEBHOOK#<webhookId>  sk SEQ#<sequence padded to 15>  expiresAt (epoch seconds, TTL)
 *
 * Ordering, for callers: unseen() -> enqueue -> markSeen(). A crash between enqueue and
 * markSeen makes DS's retry enqueue the same events again: a duplicate message, harmless
 * because ingestion is idempotent. The other order could lose an event (marked seen, never
 * queued), which nothing downstream would notice.
 *
 * Expiry is DynamoDB's TTL in AWS. dynalite has no TTL (no UpdateTimeToLive), so locally the
 * records just stay: they are small, and a replay after 8 days is not a case DS produces.
 */

const { partitionKey: PK, sortKey: SK, ttlAttribute } = TABLE_KEYS;

/** BatchGetItem takes at most 100 keys per call, BatchWriteItem 25 requests. */
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
const DAY_SECONDS = 24 * 60 * 60;

export interface WebhookEventLogOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long an event is remembered: DS retries for far less than the default 8 days. */
  retentionDays?: number;
  retry?: BatchRetryOptions;
  now?: () => Date;
}

function eventKey(webhookId: string, sequence: number) {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`not a webhook sequence: ${sequence}`);
  return { [PK]: `WEBHOOK#${webhookId}`, [SK]: `SEQ#${String(sequence).padStart(15, '0')}` };
}

/** The first event of each sequence, in input order (batch calls refuse duplicate keys). */
function firstOfEachSequence<E extends { sequence: number }>(events: E[]): E[] {
  const taken = new Set<number>();
  return events.filter((event) => {
    if (taken.has(event.sequence)) return false;
    taken.add(event.sequence);
    return true;
  });
}

export class WebhookEventLog {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionDays: number;
  private readonly retry: BatchRetryOptions;
  private readonly now: () => Date;

  constructor({ client, tableName, retentionDays = 8, retry = {}, now = () => new Date() }: WebhookEventLogOptions) {
    this.client = client;
    this.tableName = tableName;
    this.retentionDays = retentionDays;
    this.retry = retry;
    this.now = now;
  }

  /** The events not seen before, in input order, each sequence once. */
  async unseen<E extends { sequence: number }>(webhookId: string, events: E[]): Promise<E[]> {
    const candidates = firstOfEachSequence(events);
    const seen = new Set<number>();
    for (const chunk of chunks(candidates, BATCH_GET_MAX)) {
      for (const sequence of await this.seenAmong(webhookId, chunk.map((event) => event.sequence))) seen.add(sequence);
    }
    return candidates.filter((event) => !seen.has(event.sequence));
  }

  /** Remembers the events; call it after they are queued (see the ordering note above). */
  async markSeen(webhookId: string, events: { sequence: number }[]): Promise<void> {
    const seenAt = this.now();
    const expiresAt = Math.floor(seenAt.getTime() / 1000) + this.retentionDays * DAY_SECONDS;
    const items = firstOfEachSequence(events).map(({ sequence }) => ({
      ...eventKey(webhookId, sequence),
      type: 'webhook_event',
      webhookId,
      sequence,
      seenAt: seenAt.toISOString(),
      [ttlAttribute]: expiresAt,
    }));
    for (const chunk of chunks(items, BATCH_WRITE_MAX)) {
      await batchWriteDrained(this.client, {
        [this.tableName]: chunk.map((Item) => ({ PutRequest: { Item } })),
      }, this.retry);
    }
  }

  private async seenAmong(webhookId: string, sequences: number[]): Promise<number[]> {
    const found = await batchGetDrained(this.client, {
      [this.tableName]: {
        Keys: sequences.map((sequence) => eventKey(webhookId, sequence)),
        // A retry can follow the first delivery within milliseconds.
        ConsistentRead: true,
        ProjectionExpression: '#sequence',
        ExpressionAttributeNames: { '#sequence': 'sequence' },
      },
    }, this.retry);
    return (found[this.tableName] ?? []).map((item) => item.sequence as number);
  }
}
