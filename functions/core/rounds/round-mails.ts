import type { MailMessage } from './ports.ts';
import { readableParisDate } from './paris-dates.ts';
import type { SelectionTotals } from './rank-dossiers.ts';
import { capacityText } from './capacity.ts';
import type { CapacityUse } from './model.ts';

/**
 * The mails of the workflow, in French, plain text with a simple HTML twin: no images, no
 * tracking pixel, no rewritten links. The review link only opens a page; nothing is recorded
 * until the reviewer submits an evaluation there (HotCRP: no magic links). The sender
 * (`mailFrom`) is the Mailer adapter's business.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A paragraph is a string, or lines kept together. */
type Block = string | { link: string } | { lines: string[] };

function render(blocks: Block[]): { text: string; html: string } {
  const text = blocks.map((b) => (typeof b === 'string' ? b : 'link' in b ? b.link : b.lines.join('\n'))).join('\n\n');
  const html = blocks.map((b) => {
    if (typeof b === 'string') return `<p>${escapeHtml(b)}</p>`;
    if ('link' in b) return `<p><a href="${escapeHtml(b.link)}">${escapeHtml(b.link)}</a></p>`;
    return `<p>${b.lines.map(escapeHtml).join('<br>\n')}</p>`;
  }).join('\n');
  return {
    text: `${text}\n`,
    html: `<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"></head><body>\n${html}\n</body></html>\n`,
  };
}

const plural = (n: number, one: string, many: string) => `${n} ${n > 1 ? many : one}`;

const SIGNATURE = "L'équipe du programme Entrepreneurs d'intérêt général";

export interface ReviewerAddress {
  name: string;
  email: string;
}

/** What the page does, as the mails promise it (functions/review-page keeps that promise). */
const REVIEW_PAGE_PROMISE = "Ce lien ouvre une page qui présente les dossiers qui vous sont confiés. L'ouvrir ne change rien : "
  + "vous pouvez y enregistrer un brouillon, puis envoyer votre évaluation, et la modifier jusqu'à la clôture de la session. "
  + "Si vous avez un lien d'intérêt avec un dossier, déclarez-le sur la page : votre évaluation ne sera pas comptée "
  + 'et le dossier sera confié à un autre membre du comité.';

export interface AssignmentMailInput {
  reviewer: ReviewerAddress;
  roundId: string;
  dossierCount: number;
  /** ISO instant. */
  deadline: string | null;
  link: string;
}

export function assignmentMail(input: AssignmentMailInput): MailMessage {
  const dossiers = plural(input.dossierCount, 'dossier', 'dossiers');
  const body = render([
    `Bonjour ${input.reviewer.name},`,
    `Vous êtes invité·e à évaluer ${dossiers} de la session ${input.roundId} de l'appel à projets Entrepreneurs d'intérêt général.`,
    input.deadline ? `Date limite des évaluations : ${readableParisDate(input.deadline)}.` : 'La date limite vous sera communiquée.',
    'Votre lien personnel :',
    { link: input.link },
    REVIEW_PAGE_PROMISE,
    'Ce lien vous est personnel : merci de ne pas le transférer.',
    { lines: ['Merci pour votre participation,', SIGNATURE] },
  ]);
  return {
    to: [input.reviewer.email],
    subject: `EIG session ${input.roundId} : ${dossiers} à évaluer`,
    ...body,
  };
}

export interface ReassignmentMailInput {
  reviewer: ReviewerAddress;
  roundId: string;
  dossierNumber: number;
  deadline: string | null;
  link: string;
}

/** One more dossier for a reviewer, after another member of the committee declared a conflict of interest. */
export function reassignmentMail(input: ReassignmentMailInput): MailMessage {
  const body = render([
    `Bonjour ${input.reviewer.name},`,
    `Un dossier supplémentaire (n° ${input.dossierNumber}) vous est confié pour la session ${input.roundId} de l'appel à projets `
      + "Entrepreneurs d'intérêt général : un autre membre du comité a déclaré un lien d'intérêt avec ce dossier.",
    input.deadline ? `Date limite des évaluations : ${readableParisDate(input.deadline)}.` : 'La date limite vous sera communiquée.',
    'Votre lien personnel (la même page pour tous vos dossiers de la session) :',
    { link: input.link },
    REVIEW_PAGE_PROMISE,
    { lines: ['Merci pour votre participation,', SIGNATURE] },
  ]);
  return { to: [input.reviewer.email], subject: `EIG session ${input.roundId} : un dossier supplémentaire à évaluer`, ...body };
}

export interface LinkMailInput {
  reviewer: ReviewerAddress;
  roundId: string;
  deadline: string | null;
  link: string;
}

/** A new personal link, sent by staff (a lost mail, an expired link). */
export function linkMail(input: LinkMailInput): MailMessage {
  const body = render([
    `Bonjour ${input.reviewer.name},`,
    `Voici votre lien personnel pour la session ${input.roundId} de l'appel à projets Entrepreneurs d'intérêt général. `
      + 'Il remplace celui que vous aviez reçu, qui reste valable jusqu\'à son expiration.',
    input.deadline ? `Date limite des évaluations : ${readableParisDate(input.deadline)}.` : 'La date limite vous sera communiquée.',
    { link: input.link },
    REVIEW_PAGE_PROMISE,
    'Ce lien vous est personnel : merci de ne pas le transférer.',
    { lines: ['Bien cordialement,', SIGNATURE] },
  ]);
  return { to: [input.reviewer.email], subject: `EIG session ${input.roundId} : votre lien d'évaluation`, ...body };
}

export interface ReminderMailInput {
  reviewer: ReviewerAddress;
  roundId: string;
  /** Assigned dossiers still without this reviewer's evaluation. */
  unfinished: number;
  deadline: string | null;
  link: string;
  /** To say whether the deadline is past. */
  now: Date;
}

export function reminderMail(input: ReminderMailInput): MailMessage {
  const missing = plural(input.unfinished, 'évaluation', 'évaluations');
  const deadline = input.deadline
    ? `${Date.parse(input.deadline) < input.now.getTime() ? 'La date limite était le' : 'La date limite est le'} ${readableParisDate(input.deadline)}.`
    : '';
  const body = render([
    `Bonjour ${input.reviewer.name},`,
    `Il vous reste ${missing} à envoyer pour la session ${input.roundId} de l'appel à projets Entrepreneurs d'intérêt général.`,
    ...(deadline ? [deadline] : []),
    'Votre lien personnel :',
    { link: input.link },
    "Ce lien ouvre la page de vos dossiers ; rien n'est enregistré tant que vous n'envoyez pas une évaluation.",
    { lines: ['Merci,', SIGNATURE] },
  ]);
  return {
    to: [input.reviewer.email],
    subject: `EIG session ${input.roundId} : rappel, ${missing} en attente`,
    ...body,
  };
}

export interface SelectionReportMailInput {
  staffEmails: string[];
  roundId: string;
  totals: SelectionTotals;
  reportKeys: { jsonKey: string; csvKey: string };
  /** What the round could fill (round capacity, yearly ceiling); absent for rounds closed before the ceiling. */
  capacity?: CapacityUse;
}

/**
 * The staff mail of a closed selection. It counts what happened, in words that cannot be misread:
 * the dossiers that went through the selection (the valid ones), those ranked (at least one
 * counted review), the reviews counted; and says plainly when no review was counted, since the
 * selection then selected nothing.
 */
export function selectionReportMail(input: SelectionReportMailInput): MailMessage {
  const t = input.totals;
  const unranked = t.dossiers - t.ranked;
  let verdict: string | undefined;
  if (t.dossiers === 0) verdict = "Aucun dossier valide dans cette session : il n'y avait rien à classer.";
  else if (t.countedReviews === 0) {
    verdict = "Aucune évaluation n'a été comptée (aucune évaluation envoyée, ou seulement des brouillons et des liens d'intérêt) : "
      + "aucun dossier n'a été classé ni sélectionné.";
  } else if (unranked > 0) {
    verdict = `${plural(unranked, 'dossier', 'dossiers')} sans évaluation comptée ${unranked > 1 ? "n'ont pas été classés" : "n'a pas été classé"} `
      + `(${unranked > 1 ? 'non sélectionnés' : 'non sélectionné'}).`;
  }
  const body = render([
    'Bonjour,',
    `La sélection de la session ${input.roundId} est close.`,
    ...(verdict ? [verdict] : []),
    {
      lines: [
        `Dossiers soumis à la sélection (dossiers valides) : ${t.dossiers}`,
        `Dossiers classés (au moins une évaluation comptée) : ${t.ranked}`,
        `Évaluations comptées : ${t.countedReviews}`,
        `Sélectionnés : ${t.selected}`,
        `Liste d'attente : ${t.waitlisted}`,
        `Non sélectionnés : ${t.notSelected}`,
        `Postes EIG attribués : ${t.postsSelected} sur ${input.capacity?.availablePosts ?? t.capacityPosts}`,
        ...(input.capacity ? [`Capacité : ${capacityText(input.capacity)}`] : []),
        ...((t.excluded ?? 0) > 0 ? [`Exclus par l'équipe (non classés) : ${t.excluded}`] : []),
        ...((t.withdrawn ?? 0) > 0 ? [`Retirés ou devenus non évaluables après l'affectation (non classés) : ${t.withdrawn}`] : []),
        ...((t.committeeDecisions ?? 0) > 0 ? [`Décisions du comité : ${t.committeeDecisions}`] : []),
      ],
    },
    'Le rapport (classement, scores et motifs) est dans le stockage S3 du déploiement :',
    { lines: [input.reportKeys.csvKey, input.reportKeys.jsonKey] },
    `La commande « ds-selection report --round ${input.roundId} » l'affiche.`,
    { lines: ['Ce message est envoyé une fois par session.', 'ds-selection'] },
  ]);
  const selected = plural(t.selected, 'dossier sélectionné', 'dossiers sélectionnés');
  return {
    to: [...input.staffEmails],
    subject: `EIG session ${input.roundId} : sélection close, ${selected}${t.dossiers > 0 && t.countedReviews === 0 ? ' (aucune évaluation comptée)' : ''}`,
    ...body,
  };
}
