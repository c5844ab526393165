import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

/**
 * The local stand-in for Lambda's SQS event source mapping (with ReportBatchItemFailures):
 * `maxConcurrency` pollers long-poll the queue, gather up to `batchSize` records (waiting at
 * most `maxBatchingWindowSeconds` for a batch to fill), invoke the handler with the event
 * Lambda would build, and delete the records that did not fail. Failed records are left alone:
 * they reappear after the visibility timeout, and the queue's redrive policy sends them to the
 * DLQ after maxReceiveCount receives, exactly as on AWS.
 *
 * As Lambda decides from the handler's outcome:
 * - it throws (or exceeds `timeoutSeconds`): the whole batch failed, nothing is deleted;
 * - it returns nothing, or no / an empty `batchItemFailures`: the whole batch succeeded;
 * - it lists `batchItemFailures`: those records failed, the others are deleted;
 * - its response is invalid (not an object, an itemIdentifier missing, empty or not in the
 *   batch): the whole batch failed.
 */

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface BatchReport {
  size: number;
  succeeded: number;
  failed: number;
  durationMs: number;
  /** Why the whole batch failed: the error's name, `Timeout` or `InvalidResponse`. Never message content. */
  error?: string;
  /** Successful records whose delete SQS refused (they will be delivered again). */
  deleteFailures: number;
}

export interface QueueConsumerOptions {
  /** A real SQSClient pointed at the queue's endpoint. */
  sqsClient: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsBatchHandler;
  /** Records per invocation at most. */
  batchSize: number;
  /** How long to wait for a batch to fill once its first record is in (0 or unset: invoke at once). */
  maxBatchingWindowSeconds?: number;
  /** Invocations running at once at most. */
  maxConcurrency: number;
  /** Lambda's function name and timeout, for the invocation context. */
  functionName?: string;
  timeoutSeconds?: number;
  /** Called after each batch (logging, progress). */
  onBatch?: (report: BatchReport) => void;
  /** Called when a receive or delete call fails; by default logged to stderr. */
  onError?: (error: Error) => void;
}

const MAX_RECEIVE_PER_CALL = 10;
const LONG_POLL_SECONDS = 20;
/** Under a second of batching window left: short polls this far apart, as WaitTimeSeconds counts whole seconds. */
const SHORT_POLL_INTERVAL_MS = 50;
/** After a failed receive, before the next one (the SDK has retried already). */
const RECEIVE_RETRY_DELAY_MS = 1_000;
const DELETE_BATCH_SIZE = 10;

export class QueueConsumer {
  private readonly options: QueueConsumerOptions;
  private readonly region: string;
  private stopping = new AbortController();
  private pollers: Promise<void>[] = [];
  /** Batches received and not settled yet (handler running, or deletes pending). */
  private batchesInProgress = 0;

  constructor(options: QueueConsumerOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error('batchSize must be a positive integer');
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) throw new Error('maxConcurrency must be a positive integer');
    this.options = options;
    this.region = options.queueArn.split(':')[3] ?? 'eu-west-3';
  }

  /** Starts the pollers; returns at once. */
  start(): void {
    if (this.pollers.length > 0) return;
    this.stopping = new AbortController();
    this.pollers = Array.from({ length: this.options.maxConcurrency }, () => this.poll());
  }

  /** Stops polling and waits for the batches already received to be handled and settled. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.pollers);
    this.pollers = [];
  }

  /**
   * For tests: resolves once the queue has no visible, in-flight or delayed message and no
   * batch is being handled (failed records count until they end up deleted or in the DLQ).
   */
  async drain({ timeoutMs = 30_000, pollMs = 50 }: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = await this.messagesLeft();
      if (left === 0 && this.batchesInProgress === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`QueueConsumer.drain: ${left} message(s) still in ${this.options.queueUrl} after ${timeoutMs} ms`);
      }
      await sleep(pollMs);
    }
  }

  // --- polling ------------------------------------------------------------------------------

  /** One poller: gather a batch, handle it, repeat until stopped. */
  private async poll(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const messages = await this.gatherBatch();
        // Even when stopping: these are received, handling them beats leaving them hidden.
        if (messages.length > 0) await this.handleBatch(messages);
      } catch (error) {
        // A bug here must not end the poller (nor reject unobserved): report it and go on.
        this.reportError(error);
        await sleep(RECEIVE_RETRY_DELAY_MS, this.stopping.signal);
      }
    }
  }

  /**
   * Up to batchSize messages: waits for a first one, then at most the batching window for more.
   * A message received again meanwhile (its visibility timeout shorter than the window) is kept
   * once, with its latest receipt handle: the earlier one no longer deletes it.
   */
  private async gatherBatch(): Promise<Message[]> {
    const { batchSize } = this.options;
    const windowMs = (this.options.maxBatchingWindowSeconds ?? 0) * 1000;
    const messages = new Map<string, Message>();
    let windowEnd = Infinity;
    while (messages.size < batchSize && !this.stopping.signal.aborted) {
      const leftMs = windowEnd - Date.now();
      if (leftMs <= 0) break;
      if (leftMs < 1000) await sleep(Math.min(leftMs, SHORT_POLL_INTERVAL_MS), this.stopping.signal);
      const waitSeconds = Math.min(LONG_POLL_SECONDS, Math.floor(leftMs / 1000));
      const received = await this.receive(Math.min(MAX_RECEIVE_PER_CALL, batchSize - messages.size), waitSeconds);
      if (received.length > 0 && messages.size === 0) {
        this.batchesInProgress++; // counted from its first record, so drain() cannot miss it
        windowEnd = Date.now() + windowMs;
      }
      for (const message of received) messages.set(message.MessageId!, message);
    }
    return [...messages.values()];
  }

  private async receive(maxMessages: number, waitSeconds: number): Promise<Message[]> {
    try {
      const output = await this.options.sqsClient.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        // Stopping ends the long poll; the local SQS then keeps the messages for someone else.
        { abortSignal: this.stopping.signal },
      );
      return output.Messages ?? [];
    } catch (error) {
      if (this.stopping.signal.aborted) return [];
      this.reportError(error);
      await sleep(RECEIVE_RETRY_DELAY_MS, this.stopping.signal);
      return [];
    }
  }

  // --- one batch ----------------------------------------------------------------------------

  private async handleBatch(messages: Message[]): Promise<void> {
    const started = Date.now();
    try {
      const event: SQSEvent = { Records: messages.map((message) => this.toRecord(message)) };
      const { failedIds, error } = await this.invoke(event);
      const succeeded = event.Records.filter((record) => !failedIds.has(record.messageId));
      const deleteFailures = await this.deleteRecords(succeeded);
      this.report({
        size: messages.length,
        succeeded: succeeded.length,
        failed: messages.length - succeeded.length,
        durationMs: Date.now() - started,
        ...(error ? { error } : {}),
        deleteFailures,
      });
    } finally {
      this.batchesInProgress--;
    }
  }

  /** Runs the handler; which records failed, as Lambda reads the outcome. */
  private async invoke(event: SQSEvent): Promise<{ failedIds: Set<string>; error?: string }> {
    const allFailed = (error: string) => ({ failedIds: new Set(event.Records.map((record) => record.messageId)), error });
    const timeoutMs = (this.options.timeoutSeconds ?? 900) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      // A timed-out handler keeps running (we cannot kill it), but its batch counts as failed, as on Lambda.
      const response = await Promise.race([this.options.handler(event, this.context(timeoutMs)), timedOut]);
      if (response === 'timeout') return allFailed('Timeout');
      const failedIds = batchItemFailures(response, event);
      return failedIds ? { failedIds } : allFailed('InvalidResponse');
    } catch (error) {
      return allFailed(error instanceof Error ? error.name : 'Error');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Deletes in batches of 10; how many SQS refused. */
  private async deleteRecords(records: SQSRecord[]): Promise<number> {
    let refused = 0;
    for (let start = 0; start < records.length; start += DELETE_BATCH_SIZE) {
      const chunk = records.slice(start, start + DELETE_BATCH_SIZE);
      try {
        const output = await this.options.sqsClient.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
          }),
        );
        refused += output.Failed?.length ?? 0;
      } catch (error) {
        this.reportError(error);
        refused += chunk.length;
      }
    }
    return refused;
  }

  // --- what Lambda hands the function -------------------------------------------------------

  private toRecord(message: Message): SQSRecord {
    return {
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body ?? '',
      attributes: (message.Attributes ?? {}) as unknown as SQSRecordAttributes,
      messageAttributes: toRecordAttributes(message.MessageAttributes ?? {}),
      md5OfBody: message.MD5OfBody!,
      ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: this.region,
    };
  }

  private context(timeoutMs: number): Context {
    const functionName = this.options.functionName ?? 'local-function';
    const deadline = Date.now() + timeoutMs;
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.region}:000000000000:function:${functionName}`,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  // --- helpers ------------------------------------------------------------------------------

  private async messagesLeft(): Promise<number> {
    const output = await this.options.sqsClient.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.options.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return Object.values(output.Attributes ?? {}).reduce((sum, count) => sum + Number(count), 0);
  }

  private report(report: BatchReport): void {
    try {
      this.options.onBatch?.(report);
    } catch (error) {
      this.reportError(error);
    }
  }

  private reportError(error: unknown): void {
    const asError = error instanceof Error ? error : new Error(String(error));
    if (this.options.onError) this.options.onError(asError);
    else console.error(`[queue-consumer] ${this.options.queueUrl}: ${asError.name}: ${asError.message}`);
  }
}

/**
 * The failed message ids of a ReportBatchItemFailures response; undefined when the response is
 * invalid, which Lambda treats as a failure of the whole batch.
 */
export function batchItemFailures(response: unknown, event: SQSEvent): Set<string> | undefined {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return undefined;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return undefined;
  const inBatch = new Set(event.Records.map((record) => record.messageId));
  const failedIds = new Set<string>();
  for (const failure of failures) {
    const id: unknown = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || !inBatch.has(id)) return undefined;
    failedIds.add(id);
  }
  return failedIds;
}

/** Message attributes as Lambda writes them in an SQS record (camelCase, binary as base64). */
function toRecordAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
        stringListValues: [],
        binaryListValues: [],
        dataType: value.DataType!,
      },
    ]),
  );
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
