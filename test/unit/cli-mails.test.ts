import { describe, expect, it } from 'vitest';
import { mailViews } from '../../infra/cli/mails.ts';

// `mails list` reads aws-ses-v2-local's store (GET /store): its shape is checked, not trusted.
const mail = (messageId: string, at: number, to: string[], cc: string[] = []) => ({
  messageId, from: 'eig@example.gouv.fr', destination: { to, cc, bcc: [] }, subject: `s-${messageId}`, body: { text: `t-${messageId}`, html: '<p>x</p>' }, at,
});

describe('mailViews', () => {
  it('lists mails oldest first, with their recipients, filtered by address whatever its case', () => {
    const store = { emails: [mail('b', 1772800000, ['bob@example.fr']), mail('a', 1772700000, ['alice@example.fr'], ['bob@example.fr'])], templates: [] };
    expect(mailViews(store).map((m) => [m.messageId, m.sentAt, m.to])).toEqual([
      ['a', '2026-03-05T08:40:00.000Z', ['alice@example.fr', 'bob@example.fr']],
      ['b', '2026-03-06T12:26:40.000Z', ['bob@example.fr']],
    ]);
    expect(mailViews(store, ' BOB@example.fr').map((m) => m.messageId)).toEqual(['a', 'b']);
    expect(mailViews(store, 'carol@example.fr')).toEqual([]);
    expect(mailViews(store)[0]).toMatchObject({ subject: 's-a', text: 't-a', from: 'eig@example.gouv.fr' });
  });

  it('refuses something that is not the local mail store', () => {
    expect(() => mailViews({ mails: [] })).toThrow(/aws-ses-v2-local/);
    expect(() => mailViews({ emails: [{ messageId: 1 }] })).toThrow(/aws-ses-v2-local/);
  });
});
