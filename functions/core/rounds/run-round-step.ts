import { closeSelection } from './close-selection.ts';
import { closeSubmissions } from './close-submissions.ts';
import { ClosingNotReadyError, RoundStepIncompleteError, RoundStepRefusedError, type RoundStepRefusal } from './errors.ts';
import { openRound } from './open-round.ts';
import { remindReviewers } from './remind-reviewers.ts';
import { audit, type RoundStepDependencies, type RoundStepRequest, type RoundStepResult } from './round-step.ts';

export { ClosingNotReadyError, RoundStepRefusedError } from './errors.ts';
export type {
  RoundStepDependencies, RoundStepPlan, RoundStepRequest, RoundStepResult, RoundStepSummary,
} from './round-step.ts';

/**
 * One step of a round (README.md): `open`, `close-submissions`, `remind`, `close-selection`.
 * Idempotent: a double fire changes nothing and sends no second mail. A dry run writes nothing,
 * sends nothing and returns the plan. Every other run writes an audit record, a refused one
 * included when the round exists. Throws RoundStepRefusedError for a missing round or one in an
 * earlier phase, and its ClosingNotReadyError for a `close-selection` not forced while reviews are
 * missing or before the deadline; any other error is the ports' (retry: every write is safe to repeat).
 */
export async function runRoundStep(request: RoundStepRequest, deps: RoundStepDependencies): Promise<RoundStepResult> {
  try {
    switch (request.step) {
      case 'open': return await openRound(request, deps);
      case 'close-submissions': return await closeSubmissions(request, deps);
      case 'remind': return await remindReviewers(request, deps);
      case 'close-selection': return await closeSelection(request, deps);
      default: {
        const unknown: never = request.step;
        throw new RangeError(`unknown round step: ${String(unknown)}`);
      }
    }
  } catch (error) {
    if (error instanceof ClosingNotReadyError && request.dryRun !== true) {
      // Counts only: which reviewers are late is in the refusal, not in the record.
      await audit(deps, request, error.roundId!, {
        refused: error.reason,
        reviewsMissing: error.missing.reduce((sum, m) => sum + m.reviewerIds.length, 0),
        dossiersMissingReviews: error.missing.length,
        deadlinePassed: error.deadlinePassed,
      });
    } else if (error instanceof RoundStepRefusedError && error.reason === 'earlier_phase' && error.roundId && request.dryRun !== true) {
      await audit(deps, request, error.roundId, { refused: error.reason });
    }
    throw error;
  }
}

/** What is safe to log of a result: ids, statuses and counts (no plan: it lists reviewer ids and decisions). */
export function summaryOf(result: RoundStepResult): Record<string, unknown> {
  return {
    step: result.step,
    roundId: result.roundId,
    dryRun: result.dryRun,
    changed: result.changed,
    status: result.status,
    summary: result.summary,
    ...(result.plan ? { planMails: result.plan.mails } : {}),
    ...(result.rounds ? { rounds: result.rounds.map(summaryOf) } : {}),
  };
}

/** The result of a step that had nothing to do (scheduled-run.ts `hasNothingToDo`): no round, nothing changed. */
export function nothingToDoResult(request: RoundStepRequest, reason: RoundStepRefusal): RoundStepResult {
  return { step: request.step, roundId: null, dryRun: request.dryRun === true, changed: false, status: null, summary: { nothingToDo: true, reason } };
}

/**
 * The error a step that left mails unsent (SES refused or failed them) ends with, once everything
 * else is done; undefined when every mail went. Failing the run has Lambda retry it: the step fired
 * again without `round` takes the round it already moved on, and sends only the mails still owed.
 */
export function unsentMailsError(result: RoundStepResult): RoundStepIncompleteError | undefined {
  const failures = Number(result.summary.mailFailures ?? 0);
  if (!(failures > 0)) return undefined;
  return new RoundStepIncompleteError(`${result.step} of round ${result.roundId ?? '(several)'}: ${failures} mail(s) not sent (SES refused or failed them); `
    + 'running the step again sends those only');
}
