import { createHash } from 'node:crypto';
import type { DossierRecord } from '#core/dossier';
import type {
  AssignmentRecord, AuditRecord, CommitteeDecisionRecord, DecisionRecord, ExclusionRecord, MailOutcome, NotificationRecord, ReviewRecord, ReviewerRecord, RoundRecord, RoundStatus,
  SuppressionReason,
} from '#core/rounds/model';
import type { RoundsConfig } from '#schemas/rounds';
import type { MailMessage, Mailer, ReportStore, RoundDossiers, RoundRepository, RoundWrite } from '#core/rounds/ports';

/**
 * In-memory ports for the round use cases, with the DynamoDB adapter's conditional semantics:
 * create only if absent, update only at the expected version (stores version + 1), claim a
 * notification only if none or a stale `sending` one, release only the claim given. Records go
 * in and out as copies. `failNext(method)` makes the next call(s) of a method throw (a crash).
 */

const clone = <T>(value: T): T => structuredClone(value);
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class CrashError extends Error {
  override name = 'CrashError';
}

type Method = keyof RoundRepository;

export class MemoryRoundRepository implements RoundRepository {
  rounds = new Map<string, RoundRecord>();
  reviewers = new Map<string, ReviewerRecord>();
  assignments = new Map<string, AssignmentRecord>();
  reviews = new Map<string, ReviewRecord>();
  notifications = new Map<string, NotificationRecord>();
  decisions = new Map<string, DecisionRecord>();
  audit: AuditRecord[] = [];
  /** Every call, by method name. */
  calls: Method[] = [];
  private failures = new Map<Method, { remaining: number; error: Error }>();
  /** Runs before each call (to change the store between a read and a write). */
  beforeCall?: (method: Method) => void | Promise<void>;

  failNext(method: Method, times = 1, error: Error = new CrashError(`${method} crashed`)): void {
    this.failures.set(method, { remaining: times, error });
  }

  /** Writes of any kind (audit records and claims included): what a dry run must not do. */
  get writeCount(): number {
    const writes: Method[] = [
      'createRound', 'updateRound', 'putReviewers', 'putAssignments', 'putReview', 'putReviewIfVersion', 'claimNotification',
      'markNotificationSent', 'releaseNotification', 'putDecisions', 'putAudit', 'putExclusion', 'putCommitteeDecision',
      'recordNotificationOutcome', 'suppressReviewer', 'unsuppressReviewer',
    ];
    return this.calls.filter((c) => writes.includes(c)).length;
  }

  private async enter(method: Method): Promise<void> {
    this.calls.push(method);
    await this.beforeCall?.(method);
    const failure = this.failures.get(method);
    if (failure && failure.remaining > 0) {
      failure.remaining--;
      throw failure.error;
    }
  }

  async getRound(id: string) {
    await this.enter('getRound');
    const round = this.rounds.get(id);
    return round ? clone(round) : undefined;
  }

  async listRoundsByStatus(status: RoundStatus) {
    await this.enter('listRoundsByStatus');
    return [...this.rounds.values()].filter((r) => r.status === status).sort(byId).map(clone);
  }

  async listRounds() {
    await this.enter('listRounds');
    return [...this.rounds.values()].sort(byId).map(clone);
  }

  async createRound(round: RoundRecord): Promise<RoundWrite> {
    await this.enter('createRound');
    const current = this.rounds.get(round.id);
    if (current) return { written: false, current: clone(current) };
    this.rounds.set(round.id, clone(round));
    return { written: true };
  }

  async updateRound(round: RoundRecord, expectedVersion: number): Promise<RoundWrite> {
    await this.enter('updateRound');
    const current = this.rounds.get(round.id);
    if (!current || current.version !== expectedVersion) return { written: false, current: current ? clone(current) : undefined };
    this.rounds.set(round.id, { ...clone(round), version: expectedVersion + 1 });
    return { written: true };
  }

  async putReviewers(reviewers: ReviewerRecord[]) {
    await this.enter('putReviewers');
    for (const r of reviewers) this.reviewers.set(r.id, clone(r));
  }

  async listReviewers() {
    await this.enter('listReviewers');
    return [...this.reviewers.values()].sort(byId).map(clone);
  }

  async getReviewer(id: string) {
    await this.enter('getReviewer');
    const reviewer = this.reviewers.get(id);
    return reviewer ? clone(reviewer) : undefined;
  }

  async listReviewerAssignments(roundId: string, reviewerId: string) {
    await this.enter('listReviewerAssignments');
    return [...this.assignments.values()]
      .filter((a) => a.roundId === roundId && a.reviewerId === reviewerId)
      .sort((a, b) => a.dossierNumber - b.dossierNumber)
      .map(clone);
  }

  async putReviewIfVersion(review: ReviewRecord, expectedVersion: number) {
    await this.enter('putReviewIfVersion');
    const key = `${review.roundId}|${review.dossierNumber}|${review.reviewerId}`;
    const current = this.reviews.get(key);
    if ((current?.version ?? 0) !== expectedVersion) return { written: false as const, current: current ? clone(current) : undefined };
    this.reviews.set(key, clone(review));
    return { written: true as const };
  }

  async getReview(roundId: string, dossierNumber: number, reviewerId: string) {
    await this.enter('getReview');
    const review = this.reviews.get(`${roundId}|${dossierNumber}|${reviewerId}`);
    return review ? clone(review) : undefined;
  }

  async putAssignments(assignments: AssignmentRecord[]) {
    await this.enter('putAssignments');
    for (const a of assignments) this.assignments.set(`${a.roundId}|${a.dossierNumber}|${a.reviewerId}`, clone(a));
  }

  async listAssignments(roundId: string) {
    await this.enter('listAssignments');
    return [...this.assignments.values()]
      .filter((a) => a.roundId === roundId)
      .sort((a, b) => a.dossierNumber - b.dossierNumber || (a.reviewerId < b.reviewerId ? -1 : 1))
      .map(clone);
  }

  async putReview(review: ReviewRecord) {
    await this.enter('putReview');
    this.reviews.set(`${review.roundId}|${review.dossierNumber}|${review.reviewerId}`, clone(review));
  }

  async listReviews(roundId: string) {
    await this.enter('listReviews');
    return [...this.reviews.values()].filter((r) => r.roundId === roundId).map(clone);
  }

  private static notificationKey(n: Pick<NotificationRecord, 'roundId' | 'reviewerId' | 'key'>) {
    return `${n.roundId}|${n.key}|${n.reviewerId}`;
  }

  async claimNotification(record: NotificationRecord, staleBefore: Date) {
    await this.enter('claimNotification');
    const key = MemoryRoundRepository.notificationKey(record);
    const current = this.notifications.get(key);
    if (current && !(current.status === 'sending' && current.updatedAt < staleBefore.toISOString())) return false;
    const { messageId: _messageId, ...claim } = record;
    this.notifications.set(key, clone({ ...claim, status: 'sending' }));
    return true;
  }

  async markNotificationSent(record: NotificationRecord, messageId: string) {
    await this.enter('markNotificationSent');
    this.notifications.set(MemoryRoundRepository.notificationKey(record), clone({ ...record, status: 'sent', messageId }));
  }

  async releaseNotification(record: NotificationRecord) {
    await this.enter('releaseNotification');
    const key = MemoryRoundRepository.notificationKey(record);
    const current = this.notifications.get(key);
    if (current?.status === 'sending' && current.updatedAt === record.updatedAt) this.notifications.delete(key);
  }

  async listNotifications(roundId: string) {
    await this.enter('listNotifications');
    return [...this.notifications.values()].filter((n) => n.roundId === roundId).map(clone);
  }

  async recordNotificationOutcome(
    notification: Pick<NotificationRecord, 'roundId' | 'reviewerId' | 'key'>,
    change: { messageId: string; outcome: MailOutcome; at: string; replaces: readonly MailOutcome[] },
  ) {
    await this.enter('recordNotificationOutcome');
    const key = MemoryRoundRepository.notificationKey(notification);
    const current = this.notifications.get(key);
    if (!current || current.messageId !== change.messageId) return 'unmatched' as const;
    if (current.outcome !== undefined && !change.replaces.includes(current.outcome)) return 'unchanged' as const;
    this.notifications.set(key, { ...current, outcome: change.outcome, outcomeAt: new Date(Date.parse(change.at)).toISOString() });
    return 'recorded' as const;
  }

  async suppressReviewer(id: string, reason: SuppressionReason, at: string) {
    await this.enter('suppressReviewer');
    const current = this.reviewers.get(id);
    if (!current) return undefined;
    if (current.suppressed === true) return { written: false, reviewer: clone(current) };
    const next = { ...current, suppressed: true, suppressedReason: reason, suppressedAt: new Date(Date.parse(at)).toISOString() };
    this.reviewers.set(id, next);
    return { written: true, reviewer: clone(next) };
  }

  async unsuppressReviewer(id: string) {
    await this.enter('unsuppressReviewer');
    const current = this.reviewers.get(id);
    if (current?.suppressed !== true) return false;
    const { suppressed: _s, suppressedReason: _r, suppressedAt: _a, ...rest } = current;
    this.reviewers.set(id, rest);
    return true;
  }

  async putDecisions(decisions: DecisionRecord[]) {
    await this.enter('putDecisions');
    for (const d of decisions) this.decisions.set(`${d.roundId}|${d.dossierNumber}`, clone(d));
  }

  async listDecisions(roundId: string) {
    await this.enter('listDecisions');
    return [...this.decisions.values()].filter((d) => d.roundId === roundId).sort((a, b) => a.dossierNumber - b.dossierNumber).map(clone);
  }

  async putAudit(record: AuditRecord) {
    await this.enter('putAudit');
    this.audit.push(clone(record));
  }

  async listAudit(roundId: string) {
    await this.enter('listAudit');
    return this.audit.filter((a) => a.roundId === roundId).map(clone);
  }

  exclusions = new Map<string, ExclusionRecord>();
  committeeDecisions = new Map<string, CommitteeDecisionRecord>();

  async putExclusion(record: ExclusionRecord) {
    await this.enter('putExclusion');
    this.exclusions.set(`${record.roundId}|${record.dossierNumber}`, clone(record));
  }

  async listExclusions(roundId: string) {
    await this.enter('listExclusions');
    return [...this.exclusions.values()].filter((e) => e.roundId === roundId).sort((a, b) => a.dossierNumber - b.dossierNumber).map(clone);
  }

  async putCommitteeDecision(record: CommitteeDecisionRecord) {
    await this.enter('putCommitteeDecision');
    this.committeeDecisions.set(`${record.roundId}|${record.dossierNumber}`, clone(record));
  }

  async listCommitteeDecisions(roundId: string) {
    await this.enter('listCommitteeDecisions');
    return [...this.committeeDecisions.values()].filter((e) => e.roundId === roundId).sort((a, b) => a.dossierNumber - b.dossierNumber).map(clone);
  }

  /* ---- test conveniences (no call recorded) ---- */

  notificationsOf(roundId: string, status?: NotificationRecord['status']): NotificationRecord[] {
    return [...this.notifications.values()].filter((n) => n.roundId === roundId && (!status || n.status === status));
  }

  assignmentPairs(roundId: string): [number, string][] {
    return [...this.assignments.values()]
      .filter((a) => a.roundId === roundId)
      .map((a): [number, string] => [a.dossierNumber, a.reviewerId])
      .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  }
}

export class MemoryRoundDossiers implements RoundDossiers {
  dossiers: DossierRecord[] = [];

  async listRoundDossiers(roundId: string) {
    return this.dossiers.filter((d) => d.round === roundId).map(clone);
  }

  /** One dossier by number (what saveReview reads). */
  async get(number: number) {
    const dossier = this.dossiers.find((d) => d.number === number);
    return dossier ? clone(dossier) : undefined;
  }
}

/** Records every mail; `failFor` makes the provider reject some (by recipient, for instance). */
export class RecordingMailer implements Mailer {
  sent: MailMessage[] = [];
  attempts = 0;
  failFor?: (message: MailMessage) => boolean;

  async send(message: MailMessage) {
    this.attempts++;
    if (this.failFor?.(message)) throw Object.assign(new Error('MessageRejected'), { name: 'MessageRejected' });
    this.sent.push(clone(message));
    return `message-${this.sent.length}`;
  }

  /** Mails received by one address. */
  to(address: string): MailMessage[] {
    return this.sent.filter((m) => m.to.includes(address));
  }
}

export class MemoryReportStore implements ReportStore {
  reports = new Map<string, { json: string; csv: string }>();
  puts = 0;

  async putReport(roundId: string, report: { json: string; csv: string }) {
    this.puts++;
    this.reports.set(roundId, { ...report });
    return { jsonKey: `reports/${roundId}/selection.json`, csvKey: `reports/${roundId}/selection.csv` };
  }
}

/* ---- fixtures ---- */

export const TEST_CONFIG: RoundsConfig = {
  capacityPosts: 5,
  yearlyCeilingPosts: 30,
  ceilingPeriodStartMonth: 1,
  reviewersPerDossier: 2,
  waitlistSize: 2,
  minimumScore: 3,
  reviewDays: 21,
  reviewLinkGraceDays: 14,
  criteria: [
    { id: 'impact', label: 'Impact', weight: 3 },
    { id: 'faisabilite', label: 'Faisabilité', weight: 1 },
  ],
  staffEmails: ['equipe@example.gouv.fr'],
  mailFrom: 'selection@example.gouv.fr',
};

/** A valid dossier of a round (status `stored`), with the project fields the rounds use. */
export function roundDossier(number: number, overrides: {
  round?: string; status?: DossierRecord['status']; siret?: string; posts?: number; title?: string; administration?: string; dateDepot?: string | null;
} = {}): DossierRecord {
  const dateDepot = overrides.dateDepot === undefined ? `2026-03-${String(1 + (number % 27)).padStart(2, '0')}T10:00:00+01:00` : overrides.dateDepot;
  return {
    number,
    demarcheNumber: 98765,
    state: 'en_construction',
    status: overrides.status ?? 'stored',
    dateDerniereModification: dateDepot,
    modifiedAtMs: dateDepot ? Date.parse(dateDepot) : 0,
    dateDepot,
    round: overrides.round ?? '2026-03',
    project: {
      title: overrides.title ?? `Projet ${number}`,
      administration: { name: overrides.administration ?? `Administration ${number}`, siret: overrides.siret ?? String(10_000_000_000_000 + number) },
      eigPostsRequested: overrides.posts ?? 1,
    },
    issues: [],
    attachments: [],
    filesComplete: true,
    snapshotKey: null,
    ingestedAt: '2026-03-02T10:00:00.000Z',
  };
}

/**
 * A fixed reviewer id for a test address (16 hex characters of its SHA-256), so fixtures can name a
 * reviewer by email. Production ids are random (newReviewerId) and found by email on import.
 */
export function testReviewerId(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex').slice(0, 16);
}

export function reviewerRecord(email: string, overrides: Partial<Omit<ReviewerRecord, 'id' | 'email'>> = {}): ReviewerRecord {
  return { id: testReviewerId(email), email, name: overrides.name ?? email.split('@')[0]!, conflicts: [], active: true, ...overrides };
}
