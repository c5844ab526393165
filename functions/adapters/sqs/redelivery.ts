import type { SQSRecord } from 'aws-lambda';
import { redeliveryDelaySeconds } from '#core/ingest-retry';
import { SqsMessageVisibility } from './message-visibility.ts';

/** What became of a failed record's delay, for the worker's log. */
export interface RedeliveryDelay {
  /** SQS's `ApproximateReceiveCount` of the record (NaN when missing: counted as a first receive). */
  receiveCount: number;
  delaySeconds: number;
  /** The SQS error's name when SQS refused (e.g. the receipt handle expired): the queue's visibility timeout applies. */
  refusedWith?: string;
}

/**
 * Per-record redelivery delays for a queue worker with partial batch responses: before the
 * batch reports a record failed, the record is hidden for its retry delay (the schedule's entry
 * for its receive count, or the wait the failure carries when longer: DS's `RateLimit-Reset`,
 * see redeliveryDelaySeconds), instead of the queue's visibility timeout (30 minutes).
 * Best effort: never throws, the record is failed either way.
 */
export class SqsRedelivery {
  constructor(
    /** Seconds by receive (1st, 2nd, ...; the last entry for every later one). */
    private readonly schedule: readonly number[],
    private readonly visibility = new SqsMessageVisibility(),
  ) {}

  async delay(record: Pick<SQSRecord, 'eventSourceARN' | 'receiptHandle' | 'attributes'>, failure: unknown): Promise<RedeliveryDelay> {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount);
    const delaySeconds = redeliveryDelaySeconds(receiveCount, this.schedule, failure);
    try {
      await this.visibility.hideFor(record.eventSourceARN, record.receiptHandle, delaySeconds);
      return { receiveCount, delaySeconds };
    } catch (error) {
      return { receiveCount, delaySeconds, refusedWith: (error as Error).name };
    }
  }
}
