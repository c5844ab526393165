/** Errors of the mail events. Their messages hold paths, codes and counts, never an address. */

/** An event that is not what SES publishes (schemas/ses-event.ts): nothing was done. */
export class InvalidMailEventError extends Error {
  override name = 'InvalidMailEventError';
  /** `issues`: each as `<path>: <code>` (schemas/ses-event.ts `sesEventIssues`). */
  constructor(readonly issues: string[]) {
    super(`invalid SES event: ${issues.join('; ')}`);
  }
}

/** Staff mails SES refused or failed, the suppressions stored: a retry of the event sends those only. */
export class MailEventIncompleteError extends Error {
  override name = 'MailEventIncompleteError';
}
