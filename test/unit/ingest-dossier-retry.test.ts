import { describe, expect, it } from 'vitest';
import { parseRateLimitResetMs } from '#adapters/ds-api/graphql-client';
import { DsRateLimitedError } from '#adapters/ds-api/graphql-client';
import {
  MAX_VISIBILITY_SECONDS, redeliveryDelaySeconds, refetchAtOnce, retryDelaySeconds, secondsToDeadLetter, servesDemarche,
} from '#core/ingest-retry';
import { DEFAULT_FILES_PENDING_POLICY } from '#core/reconcile';
import { INGEST_PIPELINE } from '#infra/pipeline-settings';

describe('the ingest retry schedule (issue 7: recovery in minutes, not half hours)', () => {
  const schedule = INGEST_PIPELINE.retryDelaysSeconds;

  it('hides a failed message 1, 5, then 15 minutes by receive count', () => {
    expect([1, 2, 3, 4, 5, 9].map((receive) => retryDelaySeconds(receive, schedule))).toEqual([60, 300, 900, 900, 900, 900]);
  });

  it('treats a missing or unreadable receive count as a first receive', () => {
    expect([Number.NaN, 0, -1, 1.5].map((receive) => retryDelaySeconds(receive, schedule))).toEqual([60, 60, 60, 60]);
    expect(() => retryDelaySeconds(1, [])).toThrow(RangeError);
  });

  it('heals a transient fault within 15 minutes and sends a persistent one to the DLQ within an hour, not 2.5 hours', () => {
    expect(Math.max(...schedule)).toBeLessThanOrEqual(15 * 60);
    const toDlq = secondsToDeadLetter(INGEST_PIPELINE.maxReceiveCount, schedule);
    expect(toDlq).toBe(51 * 60);
    expect(toDlq).toBeLessThanOrEqual(60 * 60);
    // Before: every failure waited for the visibility timeout.
    expect(INGEST_PIPELINE.maxReceiveCount * INGEST_PIPELINE.visibilityTimeoutSeconds).toBe(150 * 60);
  });

  it('lets reconciliation requeue a files_pending dossier only once its own message is done retrying (DLQ within the minimum age)', () => {
    expect(DEFAULT_FILES_PENDING_POLICY.minAgeMs).toBeGreaterThanOrEqual(secondsToDeadLetter(INGEST_PIPELINE.maxReceiveCount, schedule) * 1000);
  });

  it('never waits longer than the queue would (every delay within the visibility timeout)', () => {
    for (const delay of schedule) expect(delay).toBeLessThanOrEqual(INGEST_PIPELINE.visibilityTimeoutSeconds);
  });

  it('fetches again at once only what a fresh download may cure', () => {
    expect(['checksum_mismatch', 'size_mismatch', 'download_failed', 'url_expired'].every(refetchAtOnce)).toBe(true);
    expect(['scan_pending', 'AccessDenied', 'SlowDown'].some(refetchAtOnce)).toBe(false);
  });

  it('serves only the configured démarches; an unreadable one (0) never', () => {
    expect(servesDemarche([98765, 98766], 98766)).toBe(true);
    expect(servesDemarche([98765], 11111)).toBe(false);
    expect(servesDemarche([98765], 0)).toBe(false);
  });
});

describe('RateLimit-Reset, what DS\'s rate limiter sends with a 429', () => {
  it('reads delta seconds, or an epoch instant', () => {
    const now = Date.parse('2026-03-05T13:00:00Z');
    expect(parseRateLimitResetMs('3', now)).toBe(3000);
    expect(parseRateLimitResetMs(String(now / 1000 + 20), now)).toBe(20_000);
    expect([null, '', 'soon', '-1'].map((v) => parseRateLimitResetMs(v, now))).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('the redelivery delay when DS asked to wait (issue 8: RateLimit-Reset beyond the function\'s budget)', () => {
  const schedule = INGEST_PIPELINE.retryDelaysSeconds;

  it('takes DS\'s delay when it is longer than the schedule\'s, in whole seconds', () => {
    const limited = new DsRateLimitedError('DS GraphQL getDossier: HTTP 429', 95_200);
    expect(redeliveryDelaySeconds(1, schedule, limited)).toBe(96);
    expect(redeliveryDelaySeconds(2, schedule, limited)).toBe(300);
  });

  it('keeps the schedule for failures without a delay, and never exceeds SQS\'s 12 hours', () => {
    expect(redeliveryDelaySeconds(1, schedule, new Error('boom'))).toBe(60);
    expect(redeliveryDelaySeconds(1, schedule, undefined)).toBe(60);
    expect(redeliveryDelaySeconds(1, schedule, { retryAfterMs: Number.NaN })).toBe(60);
    expect(redeliveryDelaySeconds(1, schedule, new DsRateLimitedError('x', 48 * 3_600_000))).toBe(MAX_VISIBILITY_SECONDS);
  });
});
