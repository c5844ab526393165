import type { DossierRecord } from '../dossier.ts';
import type { DecisionRecord, RoundStatus } from '../rounds/model.ts';

/**
 * What is expired at `now`, and what a purged record is reduced to: pure decisions, no I/O
 * (docs/data-protection.md gives the rules, the use cases beside this file apply them).
 */

export interface RetentionPolicy {
  /** Months after a round's selection closed after which its personal data is purged. */
  closedRoundRetentionMonths: number;
  /** Days a dossier's tombstone is kept (DynamoDB TTL). */
  deletedDossierTombstoneDays: number;
}

/** What the purge needs of a round: its phase, when it closed, whether it was purged already. */
export interface RetentionRound {
  id: string;
  status: RoundStatus;
  openedAt: string;
  selectionClosedAt: string | null;
  /** Set once every personal record of the round is gone (a storage attribute of the round item). */
  purgedAt?: string;
}

/** Why a dossier's personal data is removed. */
export type PurgeReason = 'retention' | 'deleted_on_ds' | 'erasure_request';

/**
 * `now` minus `months` calendar months, in UTC, the day clamped to the target month's last day
 * (31 March minus one month is 28 or 29 February, never 3 March: a round is never purged early).
 */
export function monthsBefore(now: Date, months: number): Date {
  if (!Number.isInteger(months) || months < 0) throw new RangeError(`months must be a whole number >= 0, got ${months}`);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() - months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(now.getUTCDate(), lastDay),
    now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds(), now.getUTCMilliseconds()));
}

/**
 * When a closed round's retention started: its selection's closing. A closed round without that
 * date (none should exist) counts from its opening, the earlier date: it is purged, not kept forever.
 */
export function retentionStart(round: RetentionRound): string {
  return round.selectionClosedAt ?? round.openedAt;
}

/**
 * True when the round's personal data must go at `now`: closed, closed at least
 * `closedRoundRetentionMonths` ago, not purged yet. An open or reviewing round is never expired,
 * however old: its selection is not done.
 */
export function isRoundExpired(round: RetentionRound, now: Date, policy: Pick<RetentionPolicy, 'closedRoundRetentionMonths'>): boolean {
  if (round.status !== 'closed' || round.purgedAt) return false;
  const start = Date.parse(retentionStart(round));
  if (Number.isNaN(start)) throw new RangeError(`round ${round.id}: its closing date is not an instant`);
  return start <= monthsBefore(now, policy.closedRoundRetentionMonths).getTime();
}

/** The rounds to purge at `now`, oldest first (the oldest has waited longest). */
export function expiredRounds(rounds: readonly RetentionRound[], now: Date, policy: Pick<RetentionPolicy, 'closedRoundRetentionMonths'>): RetentionRound[] {
  return rounds
    .filter((round) => isRoundExpired(round, now, policy))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** When a round's data will be purged (for staff and tests): undefined while it is not closed. */
export function purgeDueAt(round: RetentionRound, policy: Pick<RetentionPolicy, 'closedRoundRetentionMonths'>): Date | undefined {
  if (round.status !== 'closed') return undefined;
  const start = new Date(retentionStart(round));
  // The first instant t with monthsBefore(t, N) >= start: N months later, clamped the same way.
  const target = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + policy.closedRoundRetentionMonths, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth(), Math.min(start.getUTCDate(), lastDay),
    start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds(), start.getUTCMilliseconds()));
}

/** A dossier marked deleted (DS deleted it) whose data is still here. */
export function needsDeletionPurge(dossier: Pick<DossierRecord, 'status'> & { purgedAt?: string }): boolean {
  return dossier.status === 'deleted' && !dossier.purgedAt;
}

/** A dossier item reduced to a tombstone: what it needs to stay a valid record, and nothing personal. */
export interface Tombstone extends DossierRecord {
  purgedAt: string;
  purgeReason: PurgeReason;
}

/**
 * The tombstone of a dossier: its number, démarche, round and DS dates (no personal data: they say
 * when, not who), status `deleted`, and nothing of the project, issues, files or snapshot. The round
 * is kept so that the round's closing still counts it as withdrawn, and a retried purge still finds
 * its reviews. `state` is kept (a DS state, e.g. en_construction): the decision code depends on it.
 */
export function tombstoneOf(dossier: DossierRecord, at: Date, reason: PurgeReason): Tombstone {
  return {
    number: dossier.number,
    demarcheNumber: dossier.demarcheNumber,
    state: dossier.state,
    status: 'deleted',
    dateDerniereModification: dossier.dateDerniereModification,
    modifiedAtMs: dossier.modifiedAtMs,
    dateDepot: dossier.dateDepot,
    round: dossier.round,
    ...(dossier.roundMovedFrom ? { roundMovedFrom: dossier.roundMovedFrom } : {}),
    project: null,
    issues: [],
    attachments: [],
    filesComplete: true,
    snapshotKey: null,
    ingestedAt: dossier.ingestedAt,
    purgedAt: at.toISOString(),
    purgeReason: reason,
  };
}

/** Epoch seconds when a tombstone written at `at` expires (the table's TTL attribute). */
export function tombstoneExpiresAt(at: Date, policy: Pick<RetentionPolicy, 'deletedDossierTombstoneDays'>): number {
  return Math.floor(at.getTime() / 1000) + policy.deletedDossierTombstoneDays * 24 * 60 * 60;
}

/** The reason a reduced decision carries instead of staff's or the committee's words. */
export const PURGED_DECISION_REASON = 'Motif effacé (durée de conservation ou demande d\'effacement) : voir le code du motif';

/**
 * A decision reduced to numbers: dossier number, outcome, rank, score, counts, reason code, what
 * the ranking proposed. Dropped: the French reason (it quotes staff's exclusion reason or the
 * committee's words), the committee's reason and who recorded it (a staff member's name).
 * Reducing twice gives the same record.
 */
export function reducedDecision(decision: DecisionRecord): DecisionRecord {
  return {
    roundId: decision.roundId,
    dossierNumber: decision.dossierNumber,
    outcome: decision.outcome,
    rank: decision.rank,
    score: decision.score,
    reviewCount: decision.reviewCount,
    eigPostsRequested: decision.eigPostsRequested,
    reasonCode: decision.reasonCode,
    reason: PURGED_DECISION_REASON,
    ...(decision.proposedOutcome ? { proposedOutcome: decision.proposedOutcome } : {}),
  };
}

/** True when the decision still holds words a reduction removes. */
export function isReduced(decision: DecisionRecord): boolean {
  return decision.reason === PURGED_DECISION_REASON && decision.committeeReason === undefined && decision.committeeActor === undefined;
}

/** The S3 prefixes holding a dossier's files and raw snapshots (content keys start with the number). */
export function dossierObjectPrefixes(dossierNumber: number): string[] {
  if (!Number.isSafeInteger(dossierNumber) || dossierNumber < 1) throw new RangeError(`not a dossier number: ${dossierNumber}`);
  return [`attachments/${dossierNumber}/`, `dossiers/${dossierNumber}/`];
}

/** The S3 prefix of a round's selection report (JSON and CSV; `ds-selection report` rebuilds it from the table). */
export function roundReportPrefix(roundId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(roundId)) throw new RangeError(`not a round id: ${JSON.stringify(roundId)}`);
  return `reports/${roundId}/`;
}

/**
 * Whether a stored project mentions `email` anywhere (contacts, team, any field a form mapping
 * adds): how staff find a person's dossier when they only have an address. Case-insensitive.
 */
export function projectMentionsEmail(project: unknown, email: string): boolean {
  const wanted = email.trim().toLowerCase();
  if (wanted === '') return false;
  const visit = (value: unknown): boolean => {
    if (typeof value === 'string') return value.trim().toLowerCase() === wanted;
    if (Array.isArray(value)) return value.some(visit);
    if (value && typeof value === 'object') return Object.values(value).some(visit);
    return false;
  };
  return visit(project);
}
