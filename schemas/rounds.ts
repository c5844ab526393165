import { z } from 'zod';

/**
 * The rounds of the call: configuration (schemas/rounds-config.json), reviewers as staff
 * import them, and the reviews reviewers write. Every score is an integer from 1 to 5.
 */

export const RoundIdSchema = z.string().regex(/^\d{4}-(01|03|05|07|09|11)$/, 'a round id is the year and opening month, e.g. 2026-03');

export const CriterionSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'criterion ids are lower-case words'),
  label: z.string().trim().min(1, 'a criterion needs a label'),
  /** One line shown under the label on the review page. */
  description: z.string().trim().min(1).optional(),
  weight: z.number().positive('a weight must be above 0'),
});
export type Criterion = z.infer<typeof CriterionSchema>;

export const RoundsConfigSchema = z.object({
  /** EIG posts the programme can fund in one round. */
  capacityPosts: z.number().int().positive(),
  /** Reviewers assigned to each dossier. */
  reviewersPerDossier: z.number().int().positive().default(2),
  /** Dossiers kept on the waiting list after the selected ones. */
  waitlistSize: z.number().int().nonnegative().default(3),
  /** A dossier whose weighted mean is below this is not selected, whatever the capacity. */
  minimumScore: z.number().min(1).max(5).default(3),
  /** Days reviewers have, from the closing of submissions. */
  reviewDays: z.number().int().positive().default(21),
  /** Days the personal review links keep working after the review deadline (reading scores, a late closing). */
  reviewLinkGraceDays: z.number().int().nonnegative().max(365).default(14),
  criteria: z.array(CriterionSchema).min(1).refine((c) => new Set(c.map((x) => x.id)).size === c.length, 'criterion ids must be unique'),
  /** Who receives the selection report. */
  staffEmails: z.array(z.email()).min(1),
  /** The sender of every mail (an SES-verified identity). */
  mailFrom: z.email(),
});
export type RoundsConfig = z.infer<typeof RoundsConfigSchema>;

/**
 * The colleges of a "jury paritaire", as the EIG programme asks: people from the administration,
 * the digital world and research.
 */
export const COLLEGES = ['administration', 'numerique', 'recherche'] as const;
export const CollegeSchema = z.enum(COLLEGES, `a college is one of ${COLLEGES.join(', ')}`);
export type College = z.infer<typeof CollegeSchema>;

/** One reviewer of the evaluation committee, as `reviewers import FILE` reads it (CSV or JSON). */
export const ReviewerInputSchema = z.object({
  email: z.email().transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1),
  /** SIRETs of administrations the reviewer must not review (their own, for instance). */
  conflicts: z.array(z.string().regex(/^\d{14}$/, 'a conflict is a 14-digit SIRET')).default([]),
  active: z.boolean().default(true),
  /** Absent for reviewers imported before colleges existed: assignment treats them as a college of their own. */
  college: CollegeSchema.optional(),
});
export type ReviewerInput = z.infer<typeof ReviewerInputSchema>;

export const ScoreSchema = z.number().int().min(1).max(5);

/** What a reviewer submits for one dossier (the review page POSTs it). */
export const ReviewInputSchema = z.object({
  scores: z.record(z.string(), ScoreSchema),
  comment: z.string().trim().max(5000).default(''),
  /** A declared conflict of interest: the review is kept but not counted. */
  conflictOfInterest: z.boolean().default(false),
});
export type ReviewInput = z.infer<typeof ReviewInputSchema>;
