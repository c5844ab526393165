import { describe, expect, it } from 'vitest';
import { RoundStepIncompleteError, RoundStepRefusedError } from '#core/rounds/errors';
import { nothingToDoResult, unsentMailsError, type RoundStepResult } from '#core/rounds/run-round-step';
import { hasNothingToDo, requesterKind } from '#core/rounds/scheduled-run';

// What run-round-step (and write-back-decisions) make of a step's refusal or result: the rules
// the handlers used to hold, now in core.

const noRound = new RoundStepRefusedError('no round is open', 'no_round', null);
const result = (summary: RoundStepResult['summary'], overrides: Partial<RoundStepResult> = {}): RoundStepResult =>
  ({ step: 'close-submissions', roundId: '2026-03', dryRun: false, changed: true, status: 'reviewing', summary, ...overrides });

describe('hasNothingToDo', () => {
  it('a scheduled run that names no round and finds none has nothing to do', () => {
    expect(hasNothingToDo({ actor: 'schedule' }, noRound)).toBe(true);
  });

  it('a run staff asked for, or that names its round, or refused for another reason, is refused', () => {
    expect(hasNothingToDo({ actor: 'staff:jdupont' }, noRound)).toBe(false);
    expect(hasNothingToDo({ actor: 'schedule', roundId: '2019-01' }, noRound)).toBe(false);
    expect(hasNothingToDo({ actor: 'schedule' }, new RoundStepRefusedError('round 2026-03 is open', 'earlier_phase', '2026-03'))).toBe(false);
    expect(hasNothingToDo({ actor: 'schedule' }, { reason: 'round_not_closed' })).toBe(false);
  });
});

describe('requesterKind', () => {
  it('says schedule or staff, never the staff member\'s name', () => {
    expect(requesterKind('schedule')).toBe('schedule');
    expect(requesterKind('staff:jdupont')).toBe('staff');
  });
});

describe('nothingToDoResult', () => {
  it('names the step and the reason, no round, nothing changed', () => {
    expect(nothingToDoResult({ step: 'close-selection', actor: 'schedule', dryRun: false }, 'no_round')).toEqual({
      step: 'close-selection', roundId: null, dryRun: false, changed: false, status: null, summary: { nothingToDo: true, reason: 'no_round' },
    });
    expect(nothingToDoResult({ step: 'remind', actor: 'schedule', dryRun: true }, 'no_round')).toMatchObject({ step: 'remind', dryRun: true });
    expect(nothingToDoResult({ step: 'open', actor: 'schedule' }, 'no_round')).toMatchObject({ dryRun: false });
  });
});

describe('unsentMailsError', () => {
  it('none when every mail went, or the step sends none', () => {
    expect(unsentMailsError(result({ mailsSent: 3, mailFailures: 0 }))).toBeUndefined();
    expect(unsentMailsError(result({ changed: true }))).toBeUndefined();
  });

  it('a RoundStepIncompleteError naming the step, the round and the count when mails failed', () => {
    const error = unsentMailsError(result({ mailsSent: 1, mailFailures: 2 }));
    expect(error).toBeInstanceOf(RoundStepIncompleteError);
    expect(error).toMatchObject({
      name: 'RoundStepIncompleteError',
      message: 'close-submissions of round 2026-03: 2 mail(s) not sent (SES refused or failed them); running the step again sends those only',
    });
  });

  it('over several rounds (remind without a round), says so', () => {
    expect(unsentMailsError(result({ mailFailures: 1 }, { step: 'remind', roundId: null }))?.message)
      .toMatch(/^remind of round \(several\): 1 mail\(s\) not sent/);
  });
});
