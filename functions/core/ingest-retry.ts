/**
 * What the ingest worker does with a message that cannot finish now. Pure: the schedule comes
 * from infra/pipeline-settings.ts (shared with the local runtime), the SQS call is the handler's.
 */

/**
 * How long a failed message stays hidden before its next delivery, by how many times it has
 * been received (SQS's `ApproximateReceiveCount`, from 1): the schedule's entry for that
 * receive, its last entry once past its end. A missing or unreadable count counts as a first
 * receive (the shortest wait: a retry too early costs one DS call, one too late costs hours).
 */
export function retryDelaySeconds(receiveCount: number, schedule: readonly number[]): number {
  if (schedule.length === 0) throw new RangeError('the retry schedule is empty');
  const receive = Number.isInteger(receiveCount) && receiveCount >= 1 ? receiveCount : 1;
  return schedule[Math.min(receive, schedule.length) - 1]!;
}

/** SQS's longest visibility timeout (12 hours): ChangeMessageVisibility refuses more. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/**
 * The delay before a failed message's next delivery: the schedule's, or the delay DS asked for
 * (its rate limiter's `RateLimit-Reset`, carried by the error as `retryAfterMs`) when longer,
 * since a delivery before it only meets another 429. Whole seconds, at most SQS's 12 hours.
 */
export function redeliveryDelaySeconds(receiveCount: number, schedule: readonly number[], failure?: unknown): number {
  const scheduled = retryDelaySeconds(receiveCount, schedule);
  const asked = dsRetryAfterSeconds(failure);
  return Math.min(MAX_VISIBILITY_SECONDS, asked === undefined ? scheduled : Math.max(scheduled, asked));
}

/** The wait DS asked for, read from a failure that carries it (`retryAfterMs`), in whole seconds. */
export function dsRetryAfterSeconds(failure: unknown): number | undefined {
  const ms = (failure as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? Math.ceil(ms / 1000) : undefined;
}

/**
 * When a message that keeps failing reaches the dead-letter queue: it is received
 * `maxReceiveCount` times, each failure hides it for the schedule's delay, and SQS moves it at
 * the receive after the last one. Seconds from its first receive, processing time left out.
 */
export function secondsToDeadLetter(maxReceiveCount: number, schedule: readonly number[]): number {
  let total = 0;
  for (let receive = 1; receive <= maxReceiveCount; receive++) total += retryDelaySeconds(receive, schedule);
  return total;
}

/**
 * File fetch failures a new attempt with a fresh URL may cure at once, within the same
 * ingestion: bytes cut or corrupted on the way (size or checksum mismatch), a download that
 * broke off, an URL that expired while the message waited. Anything else (S3 refusing us,
 * a virus scan still running) is not a download's fault and waits for the next delivery.
 */
const REFETCH_AT_ONCE = new Set(['checksum_mismatch', 'size_mismatch', 'download_failed', 'url_expired']);

export function refetchAtOnce(reason: string): boolean {
  return REFETCH_AT_ONCE.has(reason);
}

/** Whether a dossier's démarche (as DS returned it, 0 when unreadable) is one this deployment serves. */
export function servesDemarche(served: readonly number[], demarcheNumber: number): boolean {
  return demarcheNumber > 0 && served.includes(demarcheNumber);
}
