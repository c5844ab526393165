import { RoundIdSchema } from '#schemas/rounds';
import { roundOf } from '../round.ts';
import { RoundPastError, RoundStepRefusedError } from './errors.ts';
import type { RoundRecord } from './model.ts';
import { parisDay } from './paris-dates.ts';
import { audit, type RoundStepDependencies, type RoundStepRequest, type RoundStepResult, type RoundStepSummary } from './round-step.ts';

/**
 * `open`: (none) → `open`. Creates the round (default: `roundOf(now)`) with the configuration's
 * capacity, yearly ceiling (and its period), reviewers per dossier and criteria, copied so later config edits do not change it.
 * The create is conditional (a double fire creates one round). Only one round accepts dossiers at
 * a time: refused while another is open. A round whose period has ended (`2026-03` in December
 * 2026: a typo, or last year's id) is refused unless `force`: dossiers deposited now belong to
 * the current round (roundOf), not to it.
 */
export async function openRound(request: RoundStepRequest, deps: RoundStepDependencies): Promise<RoundStepResult> {
  const now = deps.clock.now();
  const roundId = request.roundId ?? roundOf(now.toISOString());
  if (!RoundIdSchema.safeParse(roundId).success) {
    throw new RoundStepRefusedError(`${roundId} is not a round id (the year and an odd opening month, e.g. 2026-03)`, 'invalid_round_id', roundId);
  }
  const dryRun = request.dryRun === true;
  const base = { step: request.step, roundId, dryRun };

  const existing = await deps.rounds.getRound(roundId);
  if (existing) {
    const summary: RoundStepSummary = { already: true };
    if (!dryRun) await audit(deps, request, roundId, summary);
    return { ...base, changed: false, status: existing.status, summary, ...(dryRun ? { plan: { mails: 0 } } : {}) };
  }
  const currentRoundId = roundOf(now.toISOString());
  const past = roundId < currentRoundId; // ids are YYYY-MM: text order is time order
  if (past && request.force !== true) throw pastRoundRefusal(roundId, currentRoundId, now);
  const others = (await deps.rounds.listRoundsByStatus('open')).filter((r) => r.id !== roundId);
  if (others.length > 0) {
    const ids = others.map((r) => r.id).join(', ');
    throw new RoundStepRefusedError(
      `round ${ids} is still open (it accepts dossiers): close its submissions first (rounds close-submissions --round ${others[0]!.id}), then open ${roundId}`,
      'another_round_open', roundId,
    );
  }

  const round: RoundRecord = {
    id: roundId,
    status: 'open',
    openedAt: now.toISOString(),
    submissionsClosedAt: null,
    reviewDeadline: null,
    selectionClosedAt: null,
    capacityPosts: deps.config.capacityPosts,
    yearlyCeilingPosts: deps.config.yearlyCeilingPosts,
    ceilingPeriodStartMonth: deps.config.ceilingPeriodStartMonth,
    reviewersPerDossier: deps.config.reviewersPerDossier,
    criteria: deps.config.criteria.map((c) => ({ ...c })),
    version: 1,
  };
  const settings = {
    capacityPosts: round.capacityPosts, yearlyCeilingPosts: deps.config.yearlyCeilingPosts, reviewersPerDossier: round.reviewersPerDossier, criteria: round.criteria.length,
    // Audited: a past round opened on purpose.
    ...(past ? { forced: true } : {}),
  };
  if (dryRun) {
    return { ...base, changed: false, status: null, summary: { already: false, ...settings }, plan: { round, mails: 0 } };
  }

  const write = await deps.rounds.createRound(round);
  const changed = write.written;
  const current = write.written ? round : (write.current ?? (await deps.rounds.getRound(roundId)) ?? round);
  const summary: RoundStepSummary = { already: !changed, ...settings };
  await audit(deps, request, roundId, summary);
  return { ...base, changed, status: current.status, summary };
}

const MONTH = new Intl.DateTimeFormat('en-GB', { month: 'long', timeZone: 'UTC' });

/** `round 2026-03 (March and April 2026) ended on 30 April 2026; ...`: what ended, and what the default is and why. */
function pastRoundRefusal(roundId: string, currentRoundId: string, now: Date): RoundPastError {
  const [year, month] = roundId.split('-').map(Number) as [number, number];
  const first = MONTH.format(new Date(Date.UTC(year, month - 1, 1)));
  const lastDay = new Date(Date.UTC(year, month + 1, 0)); // day 0 of the month after the second one
  const second = MONTH.format(lastDay);
  return new RoundPastError(
    `round ${roundId} is past: its period (${first} and ${second} ${year}) ended on ${lastDay.getUTCDate()} ${second} ${year}. `
    + `The current round is ${currentRoundId} (today is ${parisDay(now)} in Paris): open that one (the default, without a round), `
    + `or force to open ${roundId} anyway`,
    roundId, currentRoundId,
  );
}
