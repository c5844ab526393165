import type { ComponentChildren } from 'preact';
import { FAVICON, STYLESHEET } from '../asset-files.ts';
import { assetUrl } from '../assets.ts';
import { SERVICE_NAME, SERVICE_TAGLINE } from '../texts.ts';

/**
 * The DSFR page shell: skip links, a simple header (no menu, so nothing that needs the DSFR
 * JavaScript), the main content, a simple footer. No script at all.
 */

export interface LayoutProps {
  /** The page's own title; the service name is appended. */
  title: string;
  /** Where the service name leads (the reviewer's list), when the page has a valid link. */
  homeHref?: string | undefined;
  children: ComponentChildren;
}

export function Layout({ title, homeHref, children }: LayoutProps) {
  return (
    <html lang="fr">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${title} – ${SERVICE_NAME}`}</title>
        <link rel="stylesheet" href={assetUrl(STYLESHEET)} />
        <link rel="icon" href={assetUrl(FAVICON)} type="image/svg+xml" />
      </head>
      <body>
        <div class="fr-skiplinks">
          <nav class="fr-container" aria-label="Accès rapide">
            <ul class="fr-skiplinks__list">
              <li><a class="fr-link" href="#contenu">Contenu</a></li>
              <li><a class="fr-link" href="#pied-de-page">Pied de page</a></li>
            </ul>
          </nav>
        </div>
        <header role="banner" class="fr-header">
          <div class="fr-header__body">
            <div class="fr-container">
              <div class="fr-header__body-row">
                <div class={homeHref ? 'fr-header__brand fr-enlarge-link' : 'fr-header__brand'}>
                  <div class="fr-header__brand-top">
                    <div class="fr-header__logo">
                      <p class="fr-logo">République<br />Française</p>
                    </div>
                  </div>
                  <div class="fr-header__service">
                    {homeHref
                      ? <a href={homeHref} title={`Mes dossiers à évaluer – ${SERVICE_NAME}`}><p class="fr-header__service-title">{SERVICE_NAME}</p></a>
                      : <p class="fr-header__service-title">{SERVICE_NAME}</p>}
                    <p class="fr-header__service-tagline">{SERVICE_TAGLINE}</p>
                  </div>
                </div>
              </div>
            </div>
          </div>
        </header>
        <main id="contenu" role="main" class="fr-container fr-pt-4w fr-pb-8w">
          {children}
        </main>
        <footer class="fr-footer" role="contentinfo" id="pied-de-page">
          <div class="fr-container">
            <div class="fr-footer__body">
              <div class="fr-footer__brand">
                <p class="fr-logo">République<br />Française</p>
              </div>
              <div class="fr-footer__content">
                <p class="fr-footer__content-desc">
                  Espace d'évaluation réservé aux membres du comité de sélection du programme Entrepreneurs d'intérêt général.
                  Votre lien est personnel : ne le transférez pas.
                </p>
              </div>
            </div>
          </div>
        </footer>
      </body>
    </html>
  );
}
