import { beforeEach, describe, expect, it } from 'vitest';
import { handleMailEvent, MAIL_EVENTS_ROUND, milderOutcomes, suppressionKey } from '#core/mail-events/handle-mail-event';
import { MESSAGE_TAG_NAMES, messageTagsOf, notificationOfTags } from '#core/mail-events/message-tags';
import { UnknownReviewerError, unsuppressReviewer } from '#core/mail-events/unsuppress-reviewer';
import { SesEventBridgeEventSchema, type SesEventDetail } from '#schemas/ses-event';
import { MemoryRoundRepository, RecordingMailer, reviewerRecord } from '../helpers/memory-round-ports.ts';
import { readJson } from '../helpers/samples.ts';

const STAFF = ['equipe@example.gouv.fr', 'direction@example.gouv.fr'];
const ALICE = 'alice.martin@example.gouv.fr';
const NOW = new Date('2026-03-14T08:05:00.000Z');
const MESSAGE_ID = '0102019a3c5e7f10-5d1c2b3a-8e9f-4a0b-9c1d-2e3f4a5b6c7d-000000';

let rounds: MemoryRoundRepository;
let mailer: RecordingMailer;
const alice = reviewerRecord(ALICE, { name: 'Alice Martin' });
const bob = reviewerRecord('bob@example.fr');

/** A sample of events/, parsed as the handler parses it, with the reviewer id and key of its tags set to `alice`'s reminder. */
function sample(kind: 'bounce' | 'complaint' | 'delivery' | 'reject', change: (event: any) => void = () => {}): SesEventDetail {
  const event = readJson(`events/ses-${kind}.json`);
  event.detail.mail.tags[MESSAGE_TAG_NAMES.reviewerId] = [alice.id];
  change(event);
  return SesEventBridgeEventSchema.parse(event).detail;
}
const deps = () => ({ rounds, mailer, config: { staffEmails: STAFF }, clock: { now: () => NOW } });
const run = (detail: SesEventDetail) => handleMailEvent(detail, deps());

beforeEach(async () => {
  rounds = new MemoryRoundRepository();
  mailer = new RecordingMailer();
  await rounds.putReviewers([alice, bob]);
  // The reminder the samples are about, sent to Alice.
  const reminder = { roundId: '2026-03', reviewerId: alice.id, key: 'reminder:2026-03-14', template: 'reminder' as const, status: 'sending' as const, updatedAt: '2026-03-14T08:00:00.000Z' };
  await rounds.claimNotification(reminder, new Date(0));
  await rounds.markNotificationSent(reminder, MESSAGE_ID);
});

const stored = (id = alice.id) => rounds.reviewers.get(id)!;
const reminder = () => rounds.notifications.get(`2026-03|reminder:2026-03-14|${alice.id}`)!;
const staffMails = () => mailer.sent.filter((m) => m.to.includes(STAFF[0]!));

describe('the sample events', () => {
  it('parse, one of each kind, all through the same configuration set', () => {
    for (const kind of ['bounce', 'complaint', 'delivery', 'reject'] as const) {
      const event = SesEventBridgeEventSchema.parse(readJson(`events/ses-${kind}.json`));
      expect(event.source).toBe('aws.ses');
      expect(event.detail.mail.tags?.['ses:configuration-set']).toHaveLength(1);
    }
  });

  it('a malformed event is refused', () => {
    const event = readJson('events/ses-bounce.json');
    delete event.detail.bounce.bouncedRecipients;
    expect(SesEventBridgeEventSchema.safeParse(event).success).toBe(false);
    expect(SesEventBridgeEventSchema.safeParse({ ...readJson<Record<string, unknown>>('events/ses-delivery.json'), source: 'aws.s3' }).success).toBe(false);
  });
});

describe('message tags', () => {
  it('carry the notification (key in base64url, as SES allows) and come back from an event', () => {
    const tags = messageTagsOf({ roundId: '2026-03', reviewerId: alice.id, key: 'reminder:2026-03-14' });
    expect(tags).toEqual([
      { Name: 'ds-round', Value: '2026-03' }, { Name: 'ds-reviewer', Value: alice.id }, { Name: 'ds-notification', Value: 'cmVtaW5kZXI6MjAyNi0wMy0xNA' },
    ]);
    for (const { Value } of tags) expect(Value).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    expect(notificationOfTags(Object.fromEntries(tags.map((t) => [t.Name, [t.Value]])))).toEqual({ roundId: '2026-03', reviewerId: alice.id, key: 'reminder:2026-03-14' });
    expect(notificationOfTags({ 'ses:operation': ['SendEmail'] })).toBeUndefined();
    expect(notificationOfTags(undefined)).toBeUndefined();
    // Nothing of the address ever goes into a tag; an id that does not fit leaves the mail untagged.
    expect(messageTagsOf({ roundId: 'a b', reviewerId: 'x', key: 'k' })).toEqual([]);
  });
});

describe('handleMailEvent', () => {
  it('a permanent bounce suppresses the reviewer, records the outcome, mails staff once', async () => {
    const result = await run(sample('bounce'));
    expect(result).toMatchObject({ eventType: 'Bounce', outcome: 'bounced', notification: 'recorded', suppression: 'bounce', suppressed: [alice.id], unknownRecipients: 0 });
    expect(stored()).toMatchObject({ suppressed: true, suppressedReason: 'bounce', suppressedAt: '2026-03-14T08:00:02.669Z' });
    expect(reminder()).toMatchObject({ outcome: 'bounced', outcomeAt: '2026-03-14T08:00:02.669Z' });
    expect(staffMails()).toHaveLength(1);
    const [mail] = staffMails();
    expect(mail!.to).toEqual(STAFF);
    expect(mail!.text).toContain('Alice Martin (alice.martin@example.gouv.fr)');
    expect(mail!.text).toContain('ds-selection reviewers unsuppress');
    expect(mail!.tags).toEqual({ roundId: MAIL_EVENTS_ROUND, reviewerId: 'staff', key: suppressionKey(stored()) });
    expect(mailer.to(ALICE)).toEqual([]);
    expect(rounds.audit).toEqual([expect.objectContaining({ roundId: MAIL_EVENTS_ROUND, step: 'suppress-reviewer', actor: 'ses', summary: { reason: 'bounce', eventType: 'Bounce', reviewerIds: [alice.id] } })]);
    expect(JSON.stringify(rounds.audit)).not.toContain('@');
  });

  it('a transient (or undetermined) bounce does not suppress, and mails nobody', async () => {
    for (const bounceType of ['Transient', 'Undetermined']) {
      const result = await run(sample('bounce', (e) => { e.detail.bounce.bounceType = bounceType; e.detail.bounce.bounceSubType = 'MailboxFull'; }));
      expect(result).toMatchObject({ suppression: null, suppressed: [], notification: expect.any(String) });
    }
    expect(stored().suppressed).toBeUndefined();
    expect(reminder().outcome).toBe('bounced');
    expect(mailer.sent).toEqual([]);
  });

  it('a complaint suppresses (reason complaint); a not-spam feedback does not', async () => {
    const notSpam = await run(sample('complaint', (e) => { e.detail.complaint.complaintFeedbackType = 'not-spam'; }));
    expect(notSpam.suppressed).toEqual([]);
    expect(stored().suppressed).toBeUndefined();
    const result = await run(sample('complaint'));
    expect(result).toMatchObject({ outcome: 'complained', suppression: 'complaint', suppressed: [alice.id] });
    expect(stored()).toMatchObject({ suppressed: true, suppressedReason: 'complaint', suppressedAt: '2026-03-14T09:12:40.000Z' });
    expect(reminder().outcome).toBe('complained');
    expect(staffMails()).toHaveLength(1);
    expect(staffMails()[0]!.subject).toContain('plainte');
  });

  it('a delivery records the outcome and nothing else; a reject too', async () => {
    expect(await run(sample('delivery'))).toMatchObject({ outcome: 'delivered', notification: 'recorded', suppression: null });
    expect(reminder()).toMatchObject({ outcome: 'delivered', outcomeAt: '2026-03-14T08:00:02.840Z' });
    expect(stored().suppressed).toBeUndefined();
    expect(await run(sample('reject'))).toMatchObject({ outcome: 'rejected', notification: 'recorded', suppression: null });
    expect(reminder().outcome).toBe('rejected');
    expect(mailer.sent).toEqual([]);
  });

  it('replays change nothing: the same bounce three times, one suppression, one staff mail, one audit record', async () => {
    await run(sample('bounce'));
    const after = { reviewer: stored(), reminder: reminder(), audit: rounds.audit.length };
    for (let i = 0; i < 2; i++) {
      const again = await run(sample('bounce'));
      expect(again).toMatchObject({ suppressed: [], alreadySuppressed: [alice.id], notification: 'unchanged', staffMails: { sent: 0, alreadySent: 1, failed: 0 } });
    }
    expect({ reviewer: stored(), reminder: reminder(), audit: rounds.audit.length }).toEqual(after);
    expect(staffMails()).toHaveLength(1);
  });

  it('out of order: a delivery after the bounce or complaint never replaces it; a complaint after a delivery does', async () => {
    await run(sample('complaint'));
    expect((await run(sample('delivery'))).notification).toBe('unchanged');
    expect((await run(sample('bounce'))).notification).toBe('unchanged');
    expect(reminder().outcome).toBe('complained');
    // A later complaint about the same address: still one staff mail (the first suppression stays).
    expect(stored().suppressedReason).toBe('complaint');
    expect(staffMails()).toHaveLength(1);
    expect(milderOutcomes('complained').sort()).toEqual(['bounced', 'delivered', 'rejected']);
    expect(milderOutcomes('delivered')).toEqual([]);
  });

  it('an unknown recipient is ignored (counted, never logged); another message id leaves the notification alone', async () => {
    const result = await run(sample('bounce', (e) => {
      e.detail.bounce.bouncedRecipients = [{ emailAddress: 'Someone Else <nobody@example.org>' }];
      e.detail.mail.messageId = 'another-message';
    }));
    expect(result).toMatchObject({ unknownRecipients: 1, suppressed: [], notification: 'unmatched' });
    expect(JSON.stringify(result)).not.toContain('@');
    expect([...rounds.reviewers.values()].some((r) => r.suppressed)).toBe(false);
    expect(reminder().outcome).toBeUndefined();
    expect(mailer.sent).toEqual([]);
  });

  it('matches the address lower-cased, and a mail without tags still suppresses', async () => {
    const result = await run(sample('bounce', (e) => {
      e.detail.bounce.bouncedRecipients = [{ emailAddress: 'Alice.Martin@Example.GOUV.fr' }];
      e.detail.mail.tags = { 'ses:configuration-set': ['x'] };
    }));
    expect(result).toMatchObject({ suppressed: [alice.id], notification: 'untagged' });
  });

  it('staff are mailed once per address suppressed, again only after staff lifted it and it bounced again', async () => {
    await run(sample('bounce', (e) => { e.detail.bounce.bouncedRecipients.push({ emailAddress: 'bob@example.fr' }); }));
    expect(staffMails()).toHaveLength(2);
    expect(rounds.notificationsOf(MAIL_EVENTS_ROUND, 'sent').map((n) => n.reviewerId)).toEqual(['staff', 'staff']);
    await unsuppressReviewer({ email: ALICE, actor: 'staff:jdupont' }, { rounds, clock: { now: () => NOW } });
    await run(sample('bounce', (e) => { e.detail.bounce.timestamp = '2026-04-01T10:00:00.000Z'; }));
    expect(staffMails()).toHaveLength(3);
  });

  it('a staff mail SES refuses is counted failed and released: the retry sends it, once', async () => {
    mailer.failFor = () => true;
    expect((await run(sample('bounce'))).staffMails).toEqual({ sent: 0, alreadySent: 0, failed: 1 });
    expect(stored().suppressed).toBe(true);
    mailer.failFor = undefined;
    expect((await run(sample('bounce'))).staffMails).toEqual({ sent: 1, alreadySent: 0, failed: 0 });
    expect((await run(sample('bounce'))).staffMails).toEqual({ sent: 0, alreadySent: 1, failed: 0 });
  });

  it('no staff address: the suppression is stored, no mail', async () => {
    await handleMailEvent(sample('bounce'), { ...deps(), config: { staffEmails: [] } });
    expect(stored().suppressed).toBe(true);
    expect(mailer.sent).toEqual([]);
  });
});

describe('unsuppressReviewer', () => {
  it('lifts the suppression, audited without the address; not suppressed: nothing changes; unknown: refused', async () => {
    await run(sample('complaint'));
    const result = await unsuppressReviewer({ email: ' ALICE.martin@example.gouv.fr ', actor: 'staff:jdupont' }, { rounds, clock: { now: () => NOW } });
    expect(result).toEqual({ reviewerId: alice.id, changed: true, previousReason: 'complaint', previousAt: '2026-03-14T09:12:40.000Z' });
    expect(stored()).toEqual(alice);
    const audit = rounds.audit.find((a) => a.step === 'unsuppress-reviewer');
    expect(audit).toMatchObject({ roundId: MAIL_EVENTS_ROUND, actor: 'staff:jdupont', summary: { reviewerId: alice.id, previousReason: 'complaint' } });
    expect(JSON.stringify(rounds.audit)).not.toContain('@');
    expect((await unsuppressReviewer({ email: ALICE, actor: 'staff:jdupont' }, { rounds, clock: { now: () => NOW } })).changed).toBe(false);
    await expect(unsuppressReviewer({ email: 'nobody@example.org', actor: 'staff:x' }, { rounds, clock: { now: () => NOW } })).rejects.toBeInstanceOf(UnknownReviewerError);
  });
});
