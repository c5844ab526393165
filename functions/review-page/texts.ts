import type { ReadOnlyReason, ReviewState } from '#core/reviews/access';
import type { ReviewRefusal } from '#core/reviews/errors';

/** Every sentence the page shows that is not data: in one place, in French. */

export const SERVICE_NAME = 'Comité de sélection EIG';
export const SERVICE_TAGLINE = 'Évaluation des candidatures au programme Entrepreneurs d\'intérêt général';

export const ASK_FOR_A_NEW_LINK = 'Demandez un nouveau lien à l\'équipe du programme EIG.';

/** The list's status badges (the browser tests look for these exact words). */
export const STATE_BADGES: Readonly<Record<ReviewState, { text: string; variant: string }>> = {
  to_do: { text: 'À faire', variant: 'fr-badge--info' },
  draft: { text: 'Brouillon', variant: 'fr-badge--warning' },
  submitted: { text: 'Envoyée', variant: 'fr-badge--success' },
  conflict: { text: 'Conflit déclaré', variant: 'fr-badge--error' },
};

/** The title of the read-only notice, by reason. */
export const READ_ONLY_TITLES: Readonly<Record<ReadOnlyReason, string>> = {
  round_closed: 'Session clôturée',
  round_not_reviewing_yet: 'Évaluations pas encore ouvertes',
  conflict_declared: 'Lien d\'intérêt déclaré',
  dossier_withdrawn: 'Dossier retiré de la sélection',
};

export const READ_ONLY_NOTICES: Readonly<Record<ReadOnlyReason, string>> = {
  round_closed: 'La session est close : les évaluations ne peuvent plus être modifiées.',
  round_not_reviewing_yet: 'La session n\'est pas encore ouverte aux évaluations : vous pourrez évaluer les dossiers à la clôture des dépôts.',
  conflict_declared: 'Vous avez déclaré un lien d\'intérêt avec ce dossier : il a été confié à un autre membre du comité et votre évaluation n\'est pas comptée.',
  dossier_withdrawn: 'Ce dossier ne fait plus partie de la sélection (classé sans suite ou supprimé sur Démarches Simplifiées, ou devenu incomplet) : il n\'est plus à évaluer.',
};

export const SAVED_NOTICES = {
  draft: 'Brouillon enregistré.',
  submitted: 'Évaluation envoyée. Vous pouvez la modifier jusqu\'à la clôture de la session.',
  conflict: 'Lien d\'intérêt déclaré : le dossier est confié à un autre membre du comité.',
} as const;

export const STALE_NOTICE = 'Cette évaluation a été modifiée ailleurs (dans un autre onglet ou sur un autre appareil) depuis l\'ouverture de la page : '
  + 'votre saisie n\'a pas été enregistrée. Le formulaire montre la version enregistrée ; vérifiez-la, puis enregistrez à nouveau vos modifications.';

export const NOT_SAVED_PREFIX = 'Votre évaluation n\'a pas été enregistrée.';

export interface Refusal {
  title: string;
  text: string;
}

export const REFUSALS: Readonly<Record<ReviewRefusal, Refusal>> = {
  invalid_link: {
    title: 'Ce lien n\'est pas valide',
    text: 'Le lien que vous avez suivi est incomplet ou a été modifié. Vérifiez que vous avez copié l\'adresse entière depuis le courriel reçu.',
  },
  expired_link: {
    title: 'Ce lien a expiré',
    text: 'Les liens d\'évaluation ne fonctionnent que pendant la session d\'évaluation et quelques jours après.',
  },
  unknown_round: {
    title: 'Cette session d\'évaluation n\'existe pas',
    text: 'La session d\'évaluation à laquelle mène ce lien n\'existe pas ou plus.',
  },
  inactive_reviewer: {
    title: 'Ce lien n\'est plus actif',
    text: 'Votre accès au comité d\'évaluation n\'est plus actif.',
  },
  not_assigned: {
    title: 'Ce dossier ne vous est pas confié',
    text: 'Le dossier demandé n\'existe pas ou ne fait pas partie des dossiers qui vous sont confiés pour cette session.',
  },
  invalid_form_token: {
    title: 'Le formulaire n\'a pas pu être vérifié',
    text: 'Votre évaluation n\'a pas été enregistrée. Rouvrez le dossier depuis le lien reçu par courriel, puis saisissez à nouveau votre évaluation.',
  },
};

/** Pages that are not refusals of a link. */
export const OTHER_PAGES = {
  404: { title: 'Page introuvable', text: 'L\'adresse demandée ne correspond à aucune page. Vérifiez que vous avez copié l\'adresse entière depuis le courriel reçu.' },
  413: { title: 'Formulaire trop volumineux', text: 'Votre évaluation n\'a pas été enregistrée : le formulaire envoyé dépasse la taille permise. Raccourcissez le commentaire et envoyez-le à nouveau.' },
  415: { title: 'Formulaire non reconnu', text: 'Votre évaluation n\'a pas été enregistrée : le formulaire envoyé n\'a pas le format attendu. Rouvrez le dossier depuis le lien reçu par courriel.' },
  500: { title: 'Une erreur est survenue', text: 'La page n\'a pas pu être affichée. Réessayez dans quelques minutes ; si le problème persiste, contactez l\'équipe du programme EIG.' },
} as const satisfies Record<number, Refusal>;
export type OtherPageStatus = keyof typeof OTHER_PAGES;

/** "Il vous reste 2 dossiers à évaluer", singular for 0 and 1 as French has it. */
export const remainingText = (remaining: number) =>
  `Il vous reste ${remaining} ${remaining > 1 ? 'dossiers' : 'dossier'} à évaluer`;

export const SCALE_HINT = 'De 1 (très insuffisant) à 5 (excellent).';
export const CONFLICT_HINT = 'La déclaration prend effet à l\'envoi de l\'évaluation : le dossier est alors confié à un autre membre du comité et votre évaluation n\'est pas comptée.';
