import { ReviewPageEnvSchema } from '#schemas/review-page-env';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoReviewPageReads } from '#adapters/dynamodb/review-page-reads';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { S3AttachmentLinks } from '#adapters/s3/attachment-links';
import { createS3Client } from '#adapters/s3/client';
import { createSesClient } from '#adapters/ses/client';
import { SesMailer } from '#adapters/ses/mailer';
import { loadConfig } from '#shared/config';
import { JURY_CONFIG } from '#shared/jury-config';
import { httpEndpoint } from '#shared/middy';
import { ROUNDS_CONFIG } from '#shared/rounds-config';
import { resolveSecret } from '#shared/secrets';
import { AssetStore } from './review-page/assets.ts';
import { serveReviewPage, type ReviewPageDependencies } from './review-page/routes.tsx';

/**
 * GET/POST /review/...: the reviewers' page (their dossiers of a round, each dossier and its
 * score form, attachments, the page's DSFR assets). Server-rendered HTML, no script; every
 * decision is in functions/core/reviews, the routing and views in functions/review-page.
 */
const env = loadConfig(ReviewPageEnvSchema);
const documentClient = createDocumentClient();
const dependencies: Promise<ReviewPageDependencies> = resolveSecret(env, 'REVIEW_LINK_SECRET').then((secret) => ({
  reads: new DynamoReviewPageReads({ client: documentClient, tableName: env.TABLE_NAME }),
  rounds: new DynamoRoundRepository({ client: documentClient, tableName: env.TABLE_NAME }),
  dossiers: new DynamoDossierRepository({ client: documentClient, tableName: env.TABLE_NAME }),
  mailer: new SesMailer({ client: createSesClient(), from: env.MAIL_FROM ?? ROUNDS_CONFIG.mailFrom, configurationSetName: env.SES_CONFIGURATION_SET }),
  attachmentLinks: new S3AttachmentLinks({ client: createS3Client(), bucket: env.BUCKET_NAME }),
  assets: new AssetStore(),
  secret,
  reviewPageUrl: env.REVIEW_PAGE_URL,
  config: ROUNDS_CONFIG,
  jury: JURY_CONFIG,
  clock: { now: () => new Date() },
}));

export const handler = httpEndpoint(async (event) => serveReviewPage(event, await dependencies));
