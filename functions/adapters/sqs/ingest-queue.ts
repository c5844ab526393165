import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { IngestMessageSchema, type IngestMessage } from '#schemas/ingest-message';

/** SendMessageBatch takes at most 10 entries. */
export const SQS_BATCH_SIZE = 10;

/** Some messages were not queued: the caller must fail (webhook: answer 5xx) so the sender retries. */
export class IngestQueueError extends Error {
  override name = 'IngestQueueError';
  constructor(
    readonly failedCount: number,
    readonly total: number,
    /** SQS error codes (e.g. `InternalError`), never message content. */
    readonly codes: string[],
    options?: ErrorOptions,
  ) {
    super(`${failedCount} of ${total} ingest messages could not be queued (${codes.join(', ') || 'no error code'})`, options);
  }
}

/** A message that does not match IngestMessageSchema: a bug in the caller, refused before anything is sent. */
export class InvalidIngestMessageError extends Error {
  override name = 'InvalidIngestMessageError';
}

export interface SqsIngestQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /** SendMessageBatch calls per chunk for entries SQS reports as Failed, the first one included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Failure {
  id: string;
  code: string;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SqsIngestQueue {
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: SqsIngestQueueOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * Queues every message, 10 per SendMessageBatch call. All are validated before the first call.
   * Entries SQS reports as failed are sent again with backoff, except sender faults (the same
   * entry would fail again). Throws IngestQueueError naming how many were not queued; when the
   * call itself throws (the SDK has already retried it), the rest is not attempted.
   */
  async send(messages: IngestMessage[]): Promise<void> {
    const entries = messages.map(toEntry);
    const failures: Failure[] = [];
    for (const [index, chunk] of chunks(entries, SQS_BATCH_SIZE).entries()) {
      try {
        failures.push(...(await this.sendChunk(chunk)));
      } catch (error) {
        // Counted as not queued: this whole chunk (some of it may have gone) and every later one.
        const unsent = entries.length - index * SQS_BATCH_SIZE;
        throw new IngestQueueError(failures.length + unsent, entries.length, [errorName(error)], { cause: error });
      }
    }
    if (failures.length > 0) {
      throw new IngestQueueError(failures.length, entries.length, [...new Set(failures.map((failure) => failure.code))]);
    }
  }

  /** Sends one chunk, retrying the entries SQS could not take; returns those still not queued. */
  private async sendChunk(chunk: SendMessageBatchRequestEntry[]): Promise<Failure[]> {
    let pending = chunk;
    const permanent: Failure[] = [];
    let retryable: Failure[] = [];
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoffMs(attempt - 1));
      const output = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
      const failed = output.Failed ?? [];
      permanent.push(...failed.filter((entry) => entry.SenderFault === true).map(toFailure));
      retryable = failed.filter((entry) => entry.SenderFault !== true).map(toFailure);
      const retryIds = new Set(retryable.map((failure) => failure.id));
      pending = pending.filter((entry) => retryIds.has(entry.Id!));
    }
    return [...permanent, ...retryable];
  }

  /** Exponential backoff with full jitter. */
  private backoffMs(retry: number): number {
    return Math.round(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1)));
  }
}

/** Validates one message and makes it a batch entry; its Id is its index in the `send` call. */
function toEntry(message: IngestMessage, index: number): SendMessageBatchRequestEntry {
  const parsed = IngestMessageSchema.safeParse(message);
  if (!parsed.success) {
    throw new InvalidIngestMessageError(`Ingest message #${index} is invalid:\n${z.prettifyError(parsed.error)}`);
  }
  return { Id: String(index), MessageBody: JSON.stringify(parsed.data) };
}

function toFailure(entry: BatchResultErrorEntry): Failure {
  return { id: entry.Id ?? '', code: entry.Code ?? 'UnknownError' };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
