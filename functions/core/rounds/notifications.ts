import type { MailMessage, Mailer, RoundRepository } from './ports.ts';
import type { NotificationRecord, NotificationTemplate } from './model.ts';

/**
 * Sending a mail at most once: claim the notification (a conditional write), send, mark it
 * sent. A failed send gives the claim back, so the next run tries again; a claim stuck in
 * `sending` for 15 minutes (a crash between claim and send) may be taken again, so a mail goes
 * twice only after such a crash.
 */

export const STALE_CLAIM_MS = 15 * 60_000;

export interface PendingMail {
  roundId: string;
  /** A reviewer id, or `staff`. */
  reviewerId: string;
  /** The template and, for repeatable ones, its occasion (`reminder:2026-05-14`). */
  key: string;
  template: NotificationTemplate;
  /** Built only once the claim is won (it may write, e.g. the report it points to). */
  message: () => MailMessage | Promise<MailMessage>;
}

export interface MailTally {
  /** Sent by this run. */
  sent: number;
  /** Sent (or being sent) by an earlier or concurrent run. */
  alreadySent: number;
  /** Claimed but not sent (provider error): released, the next run sends them. */
  failed: number;
}

export const emptyTally = (): MailTally => ({ sent: 0, alreadySent: 0, failed: 0 });

const claimKey = (n: Pick<NotificationRecord, 'roundId' | 'reviewerId' | 'key'>) => `${n.roundId}\u0000${n.reviewerId}\u0000${n.key}`;

/** Whether a stored notification still blocks a send at `now` (sent, or a fresh claim). */
export function blocksSend(record: NotificationRecord, now: Date): boolean {
  return record.status === 'sent' || Date.parse(record.updatedAt) >= now.getTime() - STALE_CLAIM_MS;
}

/** Dry run: how many of these mails a run would send now. */
export async function countUnsent(rounds: RoundRepository, mails: readonly PendingMail[], now: Date): Promise<number> {
  const roundIds = [...new Set(mails.map((m) => m.roundId))];
  const blocking = new Set<string>();
  for (const roundId of roundIds) {
    for (const record of await rounds.listNotifications(roundId)) if (blocksSend(record, now)) blocking.add(claimKey(record));
  }
  return mails.filter((m) => !blocking.has(claimKey(m))).length;
}

/** Sends each mail at most once; a send error is counted and the others still go. */
export async function deliverMails(deps: { rounds: RoundRepository; mailer: Mailer }, mails: readonly PendingMail[], now: Date): Promise<MailTally> {
  const tally = emptyTally();
  const staleBefore = new Date(now.getTime() - STALE_CLAIM_MS);
  for (const mail of mails) {
    const record: NotificationRecord = {
      roundId: mail.roundId, reviewerId: mail.reviewerId, key: mail.key, template: mail.template, status: 'sending', updatedAt: now.toISOString(),
    };
    if (!(await deps.rounds.claimNotification(record, staleBefore))) {
      tally.alreadySent++;
      continue;
    }
    let messageId: string;
    try {
      // Tagged with the notification's key: SES's delivery, bounce and complaint events name it (handle-mail-events).
      messageId = await deps.mailer.send({ ...(await mail.message()), tags: { roundId: mail.roundId, reviewerId: mail.reviewerId, key: mail.key } });
    } catch {
      // The error may quote the address: it is not kept. Give the claim back for the next run.
      await deps.rounds.releaseNotification(record);
      tally.failed++;
      continue;
    }
    await deps.rounds.markNotificationSent(record, messageId);
    tally.sent++;
  }
  return tally;
}
