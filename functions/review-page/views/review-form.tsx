import type { Criterion } from '#schemas/rounds';
import { COMMENT_MAX_LENGTH, SCORE_MAX, SCORE_MIN, scoreField } from '#core/reviews/review-form';
import { CONFLICT_HINT, SCALE_HINT } from '../texts.ts';

/**
 * The score form: one fieldset per criterion (radios 1 to 5), the comment, the conflict of
 * interest, the anti-forgery token and the version the form was opened on. Each error sits next
 * to its field and is tied to it by aria-describedby; the summary at the top links to each field.
 */

/** What the form shows: the stored review, or what the reviewer just typed. */
export interface FormValues {
  /** By criterion id, as posted ('' when not scored). */
  scores: Record<string, string>;
  comment: string;
  conflict: boolean;
}

export interface ReviewFormProps {
  action: string;
  criteria: readonly Criterion[];
  values: FormValues;
  /** French messages by field name (`score_<id>`, `comment`, `intent`). */
  errors: Record<string, string>;
  csrf: string;
  version: number;
}

const SCORES = Array.from({ length: SCORE_MAX - SCORE_MIN + 1 }, (_, i) => SCORE_MIN + i);
const errorId = (field: string) => `${field}-error`;

/** The element a summary link of `field` leads to (the first radio of a criterion). */
export function fieldAnchor(field: string, criteria: readonly Criterion[]): string | undefined {
  if (field === 'comment' || field === 'conflict') return field;
  if (field === 'intent') return 'intent-submit';
  return criteria.some((c) => scoreField(c.id) === field) ? `${field}-${SCORE_MIN}` : undefined;
}

export function ErrorSummary({ errors, criteria }: { errors: Record<string, string>; criteria: readonly Criterion[] }) {
  const entries = Object.entries(errors);
  if (entries.length === 0) return null;
  return (
    // Focused on load (no script needed), so keyboard and screen reader users start at the errors.
    <div class="fr-alert fr-alert--error fr-mb-4w" role="alert" id="erreurs" tabIndex={-1} autofocus>
      <h2 class="fr-alert__title">{entries.length === 1 ? 'Le formulaire contient une erreur' : `Le formulaire contient ${entries.length} erreurs`}</h2>
      <ul>
        {entries.map(([field, message]) => {
          const anchor = fieldAnchor(field, criteria);
          return <li key={field}>{anchor ? <a href={`#${anchor}`}>{message}</a> : message}</li>;
        })}
      </ul>
    </div>
  );
}

function ErrorMessage({ field, message }: { field: string; message: string | undefined }) {
  return (
    <div class="fr-messages-group" id={`${field}-messages`} aria-live="polite">
      {message && <p class="fr-message fr-message--error" id={errorId(field)}>{message}</p>}
    </div>
  );
}

function CriterionFieldset({ criterion, value, error }: { criterion: Criterion; value: string; error: string | undefined }) {
  const field = scoreField(criterion.id);
  const legendId = `${field}-legend`;
  return (
    <fieldset
      class={error ? 'fr-fieldset fr-fieldset--error' : 'fr-fieldset'}
      id={`${field}-fieldset`}
      aria-labelledby={legendId}
      {...(error ? { 'aria-describedby': errorId(field) } : {})}
    >
      <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id={legendId}>
        <strong>{criterion.label}</strong>
        {criterion.description && <span class="fr-hint-text">{criterion.description}</span>}
        <span class="fr-hint-text">{SCALE_HINT}</span>
      </legend>
      {SCORES.map((score) => (
        <div class="fr-fieldset__element fr-fieldset__element--inline" key={score}>
          <div class="fr-radio-group">
            <input type="radio" id={`${field}-${score}`} name={field} value={String(score)} checked={value === String(score)} />
            <label class="fr-label" for={`${field}-${score}`}>{String(score)}</label>
          </div>
        </div>
      ))}
      <ErrorMessage field={field} message={error} />
    </fieldset>
  );
}

export function ReviewForm({ action, criteria, values, errors, csrf, version }: ReviewFormProps) {
  const commentError = errors.comment;
  return (
    <form method="post" action={action} noValidate>
      <input type="hidden" name="csrf" value={csrf} />
      <input type="hidden" name="version" value={String(version)} />
      {criteria.map((criterion) => (
        <CriterionFieldset key={criterion.id} criterion={criterion} value={values.scores[criterion.id] ?? ''} error={errors[scoreField(criterion.id)]} />
      ))}
      <div class={commentError ? 'fr-input-group fr-input-group--error' : 'fr-input-group'}>
        <label class="fr-label" for="comment">
          Commentaire
          <span class="fr-hint-text" id="comment-hint">Facultatif, {COMMENT_MAX_LENGTH.toLocaleString('fr-FR')} caractères au maximum.</span>
        </label>
        <textarea
          class={commentError ? 'fr-input fr-input--error' : 'fr-input'}
          id="comment"
          name="comment"
          rows={8}
          aria-describedby={commentError ? `comment-hint ${errorId('comment')}` : 'comment-hint'}
        >{values.comment}</textarea>
        <ErrorMessage field="comment" message={commentError} />
      </div>
      <div class={errors.conflict ? 'fr-checkbox-group fr-checkbox-group--error fr-mb-4w' : 'fr-checkbox-group fr-mb-4w'}>
        <input type="checkbox" id="conflict" name="conflict" value="on" checked={values.conflict}
          aria-describedby={errors.conflict ? `conflict-hint ${errorId('conflict')}` : 'conflict-hint'} />
        <label class="fr-label" for="conflict">
          J'ai un lien d'intérêt avec ce dossier
          <span class="fr-hint-text" id="conflict-hint">{CONFLICT_HINT}</span>
        </label>
        <ErrorMessage field="conflict" message={errors.conflict} />
      </div>
      {errors.intent && <p class="fr-message fr-message--error" id={errorId('intent')}>{errors.intent}</p>}
      <ul class="fr-btns-group fr-btns-group--inline-md">
        <li><button type="submit" class="fr-btn fr-btn--secondary" id="intent-draft" name="intent" value="draft">Enregistrer le brouillon</button></li>
        <li><button type="submit" class="fr-btn" id="intent-submit" name="intent" value="submit">Envoyer l'évaluation</button></li>
      </ul>
    </form>
  );
}
