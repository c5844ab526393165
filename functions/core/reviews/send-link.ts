import { canReceiveAssignments } from '../rounds/assign-reviewers.ts';
import type { ReviewerRecord, RoundRecord } from '../rounds/model.ts';
import { deliverMails, type MailTally } from '../rounds/notifications.ts';
import { parisDay } from '../rounds/paris-dates.ts';
import type { Mailer, RoundRepository } from '../rounds/ports.ts';
import { linkExpiry, reviewLink, type ReviewLinkSettings } from '../rounds/review-links.ts';
import { linkMail } from '../rounds/round-mails.ts';
import type { RoundsConfig } from '#schemas/rounds';

/**
 * `reviewers send-link EMAIL --round R [--print]`: a fresh personal link for a reviewer who lost
 * theirs, or whose link expired. Mailed (template `link`, key `link:<Paris day>`: at most one a
 * day per reviewer and round, however often staff ask), or returned for staff to paste
 * (`print`), which sends and records nothing.
 *
 * Refused (SendLinkRefusedError) for an unknown or inactive reviewer, a round that does not
 * exist, is not reviewing or closed (reviewers need links while reviewing, and to read their
 * reviews after the closing until the links expire), a round whose links have expired, a
 * reviewer with no dossier in the round, and, for a mail, an address SES reported as bouncing.
 */

export type SendLinkRefusal =
  | 'unknown_reviewer'
  | 'inactive_reviewer'
  | 'suppressed_address'
  | 'no_round'
  | 'round_not_reviewing'
  | 'links_expired'
  | 'not_assigned';

/** Nothing was sent. The message names the round, never the address. */
export class SendLinkRefusedError extends Error {
  override name = 'SendLinkRefusedError';
  constructor(message: string, readonly reason: SendLinkRefusal) {
    super(message);
  }
}

export interface SendLinkDependencies {
  rounds: RoundRepository;
  mailer: Mailer;
  config: Pick<RoundsConfig, 'reviewDays' | 'reviewLinkGraceDays'>;
  clock: { now(): Date };
  reviewLinks: ReviewLinkSettings;
}

export interface SendLinkRequest {
  roundId: string;
  email: string;
  /** Return the link instead of mailing it. */
  print?: boolean;
}

export interface SendLinkResult {
  roundId: string;
  reviewerId: string;
  /** The link's expiry (ISO). */
  expiresAt: string;
  /** `print`: the link; absent when it was mailed (it is personal: it stays in the mail). */
  link?: string;
  /** Mailed: the claim's outcome (`alreadySent`: a link mail went to this reviewer today already). */
  mail?: MailTally;
}

export async function sendLink(request: SendLinkRequest, deps: SendLinkDependencies): Promise<SendLinkResult> {
  const email = request.email.trim().toLowerCase();
  const [round, reviewers] = await Promise.all([deps.rounds.getRound(request.roundId), deps.rounds.listReviewers()]);
  if (!round) throw new SendLinkRefusedError(`round ${request.roundId} does not exist`, 'no_round');
  const reviewer = reviewers.find((r) => r.email.trim().toLowerCase() === email);
  if (!reviewer) throw new SendLinkRefusedError('no reviewer has this email (ds-selection reviewers list)', 'unknown_reviewer');
  if (!reviewer.active) {
    throw new SendLinkRefusedError('this reviewer is inactive: the review page refuses their links (reactivate them with reviewers import)', 'inactive_reviewer');
  }
  const now = deps.clock.now();
  const expiresAt = checkRound(round, deps, now);
  const assignments = await deps.rounds.listReviewerAssignments(round.id, reviewer.id);
  if (assignments.length === 0) throw new SendLinkRefusedError(`this reviewer has no dossier in round ${round.id}`, 'not_assigned');

  const link = reviewLink(deps.reviewLinks, round.id, reviewer.id, expiresAt);
  const base = { roundId: round.id, reviewerId: reviewer.id, expiresAt: expiresAt.toISOString() };
  if (request.print === true) return { ...base, link };
  if (!canReceiveAssignments(reviewer)) {
    throw new SendLinkRefusedError('SES reported this address as bouncing: no mail goes to it (print the link with --print instead)', 'suppressed_address');
  }
  const mail = await deliverMails(deps, [linkMailOf(round, reviewer, link, now)], now);
  return { ...base, mail };
}

/** The link's expiry when the round gives links now; refused otherwise. */
function checkRound(round: RoundRecord, deps: SendLinkDependencies, now: Date): Date {
  if (round.status === 'open') {
    throw new SendLinkRefusedError(`round ${round.id} is open: links are sent once reviewers are assigned (rounds close-submissions)`, 'round_not_reviewing');
  }
  // To the second, as the token carries it: the expiry staff are told is the link's.
  const expiresAt = new Date(Math.floor(linkExpiry(round, deps.config, now).getTime() / 1000) * 1000);
  // A link is only as good as its expiry (review deadline + grace days), even while reviewing.
  if (expiresAt.getTime() <= now.getTime()) {
    throw new SendLinkRefusedError(`round ${round.id} is ${round.status} and its links expired on ${expiresAt.toISOString()}`, 'links_expired');
  }
  return expiresAt;
}

function linkMailOf(round: RoundRecord, reviewer: ReviewerRecord, link: string, now: Date) {
  return {
    roundId: round.id,
    reviewerId: reviewer.id,
    key: `link:${parisDay(now)}`,
    template: 'link' as const,
    message: () => linkMail({ reviewer, roundId: round.id, deadline: round.reviewDeadline, link }),
  };
}
