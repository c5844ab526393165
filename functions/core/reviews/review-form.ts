import type { Criterion } from '#schemas/rounds';

/**
 * The score form of the review page, and what `reviews import` reads: the same rules for both.
 *
 * - A score is an integer from 1 to 5. A draft may leave criteria unscored; a submission must
 *   score every criterion of the round, unless it declares a conflict of interest (then no score
 *   is needed, and none is counted).
 * - The comment is at most COMMENT_MAX_LENGTH characters.
 * - Fields the form does not have are refused: a criterion of another round, a typo in a CSV.
 *
 * Errors are French sentences, keyed by the form field they belong to (`score_<criterion>`,
 * `comment`, `intent`), so the page shows each next to its field.
 */

export const COMMENT_MAX_LENGTH = 5000;
export const SCORE_MIN = 1;
export const SCORE_MAX = 5;

export type ReviewIntent = 'draft' | 'submit';

/** The form field of a criterion's score. */
export const scoreField = (criterionId: string) => `score_${criterionId}`;

/** The fields as posted (strings), before validation. */
export interface ReviewFormInput {
  intent: string | undefined;
  /** By criterion id. An empty string is "not scored". */
  scores: Record<string, string | undefined>;
  comment: string | undefined;
  conflictOfInterest: boolean;
}

export interface ValidReviewForm {
  intent: ReviewIntent;
  scores: Record<string, number>;
  comment: string;
  conflictOfInterest: boolean;
}

export type ReviewFormResult =
  | { valid: true; value: ValidReviewForm }
  /** `errors` by field name; nothing may be written. */
  | { valid: false; errors: Record<string, string> };

const INTEGER = /^\s*\d+\s*$/;

export function validateReviewForm(input: ReviewFormInput, criteria: readonly Criterion[]): ReviewFormResult {
  const errors: Record<string, string> = {};
  const intent = input.intent === 'draft' || input.intent === 'submit' ? input.intent : undefined;
  if (!intent) errors.intent = 'Choisissez « Enregistrer le brouillon » ou « Envoyer l\'évaluation ».';

  const known = new Set(criteria.map((c) => c.id));
  for (const id of Object.keys(input.scores)) {
    if (!known.has(id)) errors[scoreField(id)] = `« ${id} » n'est pas un critère de cette session.`;
  }

  const scores: Record<string, number> = {};
  for (const criterion of criteria) {
    const raw = input.scores[criterion.id]?.trim() ?? '';
    if (raw === '') {
      if (intent === 'submit' && !input.conflictOfInterest) {
        errors[scoreField(criterion.id)] = `Notez « ${criterion.label} » de ${SCORE_MIN} à ${SCORE_MAX} avant d'envoyer l'évaluation.`;
      }
      continue;
    }
    const value = INTEGER.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < SCORE_MIN || value > SCORE_MAX) {
      errors[scoreField(criterion.id)] = `La note de « ${criterion.label} » doit être un nombre entier de ${SCORE_MIN} à ${SCORE_MAX}.`;
      continue;
    }
    scores[criterion.id] = value;
  }

  // Line endings as browsers post them (CRLF) count once: the limit is what the reviewer typed.
  const comment = (input.comment ?? '').replace(/\r\n/g, '\n').trim();
  if ([...comment].length > COMMENT_MAX_LENGTH) {
    errors.comment = `Le commentaire fait ${[...comment].length.toLocaleString('fr-FR')} caractères ; la limite est de ${COMMENT_MAX_LENGTH.toLocaleString('fr-FR')}.`;
  }

  if (Object.keys(errors).length > 0 || !intent) return { valid: false, errors };
  return { valid: true, value: { intent, scores, comment, conflictOfInterest: input.conflictOfInterest } };
}
