import type { HttpEvent, HttpResult } from '#shared/http';
import { rawBodyOf } from '#shared/http';
import type { Asset } from './assets.ts';

/**
 * What every answer of the review page carries, and how a request is read. The token travels in
 * the URL (no cookie): hence no-referrer everywhere, no-store on pages, and nothing cached that
 * holds one.
 */

/** A page with no script, styles and fonts from its own origin only, posting only to itself. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A score form is a few kilobytes; 5 000 characters of comment stay far below this. */
export const MAX_FORM_BYTES = 64 * 1024;

const ONE_YEAR_SECONDS = 31_536_000;
/** Two years, as the HSTS preload list asks; sent over HTTPS only (browsers ignore it on HTTP). */
const HSTS = 'max-age=63072000; includeSubDomains';

export interface PageRequest {
  method: string;
  /** The path as received, e.g. `/review/2026-03/dossiers/12`. */
  path: string;
  query: Record<string, string | undefined>;
  https: boolean;
  acceptEncoding: string | undefined;
  contentType: string;
  body: Buffer;
}

export function readRequest(event: HttpEvent): PageRequest {
  const headers = event.headers ?? {};
  return {
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
    query: event.queryStringParameters ?? {},
    // API Gateway terminates TLS and says so; the local gateway (plain HTTP) does not.
    https: (headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim().toLowerCase() === 'https',
    acceptEncoding: headers['accept-encoding'],
    contentType: headers['content-type'] ?? '',
    body: event.rawBody ?? rawBodyOf(event),
  };
}

export type FormBody = { ok: true; fields: URLSearchParams } | { ok: false; status: 413 | 415 };

/** The posted form: 413 above MAX_FORM_BYTES, 415 unless form-encoded (what a browser form sends). */
export function readForm(request: PageRequest): FormBody {
  if (request.body.length > MAX_FORM_BYTES) return { ok: false, status: 413 };
  if (!/^application\/x-www-form-urlencoded(\s*;|$)/i.test(request.contentType)) return { ok: false, status: 415 };
  return { ok: true, fields: new URLSearchParams(request.body.toString('utf8')) };
}

function securityHeaders(request: Pick<PageRequest, 'https'>): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    ...(request.https ? { 'strict-transport-security': HSTS } : {}),
  };
}

export function htmlResponse(statusCode: number, html: string, request: Pick<PageRequest, 'https'>): HttpResult {
  return {
    statusCode,
    headers: { ...securityHeaders(request), 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: html,
  };
}

/** 303 after a POST (the browser GETs the target), 302 to a download. Never cached: the target holds a token or a signature. */
export function redirect(statusCode: 302 | 303, location: string, request: Pick<PageRequest, 'https'>): HttpResult {
  return { statusCode, headers: { ...securityHeaders(request), location, 'cache-control': 'no-store' }, body: '' };
}

export function assetResponse(asset: Asset, request: Pick<PageRequest, 'https'>): HttpResult {
  return {
    statusCode: 200,
    headers: {
      ...securityHeaders(request),
      'content-type': asset.contentType,
      'cache-control': `public, max-age=${ONE_YEAR_SECONDS}, immutable`,
      ...(asset.encoding === 'identity' ? {} : { 'content-encoding': asset.encoding }),
      ...(asset.varies ? { vary: 'Accept-Encoding' } : {}),
    },
    body: asset.body.toString('base64'),
    isBase64Encoded: true,
  };
}
