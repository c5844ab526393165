import * as z from 'zod';

/**
 * The rounds of the call: configuration (schemas/rounds-config.json), reviewers as staff
 * import them, and the reviews reviewers write. Every score is an integer from 1 to 5.
 */

export const RoundIdSchema = z.string().regex(/^\d{4}-(01|03|05|07|09|11)$/, 'a round id is the year and opening month, e.g. 2026-03');

export const CriterionSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a criterion id is a lower-case word (letters, digits, _), e.g. "impact"'),
  label: z.string({ error: 'a criterion needs a label (the French text reviewers read)' }).trim().min(1, 'a criterion needs a label: it is empty'),
  /** One line shown under the label on the review page. */
  description: z.string().trim().min(1, 'a criterion description, when given, must not be empty').optional(),
  weight: z.number({ error: 'a criterion needs a weight (a number above 0)' }).positive('a criterion weight must be above 0: a criterion weighing nothing would be scored for nothing'),
});
export type Criterion = z.infer<typeof CriterionSchema>;

/**
 * The configurations bundled with the code, by the name a deployment picks (`ROUNDS_CONFIG`,
 * infra/stages/<name>.json `roundsConfig`; docs/configuration.md): the criteria of a call are
 * configuration, and a stage can score the 2022 call's criteria without a code change.
 */
export const ROUNDS_CONFIG_NAMES = ['eig-2024', 'eig-2022'] as const;
export type RoundsConfigName = (typeof ROUNDS_CONFIG_NAMES)[number];
export const DEFAULT_ROUNDS_CONFIG: RoundsConfigName = 'eig-2024';
export const RoundsConfigNameSchema = z.enum(ROUNDS_CONFIG_NAMES, { error: `must be one of ${ROUNDS_CONFIG_NAMES.join(', ')}` });

/** Opening months of the rounds (round ids are YYYY-MM with these months). */
const ROUND_MONTHS = [1, 3, 5, 7, 9, 11] as const;

/** Ids that appear more than once, for a message that names them. */
function duplicates(ids: readonly string[]): string[] {
  return [...new Set(ids.filter((id, index) => ids.indexOf(id) !== index))];
}

export const RoundsConfigSchema = z.object({
  /** What this file is (the call it follows); shown in docs and the `open` audit, never parsed. */
  $comment: z.string().optional(),
  /** EIG posts one round may fill (a project takes 1 to 3 of them). */
  capacityPosts: z.number().int().positive('capacityPosts (posts per round) must be at least 1'),
  /**
   * EIG posts all the rounds of one period may fill together (the 2024 call: "jusqu'à 30 postes"
   * in the year). A round fills the lower of its capacity and what earlier closed rounds of the
   * period left.
   */
  yearlyCeilingPosts: z.number().int().positive('yearlyCeilingPosts (the ceiling per period) must be at least 1').default(30),
  /**
   * The month a ceiling period starts: 1 = the calendar year of the round id (default); 9 = a
   * promotion year from September to August (round 2027-01 then counts with 2026-09 and 2026-11).
   * An opening month of a round, so that a round never straddles two periods.
   */
  ceilingPeriodStartMonth: z.number().int().refine((m) => (ROUND_MONTHS as readonly number[]).includes(m), {
    error: `ceilingPeriodStartMonth must be a round opening month: ${ROUND_MONTHS.join(', ')} (1: the calendar year)`,
  }).default(1),
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
  criteria: z.array(CriterionSchema).min(1, 'at least one criterion is needed').superRefine((criteria, ctx) => {
    const twice = duplicates(criteria.map((c) => c.id));
    if (twice.length > 0) ctx.addIssue({ code: 'custom', message: `criterion ids must be unique: ${twice.map((id) => `"${id}"`).join(', ')} appears more than once` });
  }),
  /** Who receives the selection report. */
  staffEmails: z.array(z.email()).min(1),
  /** The sender of every mail (an SES-verified identity). */
  mailFrom: z.email(),
}).strict();
export type RoundsConfig = z.infer<typeof RoundsConfigSchema>;

/**
 * The colleges of a "jury paritaire", as the EIG programme asks: people from the administration,
 * the digital world and research.
 */
export const COLLEGES = ['administration', 'numerique', 'recherche'] as const;
export const CollegeSchema = z.enum(COLLEGES, `a college is one of ${COLLEGES.join(', ')}`);
export type College = z.infer<typeof CollegeSchema>;

/** The words that take a reviewer's college away on import (an absent or empty one keeps it). */
export const NO_COLLEGE_WORDS = ['aucun', 'none'] as const;

/**
 * The college as staff type it in a reviewer file: case, accents and spaces do not matter
 * ("Numérique", " RECHERCHE "), so a spreadsheet in French imports as is. An empty cell is no
 * word at all (the stored college is kept); `aucun`, `none` or JSON null remove it. Anything else
 * is rejected by CollegeSchema, naming the three words.
 */
export function normalizeCollegeInput(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const word = value.trim().normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  if (word === '') return undefined;
  return (NO_COLLEGE_WORDS as readonly string[]).includes(word) ? null : word;
}

/** One reviewer of the evaluation committee, as `reviewers import FILE` reads it (CSV or JSON). */
export const ReviewerInputSchema = z.object({
  email: z.email().transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1),
  /** SIRETs of administrations the reviewer must not review (their own, for instance). */
  conflicts: z.array(z.string().regex(/^\d{14}$/, 'a conflict is a 14-digit SIRET')).default([]),
  active: z.boolean().default(true),
  /**
   * The reviewer's college in the jury (docs/jury.md). Absent: the stored one is kept (files
   * from before colleges still import); null (`aucun`): removed. A reviewer without college
   * counts as a college of their own in the assignment.
   */
  college: z.preprocess(normalizeCollegeInput, CollegeSchema.nullable().optional()).optional(),
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
