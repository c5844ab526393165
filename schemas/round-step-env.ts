import * as z from 'zod';
import { nonEmpty, reviewerMailEnv, secret } from './env.ts';
import { RoundIdSchema } from './rounds.ts';

/**
 * The environment of run-round-step. The shared variables use the validators of schemas/env.ts,
 * so a table name or a secret is read the same way by every function.
 */
export const RoundStepEnvSchema = z
  .object({
    TABLE_NAME: nonEmpty,
    /** Where the selection reports go (`reports/<round>/`). */
    BUCKET_NAME: nonEmpty,
    ...reviewerMailEnv,
  })
  .and(secret('REVIEW_LINK_SECRET'));
export type RoundStepEnv = z.infer<typeof RoundStepEnvSchema>;

export const ROUND_STEPS = ['open', 'close-submissions', 'remind', 'close-selection'] as const;

/**
 * What EventBridge Scheduler sends (`{"step": "open"}`, infra/schedules.ts), or staff invoking
 * the function by hand: `{"step": "close-selection", "round": "2026-03", "dryRun": true,
 * "actor": "staff:jdupont"}`. Without `round`, the step picks its round (functions/core/rounds/README.md).
 * `force` is staff's decision, never the schedules' (an event with `force` must name a staff
 * actor): it closes a selection although reviews are missing or the deadline has not passed (a
 * scheduled closing with reviews missing is refused, and alerts, instead of ranking on half the
 * reviews), and it opens a round whose period has ended (the scheduled `open` opens the current
 * round and never forces).
 */
export const RoundStepEventSchema = z.strictObject({
  step: z.enum(ROUND_STEPS, { error: `step must be one of ${ROUND_STEPS.join(', ')}` }),
  round: RoundIdSchema.optional(),
  dryRun: z.boolean({ error: 'dryRun must be true or false' }).default(false),
  force: z.boolean({ error: 'force must be true or false' }).default(false),
  /** Who asks: `schedule` (the default) or `staff:<name>` (the staff member's IAM principal); kept in the audit record, never logged. */
  actor: z.string().regex(/^(schedule|staff:\S{1,200})$/, 'actor must be "schedule" or "staff:<name>"').default('schedule'),
}).refine((event) => !event.force || event.actor !== 'schedule', {
  path: ['force'],
  error: 'force is for staff only: set actor to "staff:<name>" (the schedules never force)',
});
export type RoundStepEvent = z.output<typeof RoundStepEventSchema>;
