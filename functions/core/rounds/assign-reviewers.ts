import { isReviewable, type DossierRecord } from '../dossier.ts';
import type { ReviewerRecord } from './model.ts';

/**
 * Who reviews what: deterministic (the same inputs give the same pairs, whatever their order),
 * balanced (each dossier takes the least-loaded eligible reviewers, ties by id), and never a
 * reviewer whose `conflicts` hold the administration's SIRET, nor an inactive or suppressed one.
 */

// Which dossiers are reviewed is the dossier's business (core/dossier.ts); re-exported for the round steps.
export { isReviewable, REVIEWABLE_STATUSES } from '../dossier.ts';

/** A reviewer who may be given dossiers (and mailed). */
export function canReceiveAssignments(reviewer: ReviewerRecord): boolean {
  return reviewer.active && !reviewer.suppressed;
}

/** A declared conflict with the dossier's administration (its SIRET in the reviewer's `conflicts`). */
export function hasConflictWith(reviewer: ReviewerRecord, dossier: Pick<DossierRecord, 'project'>): boolean {
  const siret = dossier.project?.administration?.siret;
  return siret !== undefined && reviewer.conflicts.includes(siret);
}

/**
 * The replacement of a reviewer who declared a conflict of interest with `dossier` during review:
 * the same rules as the assignment (active, not suppressed, not already on the dossier, no
 * declared conflict with its administration), the least loaded in the round, ties by id.
 * Deterministic; undefined when nobody is eligible.
 */
export function chooseReplacement(
  dossier: Pick<DossierRecord, 'number' | 'project'>,
  reviewers: readonly ReviewerRecord[],
  roundAssignments: readonly AssignmentPair[],
): ReviewerRecord | undefined {
  const onDossier = new Set(roundAssignments.filter((a) => a.dossierNumber === dossier.number).map((a) => a.reviewerId));
  const load = new Map<string, number>();
  for (const a of roundAssignments) load.set(a.reviewerId, (load.get(a.reviewerId) ?? 0) + 1);
  return reviewers
    .filter((r) => canReceiveAssignments(r) && !onDossier.has(r.id) && !hasConflictWith(r, dossier))
    .sort((a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) || byId(a, b))[0];
}

export interface AssignmentPair {
  dossierNumber: number;
  reviewerId: string;
}

export interface Shortfall {
  dossierNumber: number;
  /** Reviewers the dossier has (earlier assignments included). */
  assigned: number;
  wanted: number;
}

export interface AssignmentPlan {
  /** The new pairs, by dossier number then reviewer id; earlier assignments are not repeated. */
  assignments: AssignmentPair[];
  /** Dossiers that could not get `wanted` reviewers (too few eligible ones). */
  shortfalls: Shortfall[];
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * @param existing assignments already stored for the round (a re-run after a crash): they are
 *   kept, count in the loads and towards each dossier's reviewers, so a re-run converges.
 */
export function assignReviewers(
  dossiers: readonly DossierRecord[],
  reviewers: readonly ReviewerRecord[],
  reviewersPerDossier: number,
  existing: readonly AssignmentPair[] = [],
): AssignmentPlan {
  const eligibleDossiers = dossiers.filter(isReviewable).sort((a, b) => a.number - b.number);
  const pool = reviewers.filter(canReceiveAssignments).sort(byId);
  const numbers = new Set(eligibleDossiers.map((d) => d.number));

  const load = new Map<string, number>(pool.map((r) => [r.id, 0]));
  const taken = new Map<number, Set<string>>();
  for (const pair of existing) {
    if (!numbers.has(pair.dossierNumber)) continue;
    const onDossier = taken.get(pair.dossierNumber) ?? new Set<string>();
    if (onDossier.has(pair.reviewerId)) continue;
    onDossier.add(pair.reviewerId);
    taken.set(pair.dossierNumber, onDossier);
    if (load.has(pair.reviewerId)) load.set(pair.reviewerId, load.get(pair.reviewerId)! + 1);
  }

  const assignments: AssignmentPair[] = [];
  const shortfalls: Shortfall[] = [];
  for (const dossier of eligibleDossiers) {
    const onDossier = taken.get(dossier.number) ?? new Set<string>();
    const candidates = pool
      .filter((r) => !onDossier.has(r.id) && !hasConflictWith(r, dossier))
      .sort((a, b) => load.get(a.id)! - load.get(b.id)! || byId(a, b));
    const chosen = candidates.slice(0, Math.max(0, reviewersPerDossier - onDossier.size)).sort(byId);
    for (const reviewer of chosen) {
      onDossier.add(reviewer.id);
      load.set(reviewer.id, load.get(reviewer.id)! + 1);
      assignments.push({ dossierNumber: dossier.number, reviewerId: reviewer.id });
    }
    if (onDossier.size < reviewersPerDossier) {
      shortfalls.push({ dossierNumber: dossier.number, assigned: onDossier.size, wanted: reviewersPerDossier });
    }
  }
  return { assignments, shortfalls };
}
