import * as z from 'zod';
import { nonEmpty, secret } from './env.ts';
import { RoundIdSchema } from './rounds.ts';

/**
 * Writing the committee's decisions back to DS (issue 8, point 2): the settings of a stage
 * (`writeBack` in infra/stages/<stage>.json, off by default), the environment and the event of
 * the write-back-decisions function. docs/deploy.md section 16 explains each field.
 */

/** The placeholders a motivation may hold; anything else in braces is refused when the configuration is read. */
export const MOTIVATION_PLACEHOLDERS = ['round', 'session', 'dossier'] as const;

export const DEFAULT_MOTIVATIONS = {
  selected:
    'Votre projet a été retenu par le comité de sélection du programme Entrepreneurs d\'intérêt général (session {session}). '
    + 'L\'équipe du programme vous contactera prochainement pour la suite.',
  not_selected:
    'Votre projet n\'a pas été retenu par le comité de sélection du programme Entrepreneurs d\'intérêt général (session {session}). '
    + 'Nous vous remercions pour votre candidature.',
} as const;

const motivation = z
  .string()
  .trim()
  .min(1, 'must not be empty (DS requires a motivation to refuse)')
  .max(4000, 'must be at most 4000 characters')
  .refine((text) => [...text.matchAll(/\{([^}]*)\}/g)].every((m) => (MOTIVATION_PLACEHOLDERS as readonly string[]).includes(m[1]!)), {
    message: `may only use the placeholders ${MOTIVATION_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
  });

/** A DS global id (base64 of `Instructeur-<n>`, `Champ-<n>`...), as DS gives it. */
const globalId = (what: string) => z.string().regex(/^[A-Za-z0-9+/=_-]{4,200}$/, `must be the GraphQL id of ${what} (base64, as DS gives it)`);

export const WriteBackMotivationsSchema = z
  .strictObject({
    selected: motivation.default(DEFAULT_MOTIVATIONS.selected),
    not_selected: motivation.default(DEFAULT_MOTIVATIONS.not_selected),
  })
  .prefault({});

export const WriteBackAnnotationsSchema = z.strictObject({
  /** A private annotation (decimal number champ) that receives the dossier's weighted mean score. */
  score: globalId('a private annotation (decimal number)').optional(),
  /** A private annotation (integer number champ) that receives the dossier's rank. */
  rank: globalId('a private annotation (integer number)').optional(),
});

/** What the use case needs: who decides on DS, what applicants read, which annotations receive what. */
export const WriteBackSettingsSchema = z.strictObject({
  /** The GraphQL id of the instructeur DS records as the decision's author (`demarche { groupeInstructeurs { instructeurs { id email } } }`). */
  instructeurId: globalId('an instructeur'),
  motivations: WriteBackMotivationsSchema,
  annotations: WriteBackAnnotationsSchema.optional(),
});
export type WriteBackSettings = z.output<typeof WriteBackSettingsSchema>;

/** `writeBack` of a stage file (optional there: absent is off); on, it needs the instructeur. */
export const WriteBackStageSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    instructeurId: globalId('an instructeur').optional(),
    motivations: WriteBackMotivationsSchema,
    annotations: WriteBackAnnotationsSchema.optional(),
  })
  .refine((value) => !value.enabled || value.instructeurId !== undefined, {
    path: ['instructeurId'],
    message: 'is required when write-back is enabled (the GraphQL id of the instructeur who signs the decisions)',
  });
export type WriteBackStage = z.output<typeof WriteBackStageSchema>;

/** The settings of an enabled stage (undefined when write-back is off). */
export function writeBackSettingsOf(stage: WriteBackStage | undefined): WriteBackSettings | undefined {
  if (!stage?.enabled || !stage.instructeurId) return undefined;
  return { instructeurId: stage.instructeurId, motivations: stage.motivations, ...(stage.annotations ? { annotations: stage.annotations } : {}) };
}

/** WRITE_BACK_SETTINGS: the settings as JSON (the stack sets it from the stage file). */
const settingsJson = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return z.NEVER;
  }
}).pipe(WriteBackSettingsSchema);

const positiveSeconds = z.coerce.number('must be a number of seconds').int().positive().max(120);

/** The environment of write-back-decisions. The write token is its own secret: never the read token. */
export const WriteBackEnvSchema = z
  .object({
    TABLE_NAME: nonEmpty,
    DS_API_URL: z.url('must be the URL of the DS GraphQL endpoint'),
    DS_API_TIMEOUT_SECONDS: positiveSeconds.default(35),
    WRITE_BACK_SETTINGS: settingsJson,
  })
  .and(secret('DS_WRITE_TOKEN'));
export type WriteBackEnv = z.infer<typeof WriteBackEnvSchema>;

/**
 * The event: `{}` from the schedule (the latest closed round), or staff's
 * `{"round": "2026-03", "dryRun": true, "actor": "staff:jdupont"}`.
 */
export const WriteBackEventSchema = z.strictObject({
  round: RoundIdSchema.optional(),
  dryRun: z.boolean({ error: 'dryRun must be true or false' }).default(false),
  recheck: z.boolean({ error: 'recheck must be true or false' }).default(false),
  actor: z.string().regex(/^(schedule|staff:\S{1,200})$/, 'actor must be "schedule" or "staff:<name>"').default('schedule'),
});
export type WriteBackEvent = z.output<typeof WriteBackEventSchema>;

/**
 * The local stack's write-back (`npm start` with DS_WRITE_BACK=1): `DATA_DIR/write-back.json`,
 * written at start-up, read by the staff CLI. Absent: write-back is off locally.
 */
export const LOCAL_WRITE_BACK_FILE = 'write-back.json';
export const LocalWriteBackSchema = z.object({
  dsApiUrl: z.url(),
  writeToken: nonEmpty,
  settings: WriteBackSettingsSchema,
});
export type LocalWriteBack = z.infer<typeof LocalWriteBackSchema>;

/** The stack output naming the write token's secret (stages with write-back only); the staff CLI reads it. */
export const WRITE_TOKEN_OUTPUT = 'DsWriteTokenSecretArn';
