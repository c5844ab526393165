import type { MailOutcome, ReviewerRecord, SuppressionReason } from '../rounds/model.ts';
import { deliverMails, emptyTally, type MailTally, type PendingMail } from '../rounds/notifications.ts';
import type { Mailer, RoundRepository } from '../rounds/ports.ts';
import type { SesEventDetail } from '#schemas/ses-event';
import { MailEventIncompleteError } from './errors.ts';
import { notificationOfTags } from './message-tags.ts';
import { suppressionMail } from './suppression-mail.ts';

/**
 * One SES event (handle-mail-events): a bounce, a complaint, a delivery or a reject of a mail
 * sent through the stack's configuration set.
 *
 * - The mail's notification (found by its message tags, checked against the message id) gets the
 *   outcome, a milder one never replacing a stronger one (delivered < rejected, bounced <
 *   complained): SES may report a delivery and later a bounce or complaint of the same mail, and
 *   events come out of order.
 * - A permanent bounce or a complaint (other than `not-spam` feedback) suppresses the reviewer
 *   whose address it names (matched lower-cased against the committee, a few dozen people: one
 *   listing): no more mail, no more assignment. The first suppression is kept. A transient or
 *   undetermined bounce suppresses nothing. An address that is no reviewer's is ignored.
 * - Staff get one mail per suppression (claimed once under the pseudo-round `mail-events`, key
 *   `suppressed:<reviewer id>:<suppressedAt>`), so an address suppressed again after staff lifted
 *   it is reported again.
 *
 * Every step is idempotent: an event delivered twice, or a retry after a crash, changes nothing
 * more and mails staff at most once. Returns ids and counts only, never an address.
 */

/** The pseudo-round whose items hold the staff mails and audit records of mail events. */
export const MAIL_EVENTS_ROUND = 'mail-events';
/** The staff mail of one suppression. */
export const suppressionKey = (reviewer: Pick<ReviewerRecord, 'id' | 'suppressedAt'>) => `suppressed:${reviewer.id}:${reviewer.suppressedAt ?? 'earlier'}`;

const OUTCOME_OF: Record<SesEventDetail['eventType'], MailOutcome> = {
  Delivery: 'delivered', Reject: 'rejected', Bounce: 'bounced', Complaint: 'complained',
};
const OUTCOME_RANK: Record<MailOutcome, number> = { delivered: 1, rejected: 2, bounced: 2, complained: 3 };
/** The stored outcomes a new one may replace: the milder ones. */
export const milderOutcomes = (outcome: MailOutcome): MailOutcome[] =>
  (Object.keys(OUTCOME_RANK) as MailOutcome[]).filter((other) => OUTCOME_RANK[other] < OUTCOME_RANK[outcome]);

export interface MailEventDependencies {
  rounds: RoundRepository;
  mailer: Mailer;
  config: { staffEmails: readonly string[] };
  clock: { now(): Date };
}

export interface MailEventResult {
  eventType: SesEventDetail['eventType'];
  outcome: MailOutcome;
  /** `untagged`: the mail carries no notification tags (sent before them, or by someone else). */
  notification: 'recorded' | 'unchanged' | 'unmatched' | 'untagged';
  /** Why this event suppresses its recipients, if it does. */
  suppression: SuppressionReason | null;
  /** Addresses the event names that are no reviewer's (ignored). */
  unknownRecipients: number;
  /** Reviewer ids this event suppressed. */
  suppressed: string[];
  /** Reviewer ids it names that were suppressed already. */
  alreadySuppressed: string[];
  staffMails: MailTally;
}

/**
 * What is safe to log of a result: its ids, statuses and counts, named one by one so that a field
 * added to the result later (an address...) stays out of the logs until someone chooses to log it.
 */
export function summaryOf(result: MailEventResult): Record<string, unknown> {
  return {
    eventType: result.eventType, outcome: result.outcome, notification: result.notification,
    suppression: result.suppression, suppressed: result.suppressed, alreadySuppressed: result.alreadySuppressed,
    unknownRecipients: result.unknownRecipients, staffMails: result.staffMails,
  };
}

/**
 * The error an event whose staff mails SES refused or failed ends with; undefined when they all
 * went. The suppression is stored by then: failing has Lambda retry the event, which sends only the
 * mails still owed (claims), then the dead-letter queue and the errors alarm see it.
 */
export function unsentStaffMailsError(result: MailEventResult): MailEventIncompleteError | undefined {
  if (!(result.staffMails.failed > 0)) return undefined;
  return new MailEventIncompleteError(`${result.staffMails.failed} staff mail(s) not sent (SES refused or failed them); the retry sends those only`);
}

/** Why the event suppresses its recipients, and whom it names. */
function suppressionOf(detail: SesEventDetail): { reason: SuppressionReason | null; recipients: string[]; at: string } {
  switch (detail.eventType) {
    case 'Bounce':
      return {
        reason: detail.bounce.bounceType === 'Permanent' ? 'bounce' : null,
        recipients: detail.bounce.bouncedRecipients.map((r) => r.emailAddress),
        at: detail.bounce.timestamp,
      };
    case 'Complaint':
      return {
        // `not-spam`: the recipient said the mail is not spam; no reason to stop writing to them.
        reason: detail.complaint.complaintFeedbackType === 'not-spam' ? null : 'complaint',
        recipients: detail.complaint.complainedRecipients.map((r) => r.emailAddress),
        at: detail.complaint.timestamp,
      };
    case 'Delivery':
      return { reason: null, recipients: detail.delivery.recipients, at: detail.delivery.timestamp };
    case 'Reject':
      return { reason: null, recipients: detail.mail.destination, at: detail.mail.timestamp };
  }
}

/** `<user>@<domain>` with a display name or angle brackets taken off, lower-cased. */
export function normalizeAddress(address: string): string {
  const bracketed = /<([^<>]+)>\s*$/.exec(address);
  return (bracketed ? bracketed[1]! : address).trim().toLowerCase();
}

export async function handleMailEvent(detail: SesEventDetail, deps: MailEventDependencies): Promise<MailEventResult> {
  const now = deps.clock.now();
  const outcome = OUTCOME_OF[detail.eventType];
  const { reason, recipients, at } = suppressionOf(detail);
  const instant = new Date(Date.parse(at)).toISOString();
  const result: MailEventResult = {
    eventType: detail.eventType, outcome, notification: 'untagged', suppression: reason,
    unknownRecipients: 0, suppressed: [], alreadySuppressed: [], staffMails: emptyTally(),
  };

  // The reviewers first: a crash after this leaves the suppression, the retry mails staff.
  if (reason) {
    const wanted = new Set(recipients.map(normalizeAddress));
    const reviewers = (await deps.rounds.listReviewers()).filter((r) => wanted.has(normalizeAddress(r.email)));
    result.unknownRecipients = [...wanted].filter((address) => !reviewers.some((r) => normalizeAddress(r.email) === address)).length;
    const toReport: ReviewerRecord[] = [];
    for (const reviewer of reviewers) {
      const stored = await deps.rounds.suppressReviewer(reviewer.id, reason, instant);
      if (!stored) {
        result.unknownRecipients++;
        continue;
      }
      (stored.written ? result.suppressed : result.alreadySuppressed).push(reviewer.id);
      toReport.push(stored.reviewer);
    }
    if (result.suppressed.length > 0) {
      await deps.rounds.putAudit({
        roundId: MAIL_EVENTS_ROUND, step: 'suppress-reviewer', at: now.toISOString(), actor: 'ses',
        summary: { reason, eventType: detail.eventType, reviewerIds: [...result.suppressed].sort() },
      });
    }
    if (deps.config.staffEmails.length > 0 && toReport.length > 0) {
      const mails: PendingMail[] = toReport.map((reviewer) => ({
        roundId: MAIL_EVENTS_ROUND, reviewerId: 'staff', key: suppressionKey(reviewer), template: 'suppression',
        message: () => suppressionMail({
          staffEmails: deps.config.staffEmails, reviewer,
          reason: reviewer.suppressedReason ?? reason, at: reviewer.suppressedAt ?? instant,
        }),
      }));
      result.staffMails = await deliverMails(deps, mails, now);
    }
  }

  const notification = notificationOfTags(detail.mail.tags);
  if (notification) {
    result.notification = await deps.rounds.recordNotificationOutcome(notification, {
      messageId: detail.mail.messageId, outcome, at: instant, replaces: milderOutcomes(outcome),
    });
  }
  return result;
}
