import { DS_API_REQUEST_BUDGET_PER_MINUTE, DS_RATE_LIMIT_PER_MINUTE } from '#schemas/env';

/**
 * The ingest pipeline's settings (queue -> ingest-dossier), in one place: the CDK stack and the
 * local runtime (infra/local) both read them, so the local queue retries, batches and
 * dead-letters exactly as the deployed one does.
 */
export interface IngestPipelineSettings {
  /** The ingest function's timeout. */
  readonly functionTimeoutSeconds: number;
  /** Records per invocation. */
  readonly batchSize: number;
  /** How long the event source gathers records before invoking with a partial batch. */
  readonly maxBatchingWindowSeconds: number;
  /** Concurrent invocations at most. */
  readonly maxConcurrency: number;
  /** Receives of one message before SQS moves it to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** How long a received message stays hidden before it is delivered again. */
  readonly visibilityTimeoutSeconds: number;
  /** How long the source queue keeps a message. */
  readonly queueRetentionDays: number;
  /** How long the dead-letter queue keeps a message, i.e. how long staff have to look and redrive. */
  readonly dlqRetentionDays: number;
  /**
   * How long a record the worker could not finish stays hidden before its next delivery, by
   * receive (1st, 2nd, ...; the last entry for every later one). The worker sets it per message
   * with ChangeMessageVisibility before reporting the record failed, so the visibility timeout
   * above only applies when an invocation dies (crash, timeout).
   */
  readonly retryDelaysSeconds: readonly number[];
  /**
   * DS requests a minute the ingest worker may send with its token, all instances together
   * (schemas/env.ts DS_API_REQUEST_BUDGET_PER_MINUTE: 380 of DS's 400, the rest for listings).
   */
  readonly dsRequestBudgetPerMinute: number;
}

/** AWS's advice for a queue that feeds a Lambda: visibility timeout >= 6 x the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

const functionTimeoutSeconds = 300;

export const INGEST_PIPELINE: IngestPipelineSettings = {
  functionTimeoutSeconds,
  // Each record costs at least one DS call; DS's ~400 requests/minute per token are kept by each
  // instance's pacer (dsRequestsPerMinutePerInstance below), not by the batch size.
  batchSize: 5,
  // Webhooks arrive one by one: wait a little to fill a batch instead of invoking per message.
  maxBatchingWindowSeconds: 5,
  maxConcurrency: 5,
  // A dossier that fails 5 times (DS down for long, a bug) waits in the DLQ for
  // `ds-selection dlq list|redrive` instead of being retried forever.
  maxReceiveCount: 5,
  // A message must not reappear while an invocation (and the event source's retries of it) may
  // still be working on it; 6 x the timeout is what AWS recommends for SQS event sources.
  visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_FACTOR * functionTimeoutSeconds,
  // The SQS default: reconciliation re-enqueues anything older anyway.
  queueRetentionDays: 4,
  // The SQS maximum: a failed dossier must outlive a holiday before anyone looks at the DLQ.
  dlqRetentionDays: 14,
  // 1, 5, then 15 minutes: a transient fault (a virus scan still running, S3 throttling, DS
  // down a few minutes) heals within 15 minutes, and a message that keeps failing reaches the
  // DLQ after 1 + 5 + 15 + 15 + 15 = 51 minutes (maxReceiveCount 5), not 2.5 hours of
  // 30-minute visibility timeouts. The last delay is also reconciliation's files_pending pace.
  retryDelaysSeconds: [60, 300, 900],
  dsRequestBudgetPerMinute: DS_API_REQUEST_BUDGET_PER_MINUTE,
};

/**
 * The most ingest instances DS's limit allows: each instance may send one request over its share
 * in a minute (its pacer's leeway for late timers, functions/adapters/ds-api/request-pacer.ts),
 * so n instances send at most budget + n: 20 keep it within DS's 400.
 */
export const MAX_INGEST_CONCURRENCY = DS_RATE_LIMIT_PER_MINUTE - DS_API_REQUEST_BUDGET_PER_MINUTE;

/**
 * Each ingest instance's pace (DS_API_REQUESTS_PER_MINUTE): the budget split evenly across the
 * instances that may run at once. A Lambda instance cannot see the others, so each paces itself
 * with its share: 5 x 76 = 380 by default (385 at worst in a minute, see MAX_INGEST_CONCURRENCY).
 * The local stack runs every invocation in one process with one shared pacer: the whole budget.
 */
export function dsRequestsPerMinutePerInstance(maxConcurrency: number, budget = INGEST_PIPELINE.dsRequestBudgetPerMinute): number {
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > budget) {
    throw new RangeError(`the ingest concurrency must be from 1 to ${budget} (the DS requests a minute it shares), not ${maxConcurrency}`);
  }
  return Math.floor(budget / maxConcurrency);
}
