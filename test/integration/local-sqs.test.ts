import { createHash } from 'node:crypto';
import { fork } from 'node:child_process';
import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  TooManyEntriesInBatchRequest,
  type Message,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsClient } from '#adapters/sqs/client';
import { SqsIngestQueue } from '#adapters/sqs/ingest-queue';
import { LocalSqs } from '#infra/local/sqs-server';

/** The real SDK client against the real local server: nothing mocked. */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dataDir: string;
let sqs: LocalSqs;
let client: SQSClient;
let queueCount = 0;

/** What the server's clock is ahead of real time: a restart "later" without waiting. */
let clockOffsetMs = 0;

async function startServer(): Promise<void> {
  sqs = new LocalSqs({ dataDir, clock: { now: () => new Date(Date.now() + clockOffsetMs) } });
  const { endpoint } = await sqs.start();
  client?.destroy();
  client = new SQSClient({ endpoint, region: 'eu-west-3', credentials: CREDENTIALS });
}

/** A fresh queue per test, so tests sharing the server stay independent. */
async function newQueue(attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: `queue-${++queueCount}`, Attributes: attributes }));
  return QueueUrl!;
}

async function receive(queueUrl: string, options: { max?: number; visibility?: number; wait?: number } = {}): Promise<Message[]> {
  const { Messages } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.max ?? 10,
      VisibilityTimeout: options.visibility,
      WaitTimeSeconds: options.wait ?? 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

async function counts(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes?.ApproximateNumberOfMessages), inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'local-sqs-'));
  await startServer();
});

afterAll(async () => {
  await sqs.stop();
  client.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

describe('LocalSqs through the AWS SDK', () => {
  it('round-trips SendMessageBatch, ReceiveMessage and DeleteMessageBatch, MD5s checked by the SDK', async () => {
    const queueUrl = await newQueue();
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: '{"dossierNumber":1}' },
          { Id: 'b', MessageBody: 'héllo ✓', MessageAttributes: { SellerName: { DataType: 'String', StringValue: 'Example Store' } } },
          { Id: 'c', MessageBody: 'three' },
        ],
      }),
    );
    expect(sent.Failed ?? []).toEqual([]);
    expect(sent.Successful?.map((entry) => [entry.Id, entry.MD5OfMessageBody])).toEqual([
      ['a', md5('{"dossierNumber":1}')],
      ['b', md5('héllo ✓')],
      ['c', md5('three')],
    ]);
    // A published reference value of SQS's attribute digest, for this attribute.
    expect(sent.Successful?.[1]?.MD5OfMessageAttributes).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');

    const before = Date.now();
    const messages = await receive(queueUrl);
    expect(messages.map((message) => message.Body)).toEqual(['{"dossierNumber":1}', 'héllo ✓', 'three']);
    expect(messages.map((message) => message.MessageId)).toEqual(sent.Successful?.map((entry) => entry.MessageId));
    const [first, second] = messages;
    expect(first!.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: expect.any(String) });
    expect(Number(first!.Attributes!.SentTimestamp)).toBeLessThanOrEqual(before);
    expect(Number(first!.Attributes!.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(before);
    expect(second!.MessageAttributes).toEqual({ SellerName: { DataType: 'String', StringValue: 'Example Store' } });
    expect(second!.MD5OfMessageAttributes).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 3 });

    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    expect(deleted.Successful).toHaveLength(3);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('is what the SDK reaches through AWS_ENDPOINT_URL_SQS, with the unchanged ingest queue adapter', async () => {
    const queueUrl = await newQueue();
    const previous = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = new URL(queueUrl).origin;
    try {
      const envClient = createSqsClient({ region: 'eu-west-3', credentials: CREDENTIALS });
      const hint = { source: 'sync' as const, receivedAt: '2026-03-05T12:00:00.000Z' };
      await new SqsIngestQueue({ client: envClient, queueUrl }).send(
        Array.from({ length: 12 }, (_, index) => ({ demarcheNumber: 98765, dossierNumber: index + 1, hint })),
      );
      envClient.destroy();
    } finally {
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = previous;
    }
    const bodies = [...(await receive(queueUrl)), ...(await receive(queueUrl))].map((message) => JSON.parse(message.Body!));
    expect(bodies.map((body) => body.dossierNumber)).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
  });

  it('hides a received message for the visibility timeout, then delivers it again', async () => {
    const queueUrl = await newQueue({ VisibilityTimeout: '1' });
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'again' }));

    expect(await receive(queueUrl)).toHaveLength(1);
    expect(await receive(queueUrl)).toEqual([]);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 1 });

    await sleep(1_100);
    const [again] = await receive(queueUrl);
    expect(again?.Body).toBe('again');
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('refuses the receipt handle of an earlier receive once the message is received again', async () => {
    const queueUrl = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'twice' }));
    const [first] = await receive(queueUrl, { visibility: 0 });
    const [second] = await receive(queueUrl, { visibility: 0 });
    expect(second!.ReceiptHandle).not.toBe(first!.ReceiptHandle);

    await expect(client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first!.ReceiptHandle }))).rejects.toBeInstanceOf(
      ReceiptHandleIsInvalid,
    );
    await expect(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: 'not-a-handle', VisibilityTimeout: 5 })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second!.ReceiptHandle }));
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('moves a message to the DLQ at the receive after maxReceiveCount, and StartMessageMoveTask brings it back', async () => {
    const dlq = await sqs.createQueue('redrive-dlq', { visibilityTimeoutSeconds: 30 });
    const source = await sqs.createQueue('redrive-source', {
      visibilityTimeoutSeconds: 30,
      redrive: { deadLetterQueueName: 'redrive-dlq', maxReceiveCount: 3 },
    });
    const { MessageId } = await client.send(new SendMessageCommand({ QueueUrl: source.queueUrl, MessageBody: 'poison' }));

    for (const expectedCount of ['1', '2', '3']) {
      const [delivery] = await receive(source.queueUrl, { visibility: 0 });
      expect(delivery?.Attributes?.ApproximateReceiveCount).toBe(expectedCount);
    }
    expect(await receive(source.queueUrl, { visibility: 0 })).toEqual([]);

    const { queueUrls } = await client.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.queueUrl }));
    expect(queueUrls).toEqual([source.queueUrl]);
    const [dead] = await receive(dlq.queueUrl, { visibility: 0 });
    expect(dead).toMatchObject({ MessageId, Body: 'poison' });
    expect(dead!.Attributes?.DeadLetterQueueSourceArn).toBe(source.queueArn);

    const { TaskHandle } = await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.queueArn }));
    expect(TaskHandle).toBeTruthy();
    const { Results } = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.queueArn }));
    expect(Results?.[0]).toMatchObject({ TaskHandle, Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 1 });

    expect(await counts(dlq.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    const [redriven] = await receive(source.queueUrl);
    expect(redriven).toMatchObject({ MessageId, Body: 'poison' });
    expect(redriven!.Attributes?.ApproximateReceiveCount).toBe('1'); // a fresh start, else it would go straight back
  });

  it('moves DLQ messages to DestinationArn when given', async () => {
    const dlq = await sqs.createQueue('move-dlq', { visibilityTimeoutSeconds: 30 });
    await sqs.createQueue('move-source', { visibilityTimeoutSeconds: 30, redrive: { deadLetterQueueName: 'move-dlq', maxReceiveCount: 1 } });
    const elsewhere = await sqs.createQueue('move-elsewhere', { visibilityTimeoutSeconds: 30 });
    await client.send(new SendMessageBatchCommand({ QueueUrl: dlq.queueUrl, Entries: [{ Id: '1', MessageBody: 'x' }, { Id: '2', MessageBody: 'y' }] }));

    await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.queueArn, DestinationArn: elsewhere.queueArn }));
    expect((await receive(elsewhere.queueUrl)).map((message) => message.Body)).toEqual(['x', 'y']);
  });

  it('answers a long poll as soon as a message arrives', async () => {
    const queueUrl = await newQueue();
    const started = Date.now();
    const polling = receive(queueUrl, { wait: 10 });
    await sleep(200);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'wake up' }));
    const messages = await polling;
    expect(messages.map((message) => message.Body)).toEqual(['wake up']);
    expect(Date.now() - started).toBeLessThan(5_000); // of the 10 s asked: it did not wait them out
  });

  it('waits the whole WaitTimeSeconds when no message comes', async () => {
    const queueUrl = await newQueue();
    const started = Date.now();
    expect(await receive(queueUrl, { wait: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('answers with the errors the SDK knows', async () => {
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
    const queueUrl = await newQueue({ VisibilityTimeout: '5' });
    const name = queueUrl.split('/').at(-1)!;
    await expect(client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '6' } }))).rejects.toBeInstanceOf(
      QueueNameExists,
    );
    expect((await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '5' } }))).QueueUrl).toBe(queueUrl);
    const eleven = Array.from({ length: 11 }, (_, index) => ({ Id: `e${index}`, MessageBody: 'x' }));
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: eleven }))).rejects.toBeInstanceOf(
      TooManyEntriesInBatchRequest,
    );
    await expect(client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 11 }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });

    const unknown = await fetch(new URL(queueUrl).origin, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.Frobnicate' },
      body: '{}',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('x-amzn-query-error')).toBe('InvalidAction;Sender');
    expect(await unknown.json()).toEqual({ __type: 'com.amazon.coral.service#UnknownOperationException', message: 'Unknown operation Frobnicate.' });
  });

  it('lists queues by prefix', async () => {
    await sqs.createQueue('listed-b', { visibilityTimeoutSeconds: 30 });
    await sqs.createQueue('listed-a', { visibilityTimeoutSeconds: 30 });
    const { QueueUrls } = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'listed-' }));
    expect(QueueUrls).toEqual([sqs.queueUrl('listed-a'), sqs.queueUrl('listed-b')]);
  });
});

// Each test here leaves a running server behind, for the next test and afterAll.
describe('LocalSqs durability', () => {
  it('keeps queues and messages across a restart; in-flight ones stay hidden until their visibility expires, as on SQS (issue 7)', async () => {
    await sqs.createQueue('durable-dlq', { visibilityTimeoutSeconds: 30 });
    await sqs.createQueue('durable', { visibilityTimeoutSeconds: 600, redrive: { deadLetterQueueName: 'durable-dlq', maxReceiveCount: 5 } });
    const queueUrl = sqs.queueUrl('durable');
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['kept', 'delayed', 'deleted', 'visible'].map((body) => ({ Id: body, MessageBody: body })),
      }),
    );
    const [kept, delayed, toDelete] = await receive(queueUrl, { max: 3 });
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: toDelete!.ReceiptHandle }));
    // What the ingest worker does with a failed record: its own, shorter, redelivery delay.
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: delayed!.ReceiptHandle, VisibilityTimeout: 60 }));
    expect(await counts(queueUrl)).toEqual({ visible: 1, inFlight: 2 });

    await sqs.stop();
    await startServer(); // a new LocalSqs on the same dataDir, on another port

    const restartedUrl = (await client.send(new GetQueueUrlCommand({ QueueName: 'durable' }))).QueueUrl!;
    expect(await counts(restartedUrl)).toEqual({ visible: 1, inFlight: 2 });
    expect((await receive(restartedUrl)).map((message) => message.Body)).toEqual(['visible']);

    clockOffsetMs += 61_000; // the delay set before the restart is over, not the queue's 600 s
    expect((await receive(restartedUrl)).map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount])).toEqual([['delayed', '2']]);
    // A receipt handle from before the restart still deletes its message while it is in flight.
    await client.send(new DeleteMessageCommand({ QueueUrl: restartedUrl, ReceiptHandle: kept!.ReceiptHandle }));
    clockOffsetMs += 600_000;
    expect((await receive(restartedUrl)).map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount])).toEqual([
      ['delayed', '3'], ['visible', '2'],
    ]);
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: restartedUrl, AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({ VisibilityTimeout: '600' });
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: sqs.queueArn('durable-dlq'), maxReceiveCount: 5 });
  });

  it('writes each acknowledged change to disk before answering', async () => {
    const queueUrl = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'on disk' }));
    // The folder as it is now, the server still running: what a kill -9 at this instant would leave.
    const copy = await mkdtemp(join(tmpdir(), 'local-sqs-copy-'));
    await cp(dataDir, copy, { recursive: true });
    const reader = new LocalSqs({ dataDir: copy, clock: { now: () => new Date(Date.now() + clockOffsetMs) } });
    const { endpoint } = await reader.start();
    const readerClient = new SQSClient({ endpoint, region: 'eu-west-3', credentials: CREDENTIALS });
    try {
      const { Messages } = await readerClient.send(new ReceiveMessageCommand({ QueueUrl: reader.queueUrl(queueUrl.split('/').at(-1)!), MaxNumberOfMessages: 10 }));
      expect(Messages?.map((message) => message.Body)).toEqual(['on disk']);
    } finally {
      readerClient.destroy();
      await reader.stop();
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('drops a journal line cut by a crash (never acknowledged) and keeps writing after it', async () => {
    const queueUrl = await newQueue();
    const name = queueUrl.split('/').at(-1)!;
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'before the cut' }));
    await sqs.stop();
    // What a kill in the middle of a write() leaves: the start of a line, without its newline.
    const { journal } = JSON.parse(await readFile(join(dataDir, 'queues.json'), 'utf8')) as { journal: string };
    await appendFile(join(dataDir, journal), `[{"queue":${JSON.stringify(name)},"message":{"messageId":"cut","bo`);
    await startServer();
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl(name), MessageBody: 'after the restart' }));
    await sqs.stop();
    await startServer();
    expect((await receive(sqs.queueUrl(name))).map((message) => message.Body)).toEqual(['before the cut', 'after the restart']);
  });

  it('loses no acknowledged change when killed (kill -9) in the middle of a burst, a snapshot included', async () => {
    const killedDir = await mkdtemp(join(tmpdir(), 'local-sqs-killed-'));
    const child = fork(fileURLToPath(new URL('../helpers/local-sqs-process.ts', import.meta.url)), [killedDir], {
      execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const { endpoint } = await new Promise<{ endpoint: string }>((resolve, reject) => {
      child.once('message', (message) => resolve(message as { endpoint: string }));
      child.once('exit', (code) => reject(new Error(`the local SQS process exited with ${code}`)));
    });
    // No SDK retries: a request cut by the kill must fail, not be sent again to the next server.
    const burstClient = new SQSClient({ endpoint, region: 'eu-west-3', credentials: CREDENTIALS, maxAttempts: 1 });
    const { QueueUrl: queueUrl } = await burstClient.send(new CreateQueueCommand({ QueueName: 'killed', Attributes: { VisibilityTimeout: '600' } }));

    // Every message SendMessage answered for, by body; those whose delete was answered too.
    const sent = new Set<string>();
    const deleted = new Set<string>();
    const KILL_AFTER = 1_500;
    let killed = false;
    let next = 0;
    const sender = async () => {
      while (!killed) {
        const body = `message-${next++}`;
        const batch = next % 3 === 0;
        try {
          if (batch) {
            const bodies = [body, `${body}-b`, `${body}-c`];
            const { Successful } = await burstClient.send(new SendMessageBatchCommand({
              QueueUrl: queueUrl, Entries: bodies.map((text, index) => ({ Id: String(index), MessageBody: text })),
            }));
            for (const entry of Successful ?? []) sent.add(bodies[Number(entry.Id)]!);
          } else {
            await burstClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
            sent.add(body);
          }
        } catch {
          // cut by the kill: not acknowledged, may or may not be there
        }
        if (sent.size >= KILL_AFTER && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    // Receives change messages in place (in flight) and deletes remove some: both are journaled.
    const consumer = async () => {
      while (!killed) {
        try {
          const { Messages = [] } = await burstClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
          const toDelete = Messages.filter((_, index) => index % 2 === 0);
          if (toDelete.length === 0) continue;
          await burstClient.send(new DeleteMessageBatchCommand({
            QueueUrl: queueUrl, Entries: toDelete.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
          }));
          for (const message of toDelete) deleted.add(message.Body!);
        } catch {
          // cut by the kill
        }
      }
    };
    await Promise.all([...Array.from({ length: 20 }, sender), consumer(), consumer()]);
    await exited;
    burstClient.destroy();

    // Restarted an hour later: every message in flight at the kill is visible again.
    const restarted = new LocalSqs({ dataDir: killedDir, clock: { now: () => new Date(Date.now() + 3_600_000) } });
    const restartedEndpoint = (await restarted.start()).endpoint;
    const reader = new SQSClient({ endpoint: restartedEndpoint, region: 'eu-west-3', credentials: CREDENTIALS });
    try {
      const found = new Set<string>();
      for (;;) {
        const { Messages = [] } = await reader.send(new ReceiveMessageCommand({ QueueUrl: restarted.queueUrl('killed'), MaxNumberOfMessages: 10 }));
        if (Messages.length === 0) break;
        for (const message of Messages) found.add(message.Body!);
      }
      expect(sent.size).toBeGreaterThanOrEqual(KILL_AFTER);
      expect(deleted.size).toBeGreaterThan(0);
      expect([...sent].filter((body) => !deleted.has(body) && !found.has(body))).toEqual([]);
      expect([...deleted].filter((body) => found.has(body))).toEqual([]);
    } finally {
      reader.destroy();
      await restarted.stop();
      await rm(killedDir, { recursive: true, force: true });
    }
  });

  it('ends pending long polls on stop, with no message', async () => {
    const queueUrl = await newQueue();
    const polling = receive(queueUrl, { wait: 20 });
    await sleep(100);
    const started = Date.now();
    await sqs.stop();
    expect(await polling).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000); // of the 20 s asked
    await startServer();
  });
});
