import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QueueConsumer, type BatchReport, type QueueConsumerOptions, type SqsBatchHandler } from '#infra/local/queue-consumer';
import { LocalSqs, type LocalQueue } from '#infra/local/sqs-server';

/** The consumer against the real local SQS through the real SDK client: nothing mocked. */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dataDir: string;
let sqs: LocalSqs;
let client: SQSClient;
let queueCount = 0;
const consumers: QueueConsumer[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'queue-consumer-'));
  sqs = new LocalSqs({ dataDir });
  const { endpoint } = await sqs.start();
  client = new SQSClient({ endpoint, region: 'eu-west-3', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
});

afterAll(async () => {
  await sqs.stop();
  client.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

/** A queue with a 1 s visibility timeout by default (failures come back fast) and its DLQ. */
async function newQueue({ maxReceiveCount = 10, visibilityTimeoutSeconds = 1 } = {}): Promise<{ queue: LocalQueue; dlq: LocalQueue }> {
  const name = `consumer-${++queueCount}`;
  const dlq = await sqs.createQueue(`${name}-dlq`, { visibilityTimeoutSeconds: 30 });
  const queue = await sqs.createQueue(name, {
    visibilityTimeoutSeconds,
    redrive: { deadLetterQueueName: `${name}-dlq`, maxReceiveCount },
  });
  return { queue, dlq };
}

async function send(queue: LocalQueue, bodies: string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: String(start + index), MessageBody: body }));
    await client.send(new SendMessageBatchCommand({ QueueUrl: queue.queueUrl, Entries: entries }));
  }
}

function startConsumer(
  queue: LocalQueue,
  handler: SqsBatchHandler,
  options: Partial<QueueConsumerOptions> = {},
): { consumer: QueueConsumer; reports: BatchReport[] } {
  const reports: BatchReport[] = [];
  const consumer = new QueueConsumer({
    sqsClient: client,
    queueUrl: queue.queueUrl,
    queueArn: queue.queueArn,
    handler,
    batchSize: 10,
    maxConcurrency: 1,
    functionName: 'ingest-dossier',
    timeoutSeconds: 60,
    onBatch: (report) => reports.push(report),
    ...options,
  });
  consumers.push(consumer);
  consumer.start();
  return { consumer, reports };
}

async function counts(queue: LocalQueue): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes?.ApproximateNumberOfMessages), inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const failures = (records: SQSRecord[]): SQSBatchResponse => ({
  batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })),
});

describe('QueueConsumer (local SQS event source mapping)', () => {
  it('hands the handler the event and context Lambda would', async () => {
    const { queue } = await newQueue();
    await client.send(
      new SendMessageCommand({
        QueueUrl: queue.queueUrl,
        MessageBody: '{"dossierNumber":42}',
        MessageAttributes: { source: { DataType: 'String', StringValue: 'webhook' } },
      }),
    );
    const seen: { event: SQSEvent; context: Context }[] = [];
    const { consumer } = startConsumer(queue, async (event, context) => {
      seen.push({ event, context });
    });
    await consumer.drain();

    expect(seen).toHaveLength(1);
    const { event, context } = seen[0]!;
    expect(event.Records).toEqual([
      {
        messageId: expect.any(String),
        receiptHandle: expect.any(String),
        body: '{"dossierNumber":42}',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: expect.stringMatching(/^\d{13}$/),
          SenderId: expect.any(String),
          ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
        },
        messageAttributes: { source: { stringValue: 'webhook', stringListValues: [], binaryListValues: [], dataType: 'String' } },
        md5OfBody: createHash('md5').update('{"dossierNumber":42}').digest('hex'),
        md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
        eventSource: 'aws:sqs',
        eventSourceARN: queue.queueArn,
        awsRegion: 'eu-west-3',
      },
    ]);
    expect(context).toMatchObject({ functionName: 'ingest-dossier', awsRequestId: expect.any(String) });
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(50_000);
  });

  it('deletes the records that succeeded and leaves the reported failures to come back', async () => {
    const { queue } = await newQueue();
    await send(queue, ['ok-1', 'fail-2', 'ok-3', 'fail-4']);
    const deliveries: string[] = [];
    const { consumer, reports } = startConsumer(queue, async (event) => {
      const firstTime = event.Records.filter((record) => record.attributes.ApproximateReceiveCount === '1');
      deliveries.push(...event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`));
      return failures(firstTime.filter((record) => record.body.startsWith('fail')));
    });

    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ size: 4, succeeded: 2, failed: 2, deleteFailures: 0 });
    expect(await counts(queue)).toEqual({ visible: 0, inFlight: 2 }); // only the failures are left, hidden

    await consumer.drain();
    expect(deliveries.sort()).toEqual(['fail-2#1', 'fail-2#2', 'fail-4#1', 'fail-4#2', 'ok-1#1', 'ok-3#1']);
    expect(await counts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('sends a record that always fails to the DLQ after maxReceiveCount deliveries', async () => {
    const { queue, dlq } = await newQueue({ maxReceiveCount: 3 });
    await send(queue, ['poison', 'fine']);
    const deliveries: string[] = [];
    const { consumer } = startConsumer(queue, async (event) => {
      deliveries.push(...event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`));
      return failures(event.Records.filter((record) => record.body === 'poison'));
    });

    await consumer.drain({ timeoutMs: 10_000 });
    expect(deliveries).toEqual(['poison#1', 'fine#1', 'poison#2', 'poison#3']);
    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: dlq.queueUrl, MessageSystemAttributeNames: ['All'] }));
    expect(Messages?.map((message) => message.Body)).toEqual(['poison']);
    expect(Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn).toBe(queue.queueArn);
  });

  it.each<[string, SqsBatchHandler, string]>([
    [
      'throws',
      async () => {
        throw new TypeError('boom');
      },
      'TypeError',
    ],
    ['names a record not in the batch', async () => ({ batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] }), 'InvalidResponse'],
    ['answers with an empty itemIdentifier', async () => ({ batchItemFailures: [{ itemIdentifier: '' }] }), 'InvalidResponse'],
    ['answers with something else than an object', async () => 'done' as unknown as SQSBatchResponse, 'InvalidResponse'],
  ])('fails the whole batch when the handler %s', async (_, failingHandler, error) => {
    const { queue } = await newQueue({ visibilityTimeoutSeconds: 30 });
    await send(queue, ['a', 'b', 'c']);
    const { reports } = startConsumer(queue, failingHandler);

    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ size: 3, succeeded: 0, failed: 3, error });
    expect(await counts(queue)).toEqual({ visible: 0, inFlight: 3 }); // nothing deleted: all will come back
  });

  it('never hands more than batchSize records, nor runs more than maxConcurrency batches at once', async () => {
    const { queue } = await newQueue();
    const bodies = Array.from({ length: 23 }, (_, index) => `m${index}`);
    await send(queue, bodies);
    const sizes: number[] = [];
    const handled: string[] = [];
    let running = 0;
    let mostRunning = 0;
    const { consumer } = startConsumer(
      queue,
      async (event) => {
        mostRunning = Math.max(mostRunning, ++running);
        sizes.push(event.Records.length);
        await sleep(20);
        handled.push(...event.Records.map((record) => record.body));
        running--;
      },
      { batchSize: 3, maxConcurrency: 2 },
    );

    await consumer.drain();
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(mostRunning).toBeLessThanOrEqual(2);
    expect(handled.sort()).toEqual([...bodies].sort());
  });

  it('waits up to the batching window to fill a batch', async () => {
    // As AWS requires, the visibility timeout outlasts the window (else records reappear within it).
    const { queue } = await newQueue({ visibilityTimeoutSeconds: 5 });
    await send(queue, ['first']);
    const sizes: number[] = [];
    const { consumer } = startConsumer(queue, async (event) => void sizes.push(event.Records.length), {
      batchSize: 5,
      maxBatchingWindowSeconds: 1,
    });
    await sleep(300);
    await send(queue, ['second', 'third']);

    await consumer.drain();
    expect(sizes).toEqual([3]);
  });

  it('stops gracefully: waits for the batch in progress, which is then deleted', async () => {
    const { queue } = await newQueue();
    await send(queue, ['slow']);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const { consumer, reports } = startConsumer(
      queue,
      async () => {
        started = true;
        await released;
      },
      { maxConcurrency: 3 },
    );
    await until(() => started);

    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    await sleep(200);
    expect(stopped).toBe(false);

    const releasedAt = Date.now();
    release();
    await stopping;
    expect(Date.now() - releasedAt).toBeLessThan(5_000); // the idle long polls ended at once too
    expect(reports).toEqual([expect.objectContaining({ size: 1, succeeded: 1, failed: 0, deleteFailures: 0 })]);
    expect(await counts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });
});

describe('QueueConsumer: per-message redelivery delays (issue 7)', () => {
  it('a record the handler hides with ChangeMessageVisibility (through the SQS adapter) comes back after its own delay, not the queue\'s timeout', async () => {
    // The queue's timeout is 10 minutes: only the handler's per-record delay can bring it back within the test.
    const { queue } = await newQueue({ visibilityTimeoutSeconds: 600 });
    const { SqsMessageVisibility } = await import('#adapters/sqs/message-visibility');
    const visibility = new SqsMessageVisibility(client);
    const receives: { at: number; count: string }[] = [];
    const { consumer } = startConsumer(queue, async (event) => {
      const failed: string[] = [];
      for (const record of event.Records) {
        receives.push({ at: Date.now(), count: record.attributes.ApproximateReceiveCount });
        if (record.attributes.ApproximateReceiveCount === '1') {
          // What the ingest handler does for a failed record, with a 1 s delay for the test.
          await visibility.hideFor(record.eventSourceARN, record.receiptHandle, 1);
          failed.push(record.messageId);
        }
      }
      return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
    });
    await send(queue, ['hint']);
    await consumer.drain({ timeoutMs: 10_000 });
    expect(receives.map((r) => r.count)).toEqual(['1', '2']);
    expect(receives[1]!.at - receives[0]!.at).toBeGreaterThanOrEqual(900);
    expect(receives[1]!.at - receives[0]!.at).toBeLessThan(5_000);
  });
});
