import type { ReviewerListPage } from '#core/reviews/reviewer-pages';
import { readableParisDate } from '#core/rounds/paris-dates';
import { dossierHref } from '../links.ts';
import { READ_ONLY_NOTICES, READ_ONLY_TITLES, STATE_BADGES, remainingText } from '../texts.ts';
import { Layout } from './layout.tsx';

export interface ListPageProps {
  page: ReviewerListPage;
  token: string;
  homeHref: string;
}

/** The reviewer's dossiers in one round, with where each stands and how many are left. */
export function ListPage({ page, token, homeHref }: ListPageProps) {
  const { round } = page.session;
  const closedReason = round.status === 'closed' ? 'round_closed' : 'round_not_reviewing_yet';
  const deadline = round.reviewDeadline ? readableParisDate(round.reviewDeadline) : null;
  return (
    <Layout title={`Mes dossiers à évaluer – session ${round.id}`} homeHref={homeHref}>
      <h1>Mes dossiers à évaluer</h1>
      <p class="fr-text--lead">Session {round.id}</p>
      {!page.roundOpenForReviews && (
        <div class="fr-alert fr-alert--info fr-mb-4w">
          <h2 class="fr-alert__title">{READ_ONLY_TITLES[closedReason]}</h2>
          <p>{READ_ONLY_NOTICES[closedReason]}</p>
        </div>
      )}
      {deadline && <p>Date limite des évaluations : <strong>{deadline}</strong></p>}
      <p><strong>{remainingText(page.remaining)}</strong></p>
      {page.items.length === 0
        ? <p>Aucun dossier ne vous est confié pour cette session.</p>
        : (
          <div class="fr-table fr-table--no-caption">
            <table>
              <caption>Dossiers qui vous sont confiés</caption>
              <thead>
                <tr>
                  <th scope="col">N°</th>
                  <th scope="col">Projet</th>
                  <th scope="col">Administration</th>
                  <th scope="col">Statut</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((item) => {
                  const badge = STATE_BADGES[item.state];
                  return (
                    <tr key={item.dossierNumber}>
                      <td>{item.dossierNumber}</td>
                      <td><a class="fr-link" href={dossierHref(round.id, item.dossierNumber, token)}>{item.title ?? `Dossier n° ${item.dossierNumber}`}</a></td>
                      <td>{item.administration ?? '–'}</td>
                      <td>
                        <p class={`fr-badge fr-badge--sm fr-badge--no-icon ${badge.variant}`}>{badge.text}</p>
                        {!item.reviewable && <p class="fr-text--sm fr-mb-0">Ce dossier n'est plus à évaluer (retiré ou devenu incomplet).</p>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
    </Layout>
  );
}
