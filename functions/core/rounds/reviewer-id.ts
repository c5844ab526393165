import { randomBytes } from 'node:crypto';

/**
 * A new reviewer's id: 16 random hex characters, given when the address is first imported and
 * kept after (import-reviewers.ts matches known addresses). It carries nothing of the email: ids
 * appear in links, plans and audit records, and nobody can compute one from an address.
 * Reviewers imported by versions before this rule keep the id they had (a hash of the email).
 */
export function newReviewerId(): string {
  return randomBytes(8).toString('hex');
}
