import type { Criterion } from '#schemas/rounds';
import type { ReviewerDossierPage } from '#core/reviews/reviewer-pages';
import { readableCalendarDay } from '#core/rounds/paris-dates';
import { reviewStateOf, type ReadOnlyReason } from '#core/reviews/access';
import { withdrawalOf } from '#core/dossier';
import type { ReviewRecord } from '#core/rounds/model';
import { attachmentHref, dossierHref } from '../links.ts';
import { READ_ONLY_NOTICES, READ_ONLY_TITLES, STATE_BADGES } from '../texts.ts';
import { Layout } from './layout.tsx';
import { ErrorSummary, ReviewForm, type FormValues } from './review-form.tsx';

/**
 * One dossier as the reviewer reads it (the project, its files), then their review: the form
 * while they may write, their review as text once they may not.
 */

export type Notice = { kind: 'success' | 'warning' | 'info'; text: string };

export interface DossierPageProps {
  page: ReviewerDossierPage;
  token: string;
  homeHref: string;
  csrf: string;
  /** Shown above the title: saved, stale, not saved. */
  notice?: Notice | undefined;
  /** The form as typed (a refused POST); the stored review otherwise. */
  form?: { values: FormValues; errors: Record<string, string>; version: number } | undefined;
  /** Why the review cannot be written, when it cannot (from the page, or from a refused save). */
  readOnly?: ReadOnlyReason | undefined;
}

function readableDay(isoDay: string | undefined): string {
  return (isoDay ? readableCalendarDay(isoDay) : undefined) ?? 'non renseignée';
}

/** Built once per instance: `toLocaleString` builds a formatter on every call, a quarter of a millisecond each. */
const SIZE_NUMBER = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });

function readableSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} octets`;
  const units = ['Ko', 'Mo', 'Go'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${SIZE_NUMBER.format(value)} ${units[unit]}`;
}

/** Paragraphs of a text typed with line breaks (no markup, no CSS needed). */
function Paragraphs({ text }: { text: string | undefined }) {
  const paragraphs = (text ?? '').split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  if (paragraphs.length === 0) return <p>Non renseigné.</p>;
  return <>{paragraphs.map((p, i) => <p key={i}>{p.split('\n').flatMap((line, j) => (j === 0 ? [line] : [<br key={j} />, line]))}</p>)}</>;
}

export function valuesOf(review: ReviewRecord | undefined): FormValues {
  return {
    scores: Object.fromEntries(Object.entries(review?.scores ?? {}).map(([id, score]) => [id, String(score)])),
    comment: review?.comment ?? '',
    conflict: review?.conflictOfInterest ?? false,
  };
}

function ReadOnlyReview({ review, criteria, reason, withdrawal }: {
  review: ReviewRecord | undefined; criteria: readonly Criterion[]; reason: ReadOnlyReason; withdrawal: string | undefined;
}) {
  return (
    <>
      <div class="fr-alert fr-alert--info fr-mb-4w">
        <h3 class="fr-alert__title">{READ_ONLY_TITLES[reason]}</h3>
        <p>{READ_ONLY_NOTICES[reason]}</p>
        {reason === 'dossier_withdrawn' && withdrawal && <p>Motif : {withdrawal}.</p>}
      </div>
      {!review
        ? <p>Vous n'avez pas évalué ce dossier.</p>
        : (
          <dl>
            <dt><strong>Statut</strong></dt>
            <dd class="fr-mb-2w">{STATE_BADGES[reviewStateOf(review)].text}</dd>
            {!review.conflictOfInterest && criteria.flatMap((criterion) => [
              <dt key={`${criterion.id}-label`}><strong>{criterion.label}</strong></dt>,
              <dd key={`${criterion.id}-score`} class="fr-mb-2w">{review.scores[criterion.id] !== undefined ? `${review.scores[criterion.id]} / 5` : 'Non noté'}</dd>,
            ])}
            <dt><strong>Commentaire</strong></dt>
            <dd class="fr-mb-2w">{review.comment ? <Paragraphs text={review.comment} /> : 'Aucun commentaire.'}</dd>
            <dt><strong>Lien d'intérêt</strong></dt>
            <dd>{review.conflictOfInterest ? 'Déclaré' : 'Aucun'}</dd>
          </dl>
        )}
    </>
  );
}

export function DossierPage({ page, token, homeHref, csrf, notice, form, readOnly }: DossierPageProps) {
  const { round } = page.session;
  const { dossier } = page;
  const project = dossier.project ?? {};
  const title = project.title ?? `Dossier n° ${dossier.number}`;
  const criteria = round.criteria;
  const errors = form?.errors ?? {};
  const reason = readOnly ?? (page.permission.canWrite ? undefined : page.permission.reason);
  const hasErrors = Object.keys(errors).length > 0;
  return (
    <Layout title={`${hasErrors ? 'Erreur : ' : ''}${title} – dossier n° ${dossier.number}`} homeHref={homeHref}>
      <p><a class="fr-link" href={homeHref}>Retour à mes dossiers</a></p>
      {notice && (
        <div class={`fr-alert fr-alert--${notice.kind} fr-alert--sm fr-mb-4w`} role={notice.kind === 'success' ? 'status' : 'alert'}>
          <p>{notice.text}</p>
        </div>
      )}
      <h1>{title}</h1>
      <p class="fr-text--lead">Dossier n° {dossier.number} · session {round.id}</p>
      {!reason && <ErrorSummary errors={errors} criteria={criteria} />}

      <h2>Le projet</h2>
      <Paragraphs text={project.description} />
      <dl>
        <dt><strong>Administration</strong></dt>
        <dd class="fr-mb-2w">{project.administration?.name ?? 'Non renseignée'}{project.administration?.siret ? ` (SIRET ${project.administration.siret})` : ''}</dd>
        <dt><strong>Thème</strong></dt>
        <dd class="fr-mb-2w">{project.theme ?? 'Non renseigné'}</dd>
        <dt><strong>Postes EIG demandés</strong></dt>
        <dd class="fr-mb-2w">{project.eigPostsRequested ?? 'Non renseigné'}</dd>
        <dt><strong>Profils recherchés</strong></dt>
        <dd class="fr-mb-2w">{(project.profiles ?? []).length > 0 ? (project.profiles ?? []).join(', ') : 'Non renseignés'}</dd>
        <dt><strong>Date de démarrage souhaitée</strong></dt>
        <dd class="fr-mb-2w">{readableDay(project.wishedStartDate)}</dd>
      </dl>

      <h3>Équipe</h3>
      {(project.team ?? []).length === 0
        ? <p>Non renseignée.</p>
        : <ul>{(project.team ?? []).map((member, i) => <li key={i}>{member.name} – {member.role}</li>)}</ul>}

      <h3>Engagements</h3>
      {(project.commitments ?? []).length === 0
        ? <p>Aucun.</p>
        : <ul>{(project.commitments ?? []).map((c, i) => <li key={i}>{c.label} : {c.accepted ? 'oui' : 'non'}</li>)}</ul>}

      <h2>Pièces jointes</h2>
      {dossier.attachments.length === 0
        ? <p>Aucune pièce jointe.</p>
        : (
          <ul>
            {dossier.attachments.map((file, index) => (
              <li key={index}>
                <a class="fr-link fr-link--download" href={attachmentHref(round.id, dossier.number, index, token)}>
                  {file.label || file.filename} <span class="fr-link__detail">{file.filename} – {readableSize(file.byteSize)}</span>
                </a>
              </li>
            ))}
          </ul>
        )}

      <h2 id="evaluation">Votre évaluation</h2>
      {reason
        ? <ReadOnlyReview review={page.review} criteria={criteria} reason={reason} withdrawal={withdrawalOf(dossier)?.reason} />
        : (
          <ReviewForm
            action={dossierHref(round.id, dossier.number, token)}
            criteria={criteria}
            values={form?.values ?? valuesOf(page.review)}
            errors={errors}
            csrf={csrf}
            version={form?.version ?? page.version}
          />
        )}
      <p class="fr-mt-4w"><a class="fr-link" href={homeHref}>Retour à mes dossiers</a></p>
    </Layout>
  );
}
