import type { RoundsConfig } from '#schemas/rounds';
import type { CapacityUse, DecisionRecord, RoundRecord } from './model.ts';
import type { RoundRepository } from './ports.ts';

/**
 * How many EIG posts a round may fill: the lower of its own capacity (capacityPosts, 5 a round
 * by default) and what is left of the period's ceiling (yearlyCeilingPosts, 30: the 2024 call's
 * "jusqu'à 30 postes" in the year) once the earlier CLOSED rounds of the same period are
 * counted, from their stored decisions. Pure but for `loadCapacityUse`, which reads them.
 */

export type CeilingSettings = Pick<RoundsConfig, 'yearlyCeilingPosts' | 'ceilingPeriodStartMonth'>;

export interface CeilingPeriod {
  /** Rounds with the same key count together. */
  key: string;
  /** For staff: `2026`, or `2026-09/2027-07` for a period starting in September. */
  label: string;
}

/** The period a round id belongs to: its calendar year (start month 1), or the year starting at `startMonth`. */
export function ceilingPeriodOf(roundId: string, startMonth = 1): CeilingPeriod {
  const [year, month] = roundId.split('-').map(Number) as [number, number];
  if (startMonth === 1) return { key: String(year), label: String(year) };
  const startYear = month >= startMonth ? year : year - 1;
  const pad = (m: number) => String(m).padStart(2, '0');
  // The last round of the period opens two months before the next period starts.
  const lastMonth = startMonth - 2;
  return { key: `${startYear}-${pad(startMonth)}`, label: `${startYear}-${pad(startMonth)}/${startYear + 1}-${pad(lastMonth)}` };
}

/** The round's ceiling settings: copied when it opened, else (a round opened before ceilings) the configuration's. */
export function ceilingOf(round: Pick<RoundRecord, 'yearlyCeilingPosts' | 'ceilingPeriodStartMonth'>, config: CeilingSettings): { posts: number; startMonth: number } {
  return { posts: round.yearlyCeilingPosts ?? config.yearlyCeilingPosts, startMonth: round.ceilingPeriodStartMonth ?? config.ceilingPeriodStartMonth };
}

/** Posts of the `selected` decisions. */
export const postsSelected = (decisions: readonly Pick<DecisionRecord, 'outcome' | 'eigPostsRequested'>[]): number =>
  decisions.filter((d) => d.outcome === 'selected').reduce((sum, d) => sum + d.eigPostsRequested, 0);

/**
 * The capacity of `round` given the closed rounds of the store with their decisions. Only rounds
 * of the same period, closed, and before this one (ids are YYYY-MM: text order is time order)
 * count: a round closed later never takes posts back from an earlier one.
 */
export function capacityUse(
  round: Pick<RoundRecord, 'id' | 'capacityPosts' | 'yearlyCeilingPosts' | 'ceilingPeriodStartMonth'>,
  closedRounds: readonly { round: Pick<RoundRecord, 'id' | 'status'>; decisions: readonly DecisionRecord[] }[],
  config: CeilingSettings,
): CapacityUse {
  const ceiling = ceilingOf(round, config);
  const period = ceilingPeriodOf(round.id, ceiling.startMonth);
  const earlier = closedRounds.filter((r) => r.round.status === 'closed' && r.round.id < round.id
    && ceilingPeriodOf(r.round.id, ceiling.startMonth).key === period.key);
  const usedBefore = earlier.reduce((sum, r) => sum + postsSelected(r.decisions), 0);
  const ceilingLeft = Math.max(0, ceiling.posts - usedBefore);
  return {
    roundCapacityPosts: round.capacityPosts,
    ceilingPosts: ceiling.posts,
    period: period.label,
    usedBefore,
    earlierRounds: earlier.map((r) => r.round.id).sort(),
    ceilingLeft,
    availablePosts: Math.min(round.capacityPosts, ceilingLeft),
  };
}

/** Reads the closed rounds of the period before `round` and their decisions, then capacityUse. */
export async function loadCapacityUse(
  rounds: Pick<RoundRepository, 'listRoundsByStatus' | 'listDecisions'>,
  round: Pick<RoundRecord, 'id' | 'capacityPosts' | 'yearlyCeilingPosts' | 'ceilingPeriodStartMonth'>,
  config: CeilingSettings,
): Promise<CapacityUse> {
  const { startMonth } = ceilingOf(round, config);
  const key = ceilingPeriodOf(round.id, startMonth).key;
  const closed = (await rounds.listRoundsByStatus('closed')).filter((r) => r.id < round.id && ceilingPeriodOf(r.id, startMonth).key === key);
  const withDecisions = await Promise.all(closed.map(async (r) => ({ round: r, decisions: await rounds.listDecisions(r.id) })));
  return capacityUse(round, withDecisions, config);
}

/** `1 poste`, `0 poste`, `3 postes` (French: the plural starts at 2). */
export const postsText = (count: number): string => `${count} ${count > 1 ? 'postes' : 'poste'}`;

/** One French sentence: round capacity, ceiling, used before, left, available. */
export function capacityText(use: CapacityUse): string {
  return `capacité de la session ${postsText(use.roundCapacityPosts)} ; plafond ${use.period} ${postsText(use.ceilingPosts)}, `
    + `${postsText(use.usedBefore)} déjà ${use.usedBefore > 1 ? 'pourvus' : 'pourvu'} par les sessions closes avant, il en reste ${use.ceilingLeft} ; `
    + `à pourvoir dans cette session : ${postsText(use.availablePosts)}`;
}
