import type { Criterion } from '#schemas/rounds';

/**
 * Rounds, reviewers, assignments, reviews, notifications, decisions and audit records: the
 * records of the selection workflow. Pure types; the DynamoDB adapter stores them
 * (docs/data-model.md), the use cases in this folder decide what to write.
 */

/**
 * The phases of a round. What each allows is data (ROUND_PHASES), not code scattered in
 * handlers, after pretalx's review phases.
 */
export const ROUND_STATUSES = ['open', 'reviewing', 'closed'] as const;
export type RoundStatus = (typeof ROUND_STATUSES)[number];

export interface PhasePermissions {
  /** Dossiers deposited now belong to this round. */
  acceptsDossiers: boolean;
  /** Reviewers may submit or change reviews. */
  canReview: boolean;
  /** Reviewers with unfinished reviews may be reminded. */
  canRemind: boolean;
  /** The status the next step moves the round to, or null at the end. */
  next: RoundStatus | null;
}

export const ROUND_PHASES: Readonly<Record<RoundStatus, PhasePermissions>> = {
  open: { acceptsDossiers: true, canReview: false, canRemind: false, next: 'reviewing' },
  reviewing: { acceptsDossiers: false, canReview: true, canRemind: true, next: 'closed' },
  closed: { acceptsDossiers: false, canReview: false, canRemind: false, next: null },
};

export interface RoundRecord {
  /** `YYYY-MM`, the opening month (core/round.ts roundOf). */
  id: string;
  status: RoundStatus;
  openedAt: string;
  submissionsClosedAt: string | null;
  /** Reviews are due by then (set when submissions close). */
  reviewDeadline: string | null;
  selectionClosedAt: string | null;
  /** Copied from the configuration when the round opens, so later config edits do not change a running round. */
  capacityPosts: number;
  reviewersPerDossier: number;
  criteria: Criterion[];
  /** Incremented on every change: the conditional writes compare it. */
  version: number;
}

export interface ReviewerRecord {
  /** Stable id derived from the email (reviewerIdOf). */
  id: string;
  email: string;
  name: string;
  conflicts: string[];
  active: boolean;
  /** Set when SES reports a bounce or complaint: no more mail to this address. */
  suppressed?: boolean;
}

export interface AssignmentRecord {
  roundId: string;
  dossierNumber: number;
  reviewerId: string;
  assignedAt: string;
}

export interface ReviewRecord {
  roundId: string;
  dossierNumber: number;
  reviewerId: string;
  scores: Record<string, number>;
  comment: string;
  conflictOfInterest: boolean;
  submittedAt: string;
}

export type NotificationTemplate = 'assignment' | 'reminder' | 'selection_report';

export interface NotificationRecord {
  roundId: string;
  reviewerId: string;
  /** The template and, for repeatable ones, its occasion (`reminder:2026-05-14`). */
  key: string;
  template: NotificationTemplate;
  status: 'sending' | 'sent';
  updatedAt: string;
  messageId?: string;
}

export type DecisionOutcome = 'selected' | 'waitlisted' | 'not_selected';

export interface DecisionRecord {
  roundId: string;
  dossierNumber: number;
  outcome: DecisionOutcome;
  /** 1-based, among ranked dossiers; null when the dossier had no counted review. */
  rank: number | null;
  /** Weighted mean score, 1-5, rounded to 2 decimals; null without counted review. */
  score: number | null;
  reviewCount: number;
  eigPostsRequested: number;
  reason: string;
}

export type RoundStep = 'open' | 'close-submissions' | 'remind' | 'close-selection';

export interface AuditRecord {
  roundId: string;
  step: RoundStep;
  at: string;
  /** `schedule` or `staff:<name>`: who asked. */
  actor: string;
  /** What the step did (counts, statuses): never personal data. */
  summary: Record<string, unknown>;
}
