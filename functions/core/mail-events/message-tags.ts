import type { MailTags } from '../rounds/ports.ts';

/**
 * SES message tags naming the notification a mail is: round id, reviewer id (random, or `staff`)
 * and notification key, never an address. SES allows only ASCII letters, digits, `_` and `-` in a
 * tag's name and value (256 characters at most), so the key (`reminder:2026-05-14`) travels in
 * base64url. SES puts the tags of the SendEmail call in every event of the mail (`mail.tags`, each
 * value in a one-element array), next to its own (`ses:configuration-set`, ...).
 */

export const MESSAGE_TAG_NAMES = { roundId: 'ds-round', reviewerId: 'ds-reviewer', key: 'ds-notification' } as const;

const TAG_VALUE = /^[A-Za-z0-9_-]{1,256}$/;

/** The tags of one mail, or none when an id does not fit in a tag (a mail is never refused for its tags). */
export function messageTagsOf(tags: MailTags): { Name: string; Value: string }[] {
  const values = { roundId: tags.roundId, reviewerId: tags.reviewerId, key: Buffer.from(tags.key, 'utf8').toString('base64url') };
  if (!Object.values(values).every((value) => TAG_VALUE.test(value))) return [];
  return (Object.keys(MESSAGE_TAG_NAMES) as (keyof MailTags)[]).map((field) => ({ Name: MESSAGE_TAG_NAMES[field], Value: values[field] }));
}

/** The notification an event's `mail.tags` names, or undefined (a mail sent before tags, or by someone else). */
export function notificationOfTags(tags: Readonly<Record<string, readonly string[]>> | undefined): MailTags | undefined {
  const value = (name: string) => {
    const found = tags?.[name]?.[0];
    return found !== undefined && TAG_VALUE.test(found) ? found : undefined;
  };
  const roundId = value(MESSAGE_TAG_NAMES.roundId);
  const reviewerId = value(MESSAGE_TAG_NAMES.reviewerId);
  const encodedKey = value(MESSAGE_TAG_NAMES.key);
  if (!roundId || !reviewerId || !encodedKey) return undefined;
  const key = Buffer.from(encodedKey, 'base64url').toString('utf8');
  // A key is printable and holds no '#' (it goes into a sort key).
  if (key === '' || key.includes('#') || !/^[\x21-\x7e]+$/.test(key)) return undefined;
  return { roundId, reviewerId, key };
}
