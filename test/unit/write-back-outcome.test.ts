import { describe, expect, it } from 'vitest';
import {
  DEADLINE_MARGIN_MS, incompleteWriteBackError, WriteBackIncompleteError, writeBackDeadline, type WriteBackResult,
} from '#core/write-back/write-back-decisions';

// What write-back-decisions makes of its Lambda's remaining time and of a run's result.

const result = (summary: WriteBackResult['summary'], dryRun = false): WriteBackResult =>
  ({ roundId: '2026-03', dryRun, dossiers: [], summary: { decisions: 3, done: 0, failed: 0, skipped: 0, planned: 0, not_attempted: 0, ...summary } });

describe('writeBackDeadline', () => {
  const now = new Date('2026-05-23T07:00:00.000Z');

  it('stops a margin before the Lambda\'s deadline', () => {
    expect(writeBackDeadline(900_000, now)).toEqual(new Date(now.getTime() + 900_000 - DEADLINE_MARGIN_MS));
    expect(DEADLINE_MARGIN_MS).toBe(60_000);
  });

  it('no deadline when the remaining time is unknown (no Lambda context) or zero', () => {
    expect(writeBackDeadline(undefined, now)).toBeUndefined();
    expect(writeBackDeadline(0, now)).toBeUndefined();
  });
});

describe('incompleteWriteBackError', () => {
  it('none when every dossier was written or skipped', () => {
    expect(incompleteWriteBackError(result({ done: 2, skipped: 1 }))).toBeUndefined();
  });

  it('none for a dry run, whatever it found', () => {
    expect(incompleteWriteBackError(result({ failed: 1, not_attempted: 2 }, true))).toBeUndefined();
  });

  it('a WriteBackIncompleteError with the counts and what to do, when a dossier failed', () => {
    const error = incompleteWriteBackError(result({ done: 2, failed: 1 }));
    expect(error).toBeInstanceOf(WriteBackIncompleteError);
    expect(error).toMatchObject({
      name: 'WriteBackIncompleteError',
      message: 'write-back of round 2026-03: 1 dossier(s) failed, 0 not attempted (DS refused or conflicts); '
        + 'see the WRITEBACK# records or `ds-selection rounds write-back --round 2026-03 --dry-run`, fix, run again',
    });
  });

  it('names why the run stopped early when dossiers were not attempted', () => {
    expect(incompleteWriteBackError(result({ done: 1, not_attempted: 2, stoppedEarly: 'deadline' }))?.message)
      .toMatch(/^write-back of round 2026-03: 0 dossier\(s\) failed, 2 not attempted \(deadline\);/);
  });
});
