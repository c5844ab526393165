import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type {
  AssignmentRecord, AuditRecord, CommitteeDecisionRecord, ExclusionRecord, DecisionRecord, MailOutcome, NotificationRecord, ReviewRecord, ReviewerRecord, RoundRecord, RoundStatus,
  SuppressionReason,
} from '#core/rounds/model';
import type { ReviewWrite, RoundRepository, RoundWrite } from '#core/rounds/ports';
import { batchWriteDrained, chunks, isConditionalCheckFailed, queryAll, withoutStorageAttributes, type BatchRetryOptions } from '#adapters/dynamodb/client';
import { TABLE_KEYS } from '#adapters/dynamodb/table';

/*
 * The records of the selection workflow (docs/data-model.md, "Round" to "Round audit record"):
 *   round         pk ROUND#<id>          sk #ROUND                                gsi1 ROUNDS / <status>#<id>
 *   reviewer      pk REVIEWER#<id>       sk #REVIEWER                             gsi2 REVIEWERS / <id>
 *   assignment    pk ROUND#<id>          sk ASSIGNMENT#<dossier padded>#<reviewer> gsi1 REVIEWER#<reviewer> / ROUND#<id>#<dossier padded>
 *   review        pk ROUND#<id>          sk REVIEW#<dossier padded>#<reviewer>     gsi1 REVIEWER#<reviewer> / REVIEW#<id>#<dossier padded>
 *   notification  pk ROUND#<id>          sk NOTIFY#<reviewer>#<key>
 *   decision      pk ROUND#<id>          sk DECISION#<dossier padded>
 *   audit         pk ROUND#<id>          sk AUDIT#<at>#<step>
 * Single-item conditional writes, queries and batches only: dynalite, the embedded engine, has
 * no transactions and ignores ReturnValuesOnConditionCheckFailure, so a failed condition is
 * answered by a consistent read of the item. No Scan anywhere.
 */

const { partitionKey: PK, sortKey: SK, gsi1, gsi2 } = TABLE_KEYS;

type Item = Record<string, unknown>;


/** Partition key prefixes of this adapter's items (for IAM `dynamodb:LeadingKeys` conditions). */
export const ROUND_KEY_PREFIX = 'ROUND#';
export const REVIEWER_KEY_PREFIX = 'REVIEWER#';

const ROUND_SK = '#ROUND';
const REVIEWER_SK = '#REVIEWER';
const ROUNDS_INDEX_PK = 'ROUNDS';
const REVIEWERS_INDEX_PK = 'REVIEWERS';
const SK_PREFIX = {
  assignment: 'ASSIGNMENT#',
  review: 'REVIEW#',
  notification: 'NOTIFY#',
  decision: 'DECISION#',
  audit: 'AUDIT#',
  exclusion: 'EXCLUSION#',
  committee: 'COMMITTEE#',
} as const;

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_SIZE = 25;

const roundPk = (roundId: string) => `${ROUND_KEY_PREFIX}${roundId}`;
const reviewerPk = (reviewerId: string) => `${REVIEWER_KEY_PREFIX}${reviewerId}`;

/** Zero-padded to 10 digits, so that the string order of sort keys is the numeric order. */
function padded(dossierNumber: number): string {
  if (!Number.isSafeInteger(dossierNumber) || dossierNumber < 0 || dossierNumber >= 1e10) {
    throw new RangeError(`not a dossier number: ${dossierNumber}`);
  }
  return String(dossierNumber).padStart(10, '0');
}

/** Ids go into keys: refuse what would make a key ambiguous or empty. */
function keyPart(what: string, value: string): string {
  if (typeof value !== 'string' || value === '' || value.includes('#')) {
    throw new RangeError(`${what} must be a non-empty string without '#', got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The partition key of a round's items, the id checked (no `#`, not empty): the key every adapter
 * of round items (this one, the purge, the write-back records) builds the same way.
 */
export const roundPartitionKey = (roundId: string) => roundPk(checkedRoundId(roundId));

/** A round id fit for a key (not empty, no `#`), or a RangeError. */
export const checkedRoundId = (roundId: string) => keyPart('round id', roundId);

/** A dossier number in a sort key: checked and zero-padded to 10 digits (string order = numeric order). */
export { padded as paddedDossierNumber };

function roundKey(roundId: string): Item {
  return { [PK]: roundPk(keyPart('round id', roundId)), [SK]: ROUND_SK };
}

function reviewerKey(reviewerId: string): Item {
  return { [PK]: reviewerPk(keyPart('reviewer id', reviewerId)), [SK]: REVIEWER_SK };
}

function assignmentKey(roundId: string, dossierNumber: number, reviewerId: string): Item {
  return { [PK]: roundPk(keyPart('round id', roundId)), [SK]: `${SK_PREFIX.assignment}${padded(dossierNumber)}#${keyPart('reviewer id', reviewerId)}` };
}

function reviewKey(roundId: string, dossierNumber: number, reviewerId: string): Item {
  return { [PK]: roundPk(keyPart('round id', roundId)), [SK]: `${SK_PREFIX.review}${padded(dossierNumber)}#${keyPart('reviewer id', reviewerId)}` };
}

/**
 * The table keys of a round, a reviewer, an assignment and a review, each part checked: for
 * adapters that read these items with others in one batch (the review page's reads).
 */
export const roundItemKeys = { round: roundKey, reviewer: reviewerKey, assignment: assignmentKey, review: reviewKey } as const;

function roundItem(round: RoundRecord): Item {
  return {
    ...round,
    ...roundKey(round.id),
    [gsi1.partitionKey]: ROUNDS_INDEX_PK,
    [gsi1.sortKey]: `${keyPart('round status', round.status)}#${round.id}`,
    type: 'round',
  };
}

function reviewerItem(reviewer: ReviewerRecord): Item {
  return {
    ...reviewer,
    [PK]: reviewerPk(keyPart('reviewer id', reviewer.id)),
    [SK]: REVIEWER_SK,
    [gsi2.partitionKey]: REVIEWERS_INDEX_PK,
    [gsi2.sortKey]: reviewer.id,
    type: 'reviewer',
  };
}

function assignmentItem(assignment: AssignmentRecord): Item {
  const { roundId, dossierNumber, reviewerId } = assignment;
  return {
    ...assignment,
    ...assignmentKey(roundId, dossierNumber, reviewerId),
    [gsi1.partitionKey]: reviewerPk(reviewerId),
    [gsi1.sortKey]: `${ROUND_KEY_PREFIX}${roundId}#${padded(dossierNumber)}`,
    type: 'assignment',
  };
}

function reviewItem(review: ReviewRecord): Item {
  const { roundId, dossierNumber, reviewerId } = review;
  return {
    ...review,
    ...reviewKey(roundId, dossierNumber, reviewerId),
    // A reviewer's reviews, next to their assignments (ROUND#...) in the same index partition.
    [gsi1.partitionKey]: reviewerPk(reviewerId),
    [gsi1.sortKey]: `${SK_PREFIX.review}${roundId}#${padded(dossierNumber)}`,
    type: 'review',
  };
}

function notificationKey(record: Pick<NotificationRecord, 'roundId' | 'reviewerId' | 'key'>): Item {
  return {
    [PK]: roundPk(keyPart('round id', record.roundId)),
    [SK]: `${SK_PREFIX.notification}${keyPart('reviewer id', record.reviewerId)}#${keyPart('notification key', record.key)}`,
  };
}

/** `updatedAt` in UTC with milliseconds (toISOString), so that string order is time order in conditions. */
function instant(what: string, value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`${what} must be an ISO instant, got ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

function notificationItem(record: NotificationRecord): Item {
  return { ...record, updatedAt: instant('notification updatedAt', record.updatedAt), ...notificationKey(record), type: 'notification' };
}

function decisionItem(decision: DecisionRecord): Item {
  return {
    ...decision,
    [PK]: roundPk(keyPart('round id', decision.roundId)),
    [SK]: `${SK_PREFIX.decision}${padded(decision.dossierNumber)}`,
    type: 'decision',
  };
}

/** One item per (round, dossier) of a kind whose latest word wins: exclusions, committee decisions. */
function dossierWordItem(kind: 'exclusion' | 'committee', record: { roundId: string; dossierNumber: number }): Item {
  return {
    ...record,
    [PK]: roundPk(keyPart('round id', record.roundId)),
    [SK]: `${SK_PREFIX[kind]}${padded(record.dossierNumber)}`,
    type: kind === 'exclusion' ? 'exclusion' : 'committee_decision',
  };
}

function auditItem(record: AuditRecord): Item {
  if (Number.isNaN(Date.parse(record.at))) throw new RangeError(`audit record: 'at' must be an ISO instant, got ${JSON.stringify(record.at)}`);
  return {
    ...record,
    [PK]: roundPk(keyPart('round id', record.roundId)),
    [SK]: `${SK_PREFIX.audit}${record.at}#${keyPart('step', record.step)}`,
    type: 'audit',
  };
}


/** One item per key, the last one given winning: DynamoDB refuses a batch with a key twice. */
function uniqueByKey(items: Item[]): Item[] {
  const byKey = new Map<string, Item>();
  for (const item of items) byKey.set(`${item[PK] as string}\u0000${item[SK] as string}`, item);
  return [...byKey.values()];
}

export interface DynamoRoundRepositoryOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /**
   * Items per Query call. DynamoDB caps a page at 1 MB anyway and every list method reads all
   * pages; tests set it low to exercise pagination.
   */
  queryPageSize?: number;
  /** How batch writes retry unprocessed items (tests shorten it). */
  batchRetry?: BatchRetryOptions;
}

export class DynamoRoundRepository implements RoundRepository {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly queryPageSize: number | undefined;
  private readonly batchRetry: BatchRetryOptions;

  constructor({ client, tableName, queryPageSize, batchRetry = {} }: DynamoRoundRepositoryOptions) {
    if (queryPageSize !== undefined && (!Number.isInteger(queryPageSize) || queryPageSize < 1)) {
      throw new RangeError(`queryPageSize must be a positive integer, got ${queryPageSize}`);
    }
    this.client = client;
    this.tableName = tableName;
    this.queryPageSize = queryPageSize;
    this.batchRetry = batchRetry;
  }

  // Rounds

  async getRound(id: string): Promise<RoundRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: roundKey(id), ConsistentRead: true }));
    return Item ? withoutStorageAttributes<RoundRecord>(Item) : undefined;
  }

  /** Index query (eventually consistent in AWS), ordered by id: oldest first. */
  async listRoundsByStatus(status: RoundStatus): Promise<RoundRecord[]> {
    const items = await this.queryAll({
      IndexName: gsi1.indexName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': gsi1.partitionKey, '#sk': gsi1.sortKey },
      ExpressionAttributeValues: { ':pk': ROUNDS_INDEX_PK, ':prefix': `${keyPart('round status', status)}#` },
    });
    return items.map((item) => withoutStorageAttributes<RoundRecord>(item));
  }

  /** Every round (the whole `ROUNDS` index partition), ordered by id: oldest first. */
  async listRounds(): Promise<RoundRecord[]> {
    const items = await this.queryAll({
      IndexName: gsi1.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': gsi1.partitionKey },
      ExpressionAttributeValues: { ':pk': ROUNDS_INDEX_PK },
    });
    // The index orders by status first; a listing reads better in time order.
    return items
      .map((item) => withoutStorageAttributes<RoundRecord>(item))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async createRound(round: RoundRecord): Promise<RoundWrite> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: roundItem(round),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }));
      return { written: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return { written: false, current: await this.getRound(round.id) };
  }

  async updateRound(round: RoundRecord, expectedVersion: number): Promise<RoundWrite> {
    if (!Number.isSafeInteger(expectedVersion)) throw new RangeError(`not a round version: ${expectedVersion}`);
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: roundItem({ ...round, version: expectedVersion + 1 }),
        // attribute_exists too: a put on a missing round must not create it.
        ConditionExpression: 'attribute_exists(#pk) AND #version = :expected',
        ExpressionAttributeNames: { '#pk': PK, '#version': 'version' },
        ExpressionAttributeValues: { ':expected': expectedVersion },
      }));
      return { written: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return { written: false, current: await this.getRound(round.id) };
  }

  // Reviewers

  /** Replaces each reviewer's item whole (BatchWriteItem cannot merge): pass every attribute to keep. */
  async putReviewers(reviewers: ReviewerRecord[]): Promise<void> {
    await this.batchPut(reviewers.map(reviewerItem));
  }

  async getReviewer(id: string): Promise<ReviewerRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: reviewerKey(id), ConsistentRead: true }));
    return Item ? withoutStorageAttributes<ReviewerRecord>(Item) : undefined;
  }

  /**
   * Sets `suppressed`, `suppressedReason` and `suppressedAt` with one UpdateItem conditioned on the
   * reviewer existing and not being suppressed yet (the first suppression stays); then reads the
   * reviewer back, consistently. Only those three attributes are written: a name or conflicts
   * changed meanwhile stay.
   */
  async suppressReviewer(id: string, reason: SuppressionReason, at: string): Promise<{ written: boolean; reviewer: ReviewerRecord } | undefined> {
    let written = false;
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: reviewerKey(id),
        UpdateExpression: 'SET #suppressed = :true, #reason = :reason, #at = :at',
        ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#suppressed) OR #suppressed <> :true)',
        ExpressionAttributeNames: { '#pk': PK, '#suppressed': 'suppressed', '#reason': 'suppressedReason', '#at': 'suppressedAt' },
        ExpressionAttributeValues: { ':true': true, ':reason': reason, ':at': instant('suppressedAt', at) },
      }));
      written = true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const reviewer = await this.getReviewer(id);
    return reviewer ? { written, reviewer } : undefined;
  }

  /** Removes the three suppression attributes, if the reviewer is suppressed (one conditional UpdateItem). */
  async unsuppressReviewer(id: string): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: reviewerKey(id),
        UpdateExpression: 'REMOVE #suppressed, #reason, #at',
        ConditionExpression: 'attribute_exists(#pk) AND #suppressed = :true',
        ExpressionAttributeNames: { '#pk': PK, '#suppressed': 'suppressed', '#reason': 'suppressedReason', '#at': 'suppressedAt' },
        ExpressionAttributeValues: { ':true': true },
      }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Index query on gsi2 (eventually consistent in AWS), ordered by id. */
  async listReviewers(): Promise<ReviewerRecord[]> {
    const items = await this.queryAll({
      IndexName: gsi2.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': gsi2.partitionKey },
      ExpressionAttributeValues: { ':pk': REVIEWERS_INDEX_PK },
    });
    return items.map((item) => withoutStorageAttributes<ReviewerRecord>(item));
  }

  // Assignments, reviews

  async putAssignments(assignments: AssignmentRecord[]): Promise<void> {
    await this.batchPut(assignments.map(assignmentItem));
  }

  /** Consistent, ordered by dossier then reviewer. */
  async listAssignments(roundId: string): Promise<AssignmentRecord[]> {
    return this.listRoundItems<AssignmentRecord>(roundId, SK_PREFIX.assignment);
  }

  async putReview(review: ReviewRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: reviewItem(review) }));
  }

  /**
   * A put conditioned on the stored version: `attribute_not_exists(version)` for 0 (no review, or
   * one from before versions), `version = :expected` otherwise. On a lost race, reads it back.
   */
  async putReviewIfVersion(review: ReviewRecord, expectedVersion: number): Promise<ReviewWrite> {
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) throw new RangeError(`not a review version: ${expectedVersion}`);
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: reviewItem(review),
        ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#version)' : '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
      }));
      return { written: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return { written: false, current: await this.getReview(review.roundId, review.dossierNumber, review.reviewerId) };
  }

  async getReview(roundId: string, dossierNumber: number, reviewerId: string): Promise<ReviewRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: reviewKey(roundId, dossierNumber, reviewerId), ConsistentRead: true }));
    return Item ? withoutStorageAttributes<ReviewRecord>(Item) : undefined;
  }

  /** Index query on gsi1 (`REVIEWER#<id>`, `ROUND#<round>#...`), ordered by dossier. */
  async listReviewerAssignments(roundId: string, reviewerId: string): Promise<AssignmentRecord[]> {
    return this.listReviewerItems<AssignmentRecord>(reviewerId, `${ROUND_KEY_PREFIX}${keyPart('round id', roundId)}#`);
  }

  /** Consistent (the closing step ranks from it), ordered by dossier then reviewer. */
  async listReviews(roundId: string): Promise<ReviewRecord[]> {
    return this.listRoundItems<ReviewRecord>(roundId, SK_PREFIX.review);
  }

  // Notifications

  /**
   * Puts the record with status `sending` if there is none, or if the one there is `sending`
   * with an `updatedAt` before `staleBefore`. `updatedAt` is the record's (the caller's clock),
   * stored as `toISOString()` gives it, like `staleBefore`, so that string order is time order.
   */
  async claimNotification(record: NotificationRecord, staleBefore: Date): Promise<boolean> {
    const { messageId: _messageId, ...claim } = record;
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: notificationItem({ ...claim, status: 'sending' }),
        ConditionExpression: 'attribute_not_exists(#pk) OR (#status = :sending AND #updatedAt < :staleBefore)',
        ExpressionAttributeNames: { '#pk': PK, '#status': 'status', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':sending': 'sending', ':staleBefore': staleBefore.toISOString() },
      }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Stores the record as `sent` with the provider's message id (whatever the claim became: the mail went). */
  async markNotificationSent(record: NotificationRecord, messageId: string): Promise<void> {
    await this.client.send(new PutCommand({
      TableName: this.tableName,
      Item: notificationItem({ ...record, status: 'sent', messageId }),
    }));
  }

  /**
   * Deletes the claim if it is still this one: `sending` with the `updatedAt` it was claimed
   * with. A claim taken over meanwhile (stale, re-claimed by another run) or already `sent` is
   * left alone. Pass the record given to claimNotification.
   */
  async releaseNotification(record: NotificationRecord): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({
        TableName: this.tableName,
        Key: notificationKey(record),
        ConditionExpression: '#status = :sending AND #updatedAt = :claimedAt',
        ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':sending': 'sending', ':claimedAt': instant('notification updatedAt', record.updatedAt) },
      }));
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** Consistent, ordered by reviewer then key. */
  async listNotifications(roundId: string): Promise<NotificationRecord[]> {
    return this.listRoundItems<NotificationRecord>(roundId, SK_PREFIX.notification);
  }

  /**
   * One UpdateItem conditioned on the message id and on the stored outcome being absent or one of
   * `replaces`: a replayed or older event changes nothing. When the condition fails, a consistent
   * read tells an unknown notification (or another message id) from an outcome that stays.
   */
  async recordNotificationOutcome(
    notification: Pick<NotificationRecord, 'roundId' | 'reviewerId' | 'key'>,
    change: { messageId: string; outcome: MailOutcome; at: string; replaces: readonly MailOutcome[] },
  ): Promise<'recorded' | 'unchanged' | 'unmatched'> {
    const key = notificationKey(notification);
    const replaces = Object.fromEntries(change.replaces.map((outcome, index) => [`:replace${index}`, outcome]));
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #outcome = :outcome, #outcomeAt = :at',
        ConditionExpression: `#messageId = :messageId AND (attribute_not_exists(#outcome)${
          change.replaces.length > 0 ? ` OR #outcome IN (${Object.keys(replaces).join(', ')})` : ''})`,
        ExpressionAttributeNames: { '#outcome': 'outcome', '#outcomeAt': 'outcomeAt', '#messageId': 'messageId' },
        ExpressionAttributeValues: { ':outcome': change.outcome, ':at': instant('outcome at', change.at), ':messageId': change.messageId, ...replaces },
      }));
      return 'recorded';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return Item && Item.messageId === change.messageId ? 'unchanged' : 'unmatched';
  }

  // Decisions, audit

  async putDecisions(decisions: DecisionRecord[]): Promise<void> {
    await this.batchPut(decisions.map(decisionItem));
  }

  /** Consistent, ordered by dossier number. */
  async listDecisions(roundId: string): Promise<DecisionRecord[]> {
    return this.listRoundItems<DecisionRecord>(roundId, SK_PREFIX.decision);
  }

  /**
   * Audit records are never changed: the put is conditioned on the key being new. A record with
   * the same round, instant and step is a replay of the same write, and is ignored.
   */
  async putAudit(record: AuditRecord): Promise<void> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: auditItem(record),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }));
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** Consistent, in time order. */
  async listAudit(roundId: string): Promise<AuditRecord[]> {
    return this.listRoundItems<AuditRecord>(roundId, SK_PREFIX.audit);
  }

  // Exclusions, committee decisions: one item per dossier, replaced by each new word.

  async putExclusion(record: ExclusionRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: dossierWordItem('exclusion', record) }));
  }

  async listExclusions(roundId: string): Promise<ExclusionRecord[]> {
    return this.listRoundItems<ExclusionRecord>(roundId, SK_PREFIX.exclusion);
  }

  async putCommitteeDecision(record: CommitteeDecisionRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: dossierWordItem('committee', record) }));
  }

  async listCommitteeDecisions(roundId: string): Promise<CommitteeDecisionRecord[]> {
    return this.listRoundItems<CommitteeDecisionRecord>(roundId, SK_PREFIX.committee);
  }

  // Helpers

  /** The items of one kind under `ROUND#<id>`, all pages, read consistently (our own writes). */
  private async listRoundItems<T>(roundId: string, prefix: string): Promise<T[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': roundPk(keyPart('round id', roundId)), ':prefix': prefix },
      ConsistentRead: true,
    });
    return items.map((item) => withoutStorageAttributes<T>(item));
  }

  /** One reviewer's items of one kind in the gsi1 partition `REVIEWER#<id>`, all pages. */
  private async listReviewerItems<T>(reviewerId: string, prefix: string): Promise<T[]> {
    const items = await this.queryAll({
      IndexName: gsi1.indexName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': gsi1.partitionKey, '#sk': gsi1.sortKey },
      ExpressionAttributeValues: { ':pk': reviewerPk(keyPart('reviewer id', reviewerId)), ':prefix': prefix },
    });
    return items.map((item) => withoutStorageAttributes<T>(item));
  }

  /** Every page of a query, following LastEvaluatedKey. */
  private async queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    return queryAll(this.client, { ...input, TableName: this.tableName }, this.queryPageSize);
  }

  /** Unconditional puts, deduplicated by key, 25 per BatchWriteItem, unprocessed items retried. */
  private async batchPut(items: Item[]): Promise<void> {
    for (const chunk of chunks(uniqueByKey(items), BATCH_WRITE_SIZE)) {
      await batchWriteDrained(this.client, {
        [this.tableName]: chunk.map((Item) => ({ PutRequest: { Item } })),
      }, this.batchRetry);
    }
  }
}
