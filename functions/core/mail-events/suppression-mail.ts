import type { ReviewerRecord, SuppressionReason } from '../rounds/model.ts';
import type { MailMessage } from '../rounds/ports.ts';
import { escapeHtml } from '../rounds/round-mails.ts';

/**
 * The one mail staff get when SES reports a reviewer's address (a permanent bounce, a complaint):
 * who, why, what it changes and what to do. To staff only: it names the reviewer.
 */

const REASON_TEXT: Record<SuppressionReason, string> = {
  bounce: "le serveur de messagerie du destinataire a refusé définitivement un courriel (rebond permanent : adresse inexistante ou fermée)",
  complaint: 'le destinataire a signalé un de nos courriels comme indésirable (plainte)',
};

export function suppressionMail(input: { staffEmails: readonly string[]; reviewer: ReviewerRecord; reason: SuppressionReason; at: string }): MailMessage {
  const { reviewer } = input;
  const lines = [
    'Bonjour,',
    `Amazon SES signale l'adresse de ${reviewer.name} (${reviewer.email}), membre du comité : ${REASON_TEXT[input.reason]}, le ${input.at}.`,
    "Cette adresse est désormais suspendue : aucun courriel ne lui sera plus envoyé (ni lien, ni rappel) et aucun nouveau dossier ne lui sera confié. "
      + "Ses dossiers déjà attribués lui restent : « ds-selection rounds show <session> » montre son avancement.",
    "Que faire : vérifier l'adresse avec la personne. Si elle était erronée, corriger le fichier du comité et le réimporter "
      + "(« ds-selection reviewers import »), puis lever la suspension : « ds-selection reviewers unsuppress <adresse> ». "
      + 'Sinon, lui transmettre son lien par un autre moyen (« ds-selection reviewers send-link <adresse> --round <session> --print »). '
      + 'La procédure complète est dans docs/runbook.md, section « Suppressed reviewer ».',
    'Ce message est envoyé une fois par adresse suspendue.',
    'ds-selection',
  ];
  return {
    to: [...input.staffEmails],
    subject: `EIG comité : adresse suspendue (${input.reason === 'bounce' ? 'rebond permanent' : 'plainte'}) pour ${reviewer.name}`,
    text: `${lines.join('\n\n')}\n`,
    html: `<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"></head><body>\n${lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}\n</body></html>\n`,
  };
}
