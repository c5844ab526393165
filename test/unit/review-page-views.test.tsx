import { describe, expect, it } from 'vitest';
import type { ReviewerDossierPage, ReviewerListPage } from '#core/reviews/reviewer-pages';
import type { ReviewerSession } from '#core/reviews/access';
import { ReviewAccessError, REVIEW_REFUSALS, type ReviewRefusal } from '#core/reviews/errors';
import type { DossierRecord } from '#core/dossier';
import type { ReviewRecord, RoundRecord } from '#core/rounds/model';
import { DossierPage, type DossierPageProps } from '../../functions/review-page/views/dossier-page.tsx';
import { ListPage } from '../../functions/review-page/views/list-page.tsx';
import { RefusalPage } from '../../functions/review-page/views/refusal-page.tsx';
import { renderDocument } from '../../functions/review-page/views/render.ts';
import { REFUSALS } from '../../functions/review-page/texts.ts';
import { routeOf } from '../../functions/review-page/routes.tsx';

// The views alone, rendered to HTML and read back with a DOM parser-free check: what the page
// must say and must never say, whatever the data holds.

const HOSTILE = '<script>alert("x")</script>';
const criteria = [
  { id: 'impact', label: 'Impact pour les usagers', description: 'Qui en bénéficie, et combien.', weight: 2 },
  { id: 'equipe', label: 'Équipe & <moyens>', weight: 1 },
];
const round: RoundRecord = {
  id: '2026-03', status: 'reviewing', openedAt: '2026-03-01T08:00:00Z', submissionsClosedAt: '2026-05-01T06:00:00Z',
  reviewDeadline: '2026-05-22T12:00:00Z', selectionClosedAt: null, capacityPosts: 6, reviewersPerDossier: 2, criteria, version: 2,
};
const session = (status: RoundRecord['status'] = 'reviewing'): ReviewerSession => ({
  round: { ...round, status },
  reviewer: { id: 'abcdef0123456789', email: 'alice.secret@example.gouv.fr', name: 'Alice Secret', conflicts: [], active: true },
  linkExpiresAt: new Date('2026-06-05T12:00:00Z'),
});
const dossier: DossierRecord = {
  number: 23456789, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: null, modifiedAtMs: 1,
  dateDepot: null, round: '2026-03', issues: [], filesComplete: true, snapshotKey: null, ingestedAt: '2026-03-05T10:00:00Z',
  project: {
    title: HOSTILE, description: `Première ligne ${HOSTILE}\n\nSecond paragraphe`,
    administration: { name: 'Ministère <b>gras</b>', siret: '11000000000011' },
    team: [{ name: 'Jeanne "Équipe"', role: 'Cheffe de projet', email: 'jeanne@example.gouv.fr' }],
    eigPostsRequested: 2, wishedStartDate: '2026-09-01', theme: 'Santé', commitments: [{ champId: 'c1', label: 'Je m\'engage', accepted: true }],
  },
  attachments: [{ champId: 'c2', label: 'Note <i>', filename: 'note "projet".pdf', contentType: 'application/pdf', byteSize: 63_365, checksum: 'x', virusScan: 'safe', key: 'attachments/k' }],
};
const TOKEN = 'abcdef0123456789.1780000000.sig_-';

function dossierPage(overrides: Partial<ReviewerDossierPage> = {}, props: Partial<DossierPageProps> = {}): string {
  const page: ReviewerDossierPage = {
    session: session(), dossier, review: undefined, state: 'to_do', version: 0, permission: { canWrite: true }, ...overrides,
  };
  return renderDocument(<DossierPage page={page} token={TOKEN} homeHref={`/review/2026-03?token=${TOKEN}`} csrf="csrf-value" {...props} />);
}

/** The opening tag of the element with this id. */
const tagWithId = (html: string, id: string) => new RegExp(`<[a-z]+[^>]*\\sid="${id}"[^>]*>`).exec(html)?.[0];
const count = (html: string, pattern: RegExp) => html.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

describe('review page views', () => {
  it('escape hostile values in titles, text, attributes and the comment', () => {
    const review: ReviewRecord = {
      roundId: '2026-03', dossierNumber: dossier.number, reviewerId: 'abcdef0123456789', scores: { impact: 4 }, comment: `</textarea>${HOSTILE}`,
      conflictOfInterest: false, status: 'draft', version: 3, submittedAt: null,
    };
    const html = dossierPage({ review, state: 'draft', version: 3 });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('</textarea><script');
    expect(html).toContain('>&lt;/textarea>&lt;script>');
    expect(html).not.toContain('<b>gras</b>');
    expect(html).not.toContain('<moyens>');
    expect(html).toContain('&lt;script>alert(&quot;x&quot;)&lt;/script>');
    expect(html).toMatch(/<h1>&lt;script>/);
    expect(html).toMatch(/<title>Erreur|<title>&lt;script>/);
    // No inline script, style or event handler anywhere: the CSP forbids them.
    expect(html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('show one fieldset with a legend per criterion, radios score_<id> 1 to 5, the comment, the conflict box, csrf, version and both buttons', () => {
    const html = dossierPage({ version: 7 });
    expect(count(html, /<fieldset/)).toBe(criteria.length);
    expect(count(html, /<legend/)).toBe(criteria.length);
    for (const criterion of criteria) {
      const values = [...html.matchAll(new RegExp(`<input type="radio" id="score_${criterion.id}-(\\d)" name="score_${criterion.id}" value="(\\d)"`, 'g'))].map((m) => m[2]);
      expect(values).toEqual(['1', '2', '3', '4', '5']);
      for (const v of values) expect(html).toContain(`<label class="fr-label" for="score_${criterion.id}-${v}">${v}</label>`);
    }
    expect(html).toContain('Qui en bénéficie, et combien.');
    expect(html).toMatch(/<label class="fr-label" for="comment">Commentaire<span[^>]*>[^<]*5\s000 caractères/);
    expect(html).toMatch(/<textarea[^>]*name="comment"/);
    expect(html).toMatch(/<input type="checkbox" id="conflict" name="conflict"/);
    expect(html).toContain("J'ai un lien d'intérêt avec ce dossier");
    expect(html).toContain('<input type="hidden" name="csrf" value="csrf-value"/>');
    expect(html).toContain('<input type="hidden" name="version" value="7"/>');
    expect(html).toMatch(/<button type="submit"[^>]*name="intent" value="draft">Enregistrer le brouillon<\/button>/);
    expect(html).toMatch(/<button type="submit"[^>]*name="intent" value="submit">Envoyer l'évaluation<\/button>/);
    expect(html).toContain(`<form method="post" action="/review/2026-03/dossiers/23456789?token=${TOKEN}"`);
    // Every link of the page carries the token (no cookie).
    for (const [, href] of html.matchAll(/href="(\/review\/2026-03[^"]*)"/g)) expect(href).toContain(`token=${TOKEN}`);
    expect(html).toContain(`href="/review/2026-03/dossiers/23456789/attachments/0?token=${TOKEN}"`);
    // The team without emails.
    expect(html).not.toContain('jeanne@example.gouv.fr');
  });

  it('show the typed values after a refusal, each error next to its field, tied by aria-describedby, and a summary linking to each', () => {
    const html = dossierPage({}, {
      form: {
        values: { scores: { impact: '4', equipe: '' }, comment: 'Mon avis', conflict: false },
        errors: { score_equipe: 'Notez « Équipe » de 1 à 5 avant d\'envoyer l\'évaluation.', comment: 'Le commentaire est trop long.' },
        version: 3,
      },
    });
    expect(html).toMatch(/<title>Erreur : /);
    expect(html).toMatch(/<input type="radio" id="score_impact-4" name="score_impact" value="4" checked/);
    expect(html).toMatch(/<textarea[^>]*>Mon avis<\/textarea>/);
    expect(html).toContain('<input type="hidden" name="version" value="3"/>');

    const summary = /<div class="fr-alert fr-alert--error[^"]*" role="alert"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
    expect(summary).toContain('href="#score_equipe-1"');
    expect(summary).toContain('href="#comment"');
    expect(html.indexOf('role="alert"')).toBeLessThan(html.indexOf('<form'));

    const fieldset = tagWithId(html, 'score_equipe-fieldset')!;
    expect(fieldset).toContain('fr-fieldset--error');
    expect(fieldset).toContain('aria-describedby="score_equipe-error"');
    expect(html).toMatch(/<p class="fr-message fr-message--error" id="score_equipe-error">Notez/);
    expect(tagWithId(html, 'score_impact-fieldset')).not.toContain('aria-describedby');
    expect(tagWithId(html, 'comment')).toMatch(/aria-describedby="comment-hint comment-error"/);
    expect(html).toContain('fr-input-group--error');
    expect(html).toMatch(/<p class="fr-message fr-message--error" id="comment-error">Le commentaire est trop long\.<\/p>/);
  });

  it.each([
    ['round_closed', 'closed', /La session est close : les évaluations ne peuvent plus être modifiées\./],
    ['conflict_declared', 'reviewing', /lien d'intérêt/],
    ['round_not_reviewing_yet', 'open', /pas encore ouverte/],
  ] as const)('read-only (%s): the review as text and why, no form and no submit button', (reason, status, notice) => {
    const review: ReviewRecord = {
      roundId: '2026-03', dossierNumber: dossier.number, reviewerId: 'abcdef0123456789', scores: { impact: 4, equipe: 2 }, comment: 'Bon projet',
      conflictOfInterest: reason === 'conflict_declared', status: 'submitted', version: 2, submittedAt: '2026-05-10T10:00:00Z',
    };
    const html = dossierPage({ session: session(status), review, state: 'submitted', version: 2, permission: { canWrite: false, reason } });
    expect(html).toMatch(notice);
    expect(html).not.toMatch(/<form|<button|<input|<textarea/);
    expect(html).toContain('Bon projet');
    if (reason === 'round_closed') expect(html).toContain('4 / 5');
  });

  it('show the profiles requested next to the EIG posts, and a dossier stored before profiles existed without failing', () => {
    const withProfiles = { ...dossier, project: { ...dossier.project, profiles: ['Directeur·rice de produit', 'Directeur·rice <technique>'] } };
    const html = dossierPage({ dossier: withProfiles });
    expect(html).toMatch(/<dt><strong>Postes EIG demandés<\/strong><\/dt>\s*<dd[^>]*>2<\/dd>\s*<dt><strong>Profils recherchés<\/strong><\/dt>\s*<dd[^>]*>Directeur·rice de produit, Directeur·rice &lt;technique><\/dd>/);
    expect(dossierPage()).toMatch(/Profils recherchés<\/strong><\/dt>\s*<dd[^>]*>Non renseignés<\/dd>/);
  });

  it('say why a dossier left the selection: classé sans suite, or deleted, on Démarches Simplifiées', () => {
    const withdrawn = (changes: Partial<DossierRecord>) => dossierPage(
      { dossier: { ...dossier, ...changes }, permission: { canWrite: false, reason: 'dossier_withdrawn' } },
    );
    const sansSuite = withdrawn({ state: 'sans_suite' });
    expect(sansSuite).toContain('Dossier retiré de la sélection');
    expect(sansSuite).toContain('classé sans suite ou supprimé sur Démarches Simplifiées');
    expect(sansSuite).toContain('Motif : Classé sans suite sur Démarches Simplifiées.');
    expect(sansSuite).not.toContain('<form');
    expect(withdrawn({ status: 'deleted' })).toContain('Motif : Supprimé sur Démarches Simplifiées.');
    // An invalid dossier left the selection too, but was not withdrawn: no motive.
    expect(withdrawn({ status: 'invalid' })).not.toContain('Motif');
  });

  it('refusal pages say what happened and what to do, with the right words, and show no data', () => {
    for (const reason of Object.keys(REVIEW_REFUSALS) as ReviewRefusal[]) {
      const html = renderDocument(<RefusalPage refusal={REFUSALS[reason]} />);
      expect(new ReviewAccessError(reason).status).toBeGreaterThanOrEqual(400);
      expect(html).toContain("Demandez un nouveau lien à l'équipe du programme EIG.");
      expect(html).toMatch(/<html lang="fr">/);
      expect(count(html, /<h1/)).toBe(1);
      expect(html).not.toMatch(/dossiers\/|token=|<form/);
    }
    expect(renderDocument(<RefusalPage refusal={REFUSALS.invalid_link} />)).toContain("Ce lien n'est pas valide");
    expect(renderDocument(<RefusalPage refusal={REFUSALS.expired_link} />)).toContain('Ce lien a expiré');
    expect(renderDocument(<RefusalPage refusal={REFUSALS.not_assigned} />)).toContain('Ce dossier ne vous est pas confié');
    expect(renderDocument(<RefusalPage refusal={REFUSALS.invalid_form_token} />)).toContain("Le formulaire n'a pas pu être vérifié");
  });

  it('list: each dossier with its number, title link, administration and badge; what is left; the deadline', () => {
    const page: ReviewerListPage = {
      session: session(), remaining: 2, roundOpenForReviews: true,
      items: [
        { dossierNumber: 11, title: HOSTILE, administration: 'Ville de <Paris>', state: 'to_do', reviewable: true },
        { dossierNumber: 12, title: 'Deux', administration: 'B', state: 'draft', reviewable: true },
        { dossierNumber: 13, title: 'Trois', administration: 'C', state: 'submitted', reviewable: true },
        { dossierNumber: 14, title: null, administration: null, state: 'conflict', reviewable: false },
      ],
    };
    const html = renderDocument(<ListPage page={page} token={TOKEN} homeHref={`/review/2026-03?token=${TOKEN}`} />);
    expect(html).not.toContain('<script');
    expect(html).toContain('Ville de &lt;Paris>');
    for (const word of ['À faire', 'Brouillon', 'Envoyée', 'Conflit déclaré']) expect(html).toContain(word);
    expect(html).toContain('Il vous reste 2 dossiers à évaluer');
    expect(html).toContain(`href="/review/2026-03/dossiers/14?token=${TOKEN}">Dossier n° 14</a>`);
    expect(html).toContain("n'est plus à évaluer");
    expect(html).toMatch(/vendredi 22 mai 2026 à 14:00 \(heure de Paris\)/);
    const one = renderDocument(<ListPage page={{ ...page, remaining: 1 }} token={TOKEN} homeHref="/" />);
    expect(one).toContain('Il vous reste 1 dossier à évaluer');
    expect(html).not.toContain('alice.secret@example.gouv.fr');
    expect(html).not.toContain('Alice Secret');
  });

  it('every page: French, a title, one h1, the viewport, DSFR from the versioned asset path, skip links, no script', () => {
    for (const html of [dossierPage(), renderDocument(<RefusalPage refusal={REFUSALS.invalid_link} />)]) {
      expect(html.startsWith('<!DOCTYPE html><html lang="fr">')).toBe(true);
      expect(html).toMatch(/<title>[^<]+<\/title>/);
      expect(count(html, /<h1/)).toBe(1);
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
      expect(html).toContain('<link rel="stylesheet" href="/review/assets/1.14.4/dsfr.main.min.css"/>');
      expect(html).toContain('href="#contenu"');
      expect(html).toContain('id="contenu"');
      expect(html).not.toMatch(/<script/);
    }
  });
});

describe('routeOf', () => {
  it('maps paths to pages, and anything else (bad numbers, extra segments) to not_found', () => {
    expect(routeOf('GET', '/review/2026-03')).toEqual({ name: 'list', roundId: '2026-03' });
    expect(routeOf('GET', '/review/2026-03/dossiers/12')).toEqual({ name: 'dossier', roundId: '2026-03', dossierNumber: 12 });
    expect(routeOf('POST', '/review/2026-03/dossiers/12')).toEqual({ name: 'save', roundId: '2026-03', dossierNumber: 12 });
    expect(routeOf('GET', '/review/2026-03/dossiers/12/attachments/0')).toEqual({ name: 'attachment', roundId: '2026-03', dossierNumber: 12, index: 0 });
    expect(routeOf('GET', '/review/assets/1.14.4/fonts/Marianne-Regular.woff2')).toEqual({ name: 'asset', path: 'fonts/Marianne-Regular.woff2' });
    for (const path of ['/review/2026-03/dossiers/abc', '/review/2026-03/dossiers/0', '/review/2026-03/dossiers/12/x', '/review/2026-03/other',
      '/review/2026-03/dossiers/12/attachments/-1', '/review//dossiers/1', '/review/%E0%A4%A/dossiers/1', '/other']) {
      expect(routeOf('GET', path), path).toEqual({ name: 'not_found' });
    }
    expect(routeOf('POST', '/review/2026-03')).toEqual({ name: 'not_found' });
  });
});
