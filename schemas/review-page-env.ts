import * as z from 'zod';
import { nonEmpty, reviewerMailEnv, secret } from './env.ts';

/**
 * The environment of serve-review-page. The mail part is run-round-step's (reviewerMailEnv): the
 * page signs the links it mails (a conflict of interest mails the replacement reviewer) exactly as
 * the round steps do.
 */
export const ReviewPageEnvSchema = z
  .object({
    TABLE_NAME: nonEmpty,
    /** Where the attachments are (`attachments/...`): the page presigns downloads from it. */
    BUCKET_NAME: nonEmpty,
    ...reviewerMailEnv,
  })
  .and(secret('REVIEW_LINK_SECRET'));
export type ReviewPageEnv = z.infer<typeof ReviewPageEnvSchema>;
