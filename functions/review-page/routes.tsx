import type { JuryConfig } from '#schemas/jury';
import type { RoundsConfig } from '#schemas/rounds';
import { RoundIdSchema } from '#schemas/rounds';
import type { DossierRecord, AttachmentRef } from '#core/dossier';
import { requireFormToken, type ReadOnlyReason } from '#core/reviews/access';
import { ReviewAccessError } from '#core/reviews/errors';
import { validateReviewForm, type ReviewFormInput } from '#core/reviews/review-form';
import {
  attachmentOf, dossierPageOf, openDossier, openDossierPage, openListPage, type PageDependencies, type ReviewPageReads,
} from '#core/reviews/reviewer-pages';
import { saveReview, type SaveReviewDependencies } from '#core/reviews/save-review';
import { formToken } from '#core/rounds/review-links';
import type { Mailer, RoundRepository } from '#core/rounds/ports';
import { logger } from '#shared/powertools';
import type { HttpEvent, HttpResult } from '#shared/http';
import { ASSET_PREFIX, type AssetStore } from './assets.ts';
import { assetResponse, htmlResponse, readForm, readRequest, redirect, type PageRequest } from './http.ts';
import { dossierHref, listHref } from './links.ts';
import { OTHER_PAGES, REFUSALS, NOT_SAVED_PREFIX, READ_ONLY_NOTICES, SAVED_NOTICES, STALE_NOTICE, type OtherPageStatus } from './texts.ts';
import { DossierPage, type DossierPageProps } from './views/dossier-page.tsx';
import type { FormValues } from './views/review-form.tsx';
import { ListPage } from './views/list-page.tsx';
import { RefusalPage } from './views/refusal-page.tsx';
import { renderDocument } from './views/render.ts';

/**
 * The review page: which request goes to which use case of functions/core/reviews, and which page
 * or status answers it. Nothing is decided here that the core decides (access, permissions,
 * validation, saving); nothing changes state on a GET.
 *
 * Logs carry the route, the round id, the status and a refusal reason: never a token, a name, an
 * email, a title, a score or a comment.
 */

export interface ReviewPageDependencies {
  /** What the pages read, one call per page (functions/core/reviews/reviewer-pages.ts). */
  reads: ReviewPageReads;
  /** Saving a review (and a declared conflict's replacement) reads and writes through these. */
  rounds: RoundRepository;
  dossiers: { get(number: number): Promise<DossierRecord | undefined> };
  mailer: Mailer;
  attachmentLinks: { downloadUrl(file: AttachmentRef): Promise<string> };
  assets: AssetStore;
  /** The review link key: checks links, signs the anti-forgery token and the links mailed on a conflict. */
  secret: string;
  reviewPageUrl: string;
  config: Pick<RoundsConfig, 'reviewDays' | 'reviewLinkGraceDays'>;
  /** Conflict rules for the replacement of a reviewer who declares a conflict. */
  jury?: JuryConfig;
  clock: { now(): Date };
}

type Route =
  | { name: 'asset'; path: string }
  | { name: 'list'; roundId: string }
  | { name: 'dossier'; roundId: string; dossierNumber: number }
  | { name: 'save'; roundId: string; dossierNumber: number }
  | { name: 'attachment'; roundId: string; dossierNumber: number; index: number }
  | { name: 'not_found' };

const DOSSIER_NUMBER = /^[1-9]\d{0,9}$/;
const INDEX = /^(0|[1-9]\d{0,3})$/;

/** The page a path and method lead to. Path segments are matched raw, then decoded once. */
export function routeOf(method: string, path: string): Route {
  if (method === 'GET' && path.startsWith(ASSET_PREFIX)) return { name: 'asset', path: path.slice(ASSET_PREFIX.length) };
  const parts = path.split('/').slice(1);
  if (parts[0] !== 'review' || parts.length < 2 || parts.some((p) => p === '')) return { name: 'not_found' };
  let roundId: string;
  try {
    roundId = decodeURIComponent(parts[1]!);
  } catch {
    return { name: 'not_found' };
  }
  if (parts.length === 2 && method === 'GET') return { name: 'list', roundId };
  if (parts[2] !== 'dossiers' || !DOSSIER_NUMBER.test(parts[3] ?? '')) return { name: 'not_found' };
  const dossierNumber = Number(parts[3]);
  if (parts.length === 4) return method === 'POST' ? { name: 'save', roundId, dossierNumber } : { name: 'dossier', roundId, dossierNumber };
  if (parts.length === 6 && method === 'GET' && parts[4] === 'attachments' && INDEX.test(parts[5]!)) {
    return { name: 'attachment', roundId, dossierNumber, index: Number(parts[5]) };
  }
  return { name: 'not_found' };
}

export async function serveReviewPage(event: HttpEvent, deps: ReviewPageDependencies): Promise<HttpResult> {
  const request = readRequest(event);
  const route = routeOf(request.method, request.path);
  // A round id that is not one (a typo, a probe) is logged as such, never as typed.
  const round = 'roundId' in route ? (RoundIdSchema.safeParse(route.roundId).success ? route.roundId : 'invalid') : undefined;
  try {
    const result = await answer(route, request, deps);
    if (route.name !== 'asset' || result.statusCode !== 200) logger.info('review page', { route: route.name, round, status: result.statusCode });
    return result;
  } catch (error) {
    if (error instanceof ReviewAccessError) {
      logger.warn('review page refused', { route: route.name, round, reason: error.reason, status: error.status });
      return htmlResponse(error.status, renderDocument(<RefusalPage refusal={REFUSALS[error.reason]} />), request);
    }
    // The error's name only: messages of SDK errors may quote keys or values.
    logger.error('review page failed', { route: route.name, round, status: 500, error: (error as Error)?.name ?? 'unknown' });
    return otherPage(500, request);
  }
}

function otherPage(status: OtherPageStatus, request: PageRequest): HttpResult {
  return htmlResponse(status, renderDocument(<RefusalPage refusal={OTHER_PAGES[status]} askForANewLink={status === 404} />), request);
}

async function answer(route: Route, request: PageRequest, deps: ReviewPageDependencies): Promise<HttpResult> {
  switch (route.name) {
    case 'asset': {
      const asset = deps.assets.get(route.path, request.acceptEncoding);
      return asset ? assetResponse(asset, request) : otherPage(404, request);
    }
    case 'not_found':
      return otherPage(404, request);
    case 'list': {
      const page = await openListPage(route.roundId, request.query.token, pageDeps(deps));
      const token = openedToken(request);
      return htmlResponse(200, renderDocument(<ListPage page={page} token={token} homeHref={listHref(route.roundId, token)} />), request);
    }
    case 'dossier': {
      const page = await openDossierPage(route.roundId, request.query.token, route.dossierNumber, pageDeps(deps));
      const token = openedToken(request);
      const saved = request.query.saved;
      const notice = saved === 'draft' ? SAVED_NOTICES.draft
        : saved === 'submitted' ? (page.state === 'conflict' ? SAVED_NOTICES.conflict : SAVED_NOTICES.submitted) : undefined;
      return dossierResponse(200, { page, token, ...(notice ? { notice: { kind: 'success', text: notice } } : {}) }, request, deps);
    }
    case 'attachment': {
      const page = await openDossierPage(route.roundId, request.query.token, route.dossierNumber, pageDeps(deps));
      return redirect(302, await deps.attachmentLinks.downloadUrl(attachmentOf(page, route.index)), request);
    }
    case 'save':
      return save(route, request, deps);
  }
}

const pageDeps = (deps: ReviewPageDependencies): PageDependencies => ({ reads: deps.reads, secret: deps.secret, clock: deps.clock });

/** The link's token of a request whose page opened (a missing one is refused as `invalid_link` first). */
const openedToken = (request: PageRequest): string => request.query.token!;

function dossierResponse(
  status: number,
  props: Omit<DossierPageProps, 'homeHref' | 'csrf'>,
  request: PageRequest,
  deps: ReviewPageDependencies,
): HttpResult {
  const { round, reviewer, linkExpiresAt } = props.page.session;
  const csrf = formToken(deps.secret, round.id, reviewer.id, linkExpiresAt);
  const html = renderDocument(<DossierPage {...props} homeHref={listHref(round.id, props.token)} csrf={csrf} />);
  return htmlResponse(status, html, request);
}

/** The form as posted: `score_<criterion>` fields, the comment, the conflict box, the button pressed. */
function formInput(fields: URLSearchParams): ReviewFormInput {
  const scores: Record<string, string> = {};
  for (const [name, value] of fields) if (name.startsWith('score_')) scores[name.slice('score_'.length)] = value;
  return { intent: fields.get('intent') ?? undefined, scores, comment: fields.get('comment') ?? undefined, conflictOfInterest: fields.has('conflict') };
}

const typedValues = (input: ReviewFormInput): FormValues => ({
  scores: Object.fromEntries(Object.entries(input.scores).map(([id, v]) => [id, v ?? ''])),
  comment: input.comment ?? '',
  conflict: input.conflictOfInterest,
});

/**
 * POST: session, anti-forgery token, validation, then saveReview; Post/Redirect/Get on success.
 * The session and the dossier are read once, up front; the checks keep their order (link, round,
 * reviewer, form token, form, assignment), and every answer is built from that one read.
 */
async function save(route: Extract<Route, { name: 'save' }>, request: PageRequest, deps: ReviewPageDependencies): Promise<HttpResult> {
  const form = readForm(request);
  if (!form.ok) return otherPage(form.status, request);
  const { session, records } = await openDossier(route.roundId, request.query.token, route.dossierNumber, pageDeps(deps));
  const token = openedToken(request);
  requireFormToken(session, form.fields.get('csrf') ?? undefined, deps.secret);

  const input = formInput(form.fields);
  const postedVersion = form.fields.get('version') ?? '';
  // A version that is not one cannot match the store: the save answers `stale`, and writes nothing.
  const expectedVersion = /^\d{1,9}$/.test(postedVersion) ? Number(postedVersion) : -1;
  const validation = validateReviewForm(input, session.round.criteria);
  if (!validation.valid) {
    const page = dossierPageOf(session, records);
    if (!page.permission.canWrite) return readOnlyAnswer(page.permission.reason, page, token, request, deps);
    return dossierResponse(422, { page, token, form: { values: typedValues(input), errors: validation.errors, version: expectedVersion < 0 ? page.version : expectedVersion } }, request, deps);
  }

  const result = await saveReview({
    round: session.round, reviewer: session.reviewer, dossierNumber: route.dossierNumber,
    form: validation.value, expectedVersion, actor: 'reviewer', known: records,
  }, {
    rounds: deps.rounds, dossiers: deps.dossiers, mailer: deps.mailer, config: deps.config, clock: deps.clock,
    reviewLinks: { baseUrl: deps.reviewPageUrl, secret: deps.secret }, ...(deps.jury ? { jury: deps.jury } : {}),
  } satisfies SaveReviewDependencies);

  if (result.outcome === 'saved') {
    const saved = result.review.status === 'draft' ? 'draft' : 'submitted';
    if (result.conflict) logger.info('conflict of interest declared', { round: session.round.id, replaced: result.conflict.replacementId !== null, mailsFailed: result.conflict.mails.failed });
    return redirect(303, dossierHref(route.roundId, route.dossierNumber, token, { saved }), request);
  }
  // Stale or read-only: show the page as it is now (the stored review, its new version). A stale
  // save carries the review the store holds; read-only changes nothing, so the read stands.
  const page = dossierPageOf(session, result.outcome === 'stale' ? { ...records, review: result.current } : records);
  if (result.outcome === 'read_only') return readOnlyAnswer(result.reason, page, token, request, deps);
  return dossierResponse(409, { page, token, notice: { kind: 'warning', text: STALE_NOTICE } }, request, deps);
}

function readOnlyAnswer(reason: ReadOnlyReason, page: DossierPageProps['page'], token: string, request: PageRequest, deps: ReviewPageDependencies): HttpResult {
  return dossierResponse(409, { page, token, readOnly: reason, notice: { kind: 'warning', text: `${NOT_SAVED_PREFIX} ${READ_ONLY_NOTICES[reason]}` } }, request, deps);
}
