import * as z from 'zod';

/**
 * The data retention configuration (schemas/retention-config.json), validated at load by
 * functions/shared/retention-config.ts: the purge function, the CDK stack (the S3 lifecycle
 * safety net) and the staff CLI read the same figures. docs/data-protection.md explains them.
 */
export const RetentionConfigSchema = z.strictObject({
  $comment: z.string().optional(),
  /**
   * Months after a round's selection closed after which its dossiers, files and reviews are
   * purged. 24 by default: a choice for the programme's DPO to confirm, not a legal figure.
   */
  closedRoundRetentionMonths: z.number().int().min(1, 'keep closed rounds at least 1 month').max(120, 'at most 120 months (10 years)'),
  /**
   * Added to the retention for the S3 lifecycle rule that expires data objects by age whatever
   * the scheduled purge did: an object is created before its round closes (deposit, up to about
   * 3 months earlier), so the rule must fire only well after the purge would have.
   */
  s3SafetyNetMarginMonths: z.number().int().min(3, 'a margin under 3 months could expire files of a round not yet due').max(24),
  /**
   * Days the tombstone of a purged dossier (number, round, status `deleted`, no personal data)
   * stays before DynamoDB's TTL removes it: longer than a round's life, so that the closing of its
   * round still sees the dossier as withdrawn rather than vanished.
   */
  deletedDossierTombstoneDays: z.number().int().min(90, 'a tombstone must outlive a round (about 3 months)').max(3650),
  /** Dossiers one run purges at most (the rest on the next runs; progress is audited). */
  maxDossiersPerRun: z.number().int().min(1).max(10_000),
});
export type RetentionConfig = z.infer<typeof RetentionConfigSchema>;

/** The environment of purge-expired-data (set by the stack; TABLE_NAME and BUCKET_NAME by the local runtime too). */
export const PurgeEnvSchema = z.object({
  TABLE_NAME: z.string().trim().min(1, 'must not be empty'),
  BUCKET_NAME: z.string().trim().min(1, 'must not be empty'),
});
export type PurgeEnv = z.infer<typeof PurgeEnvSchema>;

/**
 * What the schedules send (infra/schedules.ts): `{"scope": "deleted-dossiers"}` every 10 minutes,
 * `{"scope": "all"}` daily; `{}` means `all`. Staff invoking the function by hand may set
 * `actor` (`staff:<name>`, never an email) for the audit records.
 */
export const PurgeEventSchema = z
  .strictObject({
    scope: z.enum(['all', 'deleted-dossiers']).default('all'),
    actor: z.string().regex(/^(schedule|staff:[A-Za-z0-9._-]{1,64})$/, 'actor must be schedule or staff:<name>').default('schedule'),
  })
  .nullish()
  .transform((event) => event ?? { scope: 'all' as const, actor: 'schedule' });
export type PurgeEvent = z.output<typeof PurgeEventSchema>;
