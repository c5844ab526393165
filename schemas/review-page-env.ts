import { z } from 'zod';
import { nonEmpty, secret } from './env.ts';

/**
 * The environment of serve-review-page. Same validators as run-round-step (schemas/round-step-env.ts):
 * the page signs the links it mails (a conflict of interest mails the replacement reviewer) exactly
 * as the round steps do.
 */
export const ReviewPageEnvSchema = z
  .object({
    TABLE_NAME: nonEmpty,
    /** Where the attachments are (`attachments/...`): the page presigns downloads from it. */
    BUCKET_NAME: nonEmpty,
    /** Base URL of the review page, for the links in the mails it sends. */
    REVIEW_PAGE_URL: z.url('must be the base URL of the review page, e.g. https://xyz.execute-api.eu-west-3.amazonaws.com/'),
    /** Overrides the sender of schemas/rounds-config.json (`mailFrom`). */
    MAIL_FROM: z.email('must be an email address (an SES-verified identity)').optional(),
    SES_CONFIGURATION_SET: nonEmpty.optional(),
  })
  .and(secret('REVIEW_LINK_SECRET'));
export type ReviewPageEnv = z.infer<typeof ReviewPageEnvSchema>;
