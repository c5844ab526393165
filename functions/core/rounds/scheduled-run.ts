/**
 * Rules shared by the runs the schedules fire on a round (the round steps, the write-back of a
 * closed round's decisions), whoever asked for them: the schedule (`actor` `schedule`) or staff
 * (`staff:<name>`).
 */

/** What asked for a run, as logs say it: a staff actor names a person, and logs name nobody. */
export function requesterKind(actor: string): 'schedule' | 'staff' {
  return actor === 'schedule' ? 'schedule' : 'staff';
}

/**
 * A scheduled run names no round: it takes the one its phase calls for. When there is none (the
 * first cycle after a deploy, no round closed yet), it has nothing to do, and succeeds: a failure
 * would reach the schedules' dead-letter queue and page staff for nothing. A run that names its
 * round, or that staff asked for, expected one: it stays refused.
 */
export function hasNothingToDo(request: { actor: string; roundId?: string }, refusal: { reason: string }): boolean {
  return request.actor === 'schedule' && request.roundId === undefined && refusal.reason === 'no_round';
}
