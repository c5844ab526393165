import { createHash } from 'node:crypto';

/**
 * A reviewer's stable id: the first 16 hex characters of the SHA-256 of the lower-cased,
 * trimmed email. Importing the same address again updates the same reviewer; the id carries no
 * readable personal data, so it may appear in plans, audit records and links.
 */
export function reviewerIdOf(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex').slice(0, 16);
}
