import { describe, expect, it } from 'vitest';
import { DsRateLimitedError } from '#adapters/ds-api/graphql-client';
import type { SqsMessageVisibility } from '#adapters/sqs/message-visibility';
import { SqsRedelivery } from '#adapters/sqs/redelivery';
import { INGEST_PIPELINE } from '#infra/pipeline-settings';

/** The ingest worker's per-record redelivery delay, moved out of its handler (issue 9, point 3). */

const QUEUE_ARN = 'arn:aws:sqs:eu-west-3:123456789012:ingest';

function record(receiveCount?: string) {
  return { eventSourceARN: QUEUE_ARN, receiptHandle: 'handle-1', attributes: { ApproximateReceiveCount: receiveCount } as never };
}

function visibility(refuse?: Error) {
  const calls: [string, string, number][] = [];
  const fake = {
    hideFor: async (arn: string, handle: string, seconds: number) => {
      calls.push([arn, handle, seconds]);
      if (refuse) throw refuse;
    },
  } as unknown as SqsMessageVisibility;
  return { calls, fake };
}

describe('SqsRedelivery', () => {
  it('hides a failed record for the schedule\'s delay by its receive count, through its queue ARN and receipt handle', async () => {
    const { calls, fake } = visibility();
    const redelivery = new SqsRedelivery(INGEST_PIPELINE.retryDelaysSeconds, fake);
    expect(await redelivery.delay(record('1'), new Error('S3 down'))).toEqual({ receiveCount: 1, delaySeconds: 60 });
    expect(await redelivery.delay(record('2'), new Error('S3 down'))).toEqual({ receiveCount: 2, delaySeconds: 300 });
    expect(calls).toEqual([[QUEUE_ARN, 'handle-1', 60], [QUEUE_ARN, 'handle-1', 300]]);
  });

  it('waits as long as DS\'s rate limiter asked when that is longer, and counts a missing receive count as a first one', async () => {
    const { calls, fake } = visibility();
    const redelivery = new SqsRedelivery(INGEST_PIPELINE.retryDelaysSeconds, fake);
    const limited = new DsRateLimitedError('HTTP 429', 3_600_500);
    expect(await redelivery.delay(record(undefined), limited)).toMatchObject({ delaySeconds: 3_601 });
    expect(await redelivery.delay(record(undefined), new Error('x'))).toMatchObject({ delaySeconds: 60 });
    expect(calls.map(([, , seconds]) => seconds)).toEqual([3_601, 60]);
  });

  it('never throws: an SQS refusal comes back by name, for the worker to log (the queue\'s visibility timeout then applies)', async () => {
    const { fake } = visibility(Object.assign(new Error('receipt handle expired'), { name: 'ReceiptHandleIsInvalid' }));
    const redelivery = new SqsRedelivery(INGEST_PIPELINE.retryDelaysSeconds, fake);
    expect(await redelivery.delay(record('3'), new Error('x'))).toEqual({ receiveCount: 3, delaySeconds: 900, refusedWith: 'ReceiptHandleIsInvalid' });
  });
});
