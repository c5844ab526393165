import * as z from 'zod';

/**
 * What operator tools (the staff CLI, the e2e tests) need to reach a running stack. The local
 * runtime writes it to `$DATA_DIR/stack.json` when it is ready; for a deployed stage the CLI
 * builds it from the CloudFormation outputs of `DsSelection-<stage>` (same names).
 */
export const StackOutputsSchema = z.object({
  /** `local` or the stage name. */
  stage: z.string(),
  region: z.string(),
  ApiUrl: z.url(),
  /** The legacy webhook URL with its token (local); for a stage the token is in WebhookTokenSecretArn. */
  LegacyWebhookUrl: z.url().optional(),
  V2WebhookUrl: z.url(),
  TableName: z.string(),
  BucketName: z.string(),
  IngestQueueUrl: z.url(),
  DeadLetterQueueUrl: z.url(),
  WebhookTokenSecretArn: z.string().optional(),
  DsApiTokenSecretArn: z.string().optional(),
  DsWebhookV2SecretArn: z.string().optional(),
  /** The secret that signs reviewers' personal review links (the staff CLI's round steps mail such links). */
  ReviewLinkSecretArn: z.string().optional(),
  /** Local only: the endpoints of the embedded engines and the DS the stack talks to. */
  local: z.object({
    endpoints: z.object({ dynamodb: z.url(), s3: z.url(), sqs: z.url(), ses: z.url() }),
    credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }),
    dsApiUrl: z.url(),
    dsApiToken: z.string(),
    demarcheNumbers: z.array(z.number().int().positive()),
    mailUrl: z.url(),
    /** Base URL of the review page the mailed links point to (REVIEW_PAGE_URL). */
    reviewPageUrl: z.url().optional(),
    /** REVIEW_LINK_SECRET of the local stack: the CLI signs review links with it, as the stack does. */
    reviewLinkSecret: z.string().optional(),
    dataDir: z.string(),
    pid: z.number().int(),
  }).optional(),
});
export type StackOutputs = z.infer<typeof StackOutputsSchema>;
