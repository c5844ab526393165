import { describe, expect, it } from 'vitest';
import { ReconcileFailedError } from '#core/errors';
import {
  RECONCILE_DS_RETRIES, reserveBeforeDeadlineMs, unreconciledDemarches, unreconciledError,
  type DemarcheReconcileReport, type ReconcileReport,
} from '#core/reconcile';

// What reconcile-dossiers makes of its time budget and of a run's report.

const demarche = (number: number, error?: Error): DemarcheReconcileReport => ({
  demarche: number, updated: 2, deleted: 0, pendingDeleted: 0, filesPending: 0, queued: 2, complete: !error,
  cursor: error ? 'not_saved' : 'saved', updatedSince: null, ...(error ? { error } : {}),
});
const report = (...demarches: DemarcheReconcileReport[]): ReconcileReport => ({
  runId: 'run-1', demarches, queued: demarches.reduce((n, d) => n + d.queued, 0), failed: demarches.filter((d) => d.error).length,
});
const unavailable = Object.assign(new Error('DS answered 503 three times'), { name: 'DsUnavailableError' });

describe('reserveBeforeDeadlineMs', () => {
  it('every attempt of a DS call timing out, the waits between them, and 10 s to spare', () => {
    expect(RECONCILE_DS_RETRIES).toEqual({ maxAttempts: 3, maxDelayMs: 10_000 });
    // 3 attempts of 35 s, 2 waits of at most 10 s, 10 s: 135 s.
    expect(reserveBeforeDeadlineMs(35_000)).toBe(135_000);
    expect(reserveBeforeDeadlineMs(10_000, { maxAttempts: 1, maxDelayMs: 5_000 })).toBe(20_000);
  });
});

describe('unreconciledDemarches', () => {
  it('the démarches that failed, with their error\'s name and message only', () => {
    expect(unreconciledDemarches(report(demarche(98765), demarche(98766, unavailable)))).toEqual([
      { demarche: 98766, error: 'DsUnavailableError', reason: 'DS answered 503 three times' },
    ]);
    expect(unreconciledDemarches(report(demarche(98765)))).toEqual([]);
  });
});

describe('unreconciledError', () => {
  it('none when every démarche was reconciled', () => {
    expect(unreconciledError(report(demarche(98765), demarche(98766)))).toBeUndefined();
  });

  it('a ReconcileFailedError counting the démarches not reconciled', () => {
    const error = unreconciledError(report(demarche(98765), demarche(98766, unavailable)));
    expect(error).toBeInstanceOf(ReconcileFailedError);
    expect(error).toMatchObject({
      name: 'ReconcileFailedError', message: '1 of 2 démarche(s) not reconciled (see the log above); the next run retries',
    });
  });
});
