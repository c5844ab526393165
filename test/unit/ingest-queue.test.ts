import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { IngestQueueError, InvalidIngestMessageError, SqsIngestQueue } from '#adapters/sqs/ingest-queue';
import type { IngestMessage } from '#schemas/ingest-message';

const QUEUE_URL = 'https://sqs.eu-west-3.amazonaws.com/123456789012/ds-selection-ingest';

const sqs = mockClient(SQSClient);
let delays: number[];

beforeEach(() => {
  sqs.reset();
  delays = [];
});

function queue(options: { maxAttempts?: number } = {}) {
  return new SqsIngestQueue({
    client: new SQSClient({ region: 'eu-west-3' }),
    queueUrl: QUEUE_URL,
    random: () => 1,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
}

function message(dossierNumber: number): IngestMessage {
  return {
    demarcheNumber: 98765,
    dossierNumber,
    hint: { source: 'webhook', state: 'en_construction', updatedAt: '2026-03-05T14:22:10+01:00', receivedAt: '2026-03-05T13:22:12.000Z' },
  };
}

const messages = (count: number) => Array.from({ length: count }, (_, i) => message(23456000 + i));

/** The entries of the n-th SendMessageBatch call (0-based). */
const entriesOfCall = (n: number) => (sqs.commandCalls(SendMessageBatchCommand)[n]!.args[0].input as SendMessageBatchCommandInput).Entries!;

/** Answers each call with every entry successful, except those `failing` says. */
function answerWith(failing: (id: string, call: number) => { Code: string; SenderFault: boolean } | undefined) {
  let call = 0;
  sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
    const entries = input.Entries ?? [];
    const current = call++;
    const failed = entries.flatMap((entry) => {
      const failure = failing(entry.Id!, current);
      return failure ? [{ Id: entry.Id, ...failure }] : [];
    });
    const successful = entries
      .filter((entry) => !failed.some((f) => f.Id === entry.Id))
      .map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: 'x' }));
    return { Successful: successful, Failed: failed };
  });
}

describe('SqsIngestQueue.send', () => {
  it('sends 23 messages in 3 SendMessageBatch calls of 10, 10 and 3, as validated JSON', async () => {
    answerWith(() => undefined);
    const batch = messages(23);

    await queue().send(batch);

    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    expect(sqs).toHaveReceivedNthCommandWith(SendMessageBatchCommand, 1, { QueueUrl: QUEUE_URL });
    expect([0, 1, 2].map((n) => entriesOfCall(n).length)).toEqual([10, 10, 3]);
    const sent = [0, 1, 2].flatMap((n) => entriesOfCall(n));
    expect(sent.map((entry) => JSON.parse(entry.MessageBody!))).toEqual(batch);
    expect(new Set(sent.map((entry) => entry.Id)).size).toBe(23);
    expect(delays).toEqual([]);
  });

  it('sends nothing for no messages', async () => {
    await queue().send([]);

    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });

  it('sends again only the entries SQS reports as failed, with backoff, until they pass', async () => {
    // Entries 3 and 7 fail on the first call, 7 again on the second.
    answerWith((id, call) => {
      if (call === 0 && (id === '3' || id === '7')) return { Code: 'InternalError', SenderFault: false };
      if (call === 1 && id === '7') return { Code: 'ServiceUnavailable', SenderFault: false };
      return undefined;
    });

    await queue().send(messages(10));

    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    expect(entriesOfCall(1).map((entry) => entry.Id)).toEqual(['3', '7']);
    expect(entriesOfCall(2).map((entry) => entry.Id)).toEqual(['7']);
    // Full jitter with random() = 1: the ceiling, doubling from baseDelayMs (100).
    expect(delays).toEqual([100, 200]);
  });

  it('throws IngestQueueError naming how many failed when failures persist', async () => {
    answerWith((id) => (id === '12' || id === '14' ? { Code: 'InternalError', SenderFault: false } : undefined));

    const error = await queue({ maxAttempts: 3 }).send(messages(15)).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(IngestQueueError);
    expect(error).toMatchObject({ failedCount: 2, total: 15, codes: ['InternalError'] });
    expect((error as Error).message).toBe('2 of 15 ingest messages could not be queued (InternalError)');
    // Chunk 1 once; chunk 2 three times, the last two with only the failing entries.
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 4);
    expect(entriesOfCall(3).map((entry) => entry.Id)).toEqual(['12', '14']);
  });

  it('does not resend sender faults: the same entry would fail again', async () => {
    answerWith((id) => (id === '1' ? { Code: 'InvalidMessageContents', SenderFault: true } : undefined));

    const error = await queue().send(messages(3)).catch((reason: unknown) => reason);

    expect(error).toMatchObject({ name: 'IngestQueueError', failedCount: 1, total: 3, codes: ['InvalidMessageContents'] });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  it('stops at the first call that throws, counting it and the rest as not queued', async () => {
    sqs.on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [], Failed: [] })
      .rejectsOnce(Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' }));

    const error = await queue().send(messages(25)).catch((reason: unknown) => reason);

    expect(error).toMatchObject({ name: 'IngestQueueError', failedCount: 15, total: 25, codes: ['QueueDoesNotExist'] });
    expect((error as Error).cause).toMatchObject({ name: 'QueueDoesNotExist' });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
  });

  it('rejects an invalid message before sending anything', async () => {
    answerWith(() => undefined);
    const batch = [...messages(11), { ...message(1), dossierNumber: -4 }];

    const error = await queue().send(batch).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(InvalidIngestMessageError);
    expect((error as Error).message).toContain('#11');
    expect((error as Error).message).toContain('dossierNumber');
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });
});
