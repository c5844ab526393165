import { describe, expect, it } from 'vitest';
import { InvalidMailEventError, MailEventIncompleteError } from '#core/mail-events/errors';
import { summaryOf, unsentStaffMailsError, type MailEventResult } from '#core/mail-events/handle-mail-event';
import { SesEventBridgeEventSchema, sesEventIssues } from '#schemas/ses-event';
import { readJson } from '../helpers/samples.ts';

// What handle-mail-events makes of an event it cannot read, and of a result: what it logs, and
// when it fails.

const ALICE = 'alice.martin@example.gouv.fr';
const result = (overrides: Partial<MailEventResult> = {}): MailEventResult => ({
  eventType: 'Bounce', outcome: 'bounced', notification: 'recorded', suppression: 'bounce', unknownRecipients: 0,
  suppressed: ['e66a4ce3f6c5d213'], alreadySuppressed: [], staffMails: { sent: 1, alreadySent: 0, failed: 0 }, ...overrides,
});

describe('an event that is not what SES publishes', () => {
  it('each issue as its path and code, without the values (addresses)', () => {
    const event = readJson('events/ses-bounce.json');
    event.detail.bounce.bounceType = ALICE;
    delete event.id;
    const parsed = SesEventBridgeEventSchema.safeParse(event);
    expect(parsed.success).toBe(false);
    const issues = sesEventIssues(parsed.error!);
    expect(issues).toEqual(expect.arrayContaining(['id: invalid_type']));
    expect(issues.some((issue) => issue.startsWith('detail.'))).toBe(true);
    expect(JSON.stringify(issues)).not.toContain('@');
  });

  it('an event that is not an object at all is named `(event)`', () => {
    expect(sesEventIssues(SesEventBridgeEventSchema.safeParse(null).error!)).toEqual(['(event): invalid_type']);
  });

  it('InvalidMailEventError lists the issues', () => {
    const error = new InvalidMailEventError(['id: invalid_type', 'detail.eventType: invalid_union']);
    expect(error).toMatchObject({
      name: 'InvalidMailEventError', issues: ['id: invalid_type', 'detail.eventType: invalid_union'],
      message: 'invalid SES event: id: invalid_type; detail.eventType: invalid_union',
    });
  });
});

describe('summaryOf', () => {
  it('the ids, statuses and counts of the result, and nothing it does not name', () => {
    const withExtra = { ...result(), recipients: [ALICE] } as MailEventResult;
    expect(summaryOf(withExtra)).toEqual({
      eventType: 'Bounce', outcome: 'bounced', notification: 'recorded', suppression: 'bounce', suppressed: ['e66a4ce3f6c5d213'],
      alreadySuppressed: [], unknownRecipients: 0, staffMails: { sent: 1, alreadySent: 0, failed: 0 },
    });
  });
});

describe('unsentStaffMailsError', () => {
  it('none when the staff mails went, were sent already, or there were none', () => {
    expect(unsentStaffMailsError(result())).toBeUndefined();
    expect(unsentStaffMailsError(result({ staffMails: { sent: 0, alreadySent: 1, failed: 0 } }))).toBeUndefined();
    expect(unsentStaffMailsError(result({ suppression: null, suppressed: [], staffMails: { sent: 0, alreadySent: 0, failed: 0 } }))).toBeUndefined();
  });

  it('a MailEventIncompleteError with the count when SES refused or failed some', () => {
    const error = unsentStaffMailsError(result({ staffMails: { sent: 0, alreadySent: 0, failed: 2 } }));
    expect(error).toBeInstanceOf(MailEventIncompleteError);
    expect(error).toMatchObject({
      name: 'MailEventIncompleteError', message: '2 staff mail(s) not sent (SES refused or failed them); the retry sends those only',
    });
  });
});
