/**
 * The HTTP routes and the function serving each: one definition for the CDK stack (HTTP API
 * routes) and the local gateway (infra/local/http-gateway.ts), so the two cannot drift.
 */
export interface HttpRoute {
  method: 'GET' | 'POST';
  /** API Gateway path template, `{name}` for a path parameter, `{name+}` for the rest of the path (greedy). */
  path: string;
  /** The entry point under functions/, without `.ts`. */
  functionName: string;
}

export const HTTP_ROUTES: readonly HttpRoute[] = [
  { method: 'POST', path: '/webhooks/ds/{token}', functionName: 'receive-ds-webhook' },
  { method: 'POST', path: '/webhooks/ds-v2', functionName: 'receive-ds-webhook-v2' },
  // The review page (functions/review-page): the reviewer's list, a dossier and its form, its files, the DSFR assets.
  { method: 'GET', path: '/review/{round}', functionName: 'serve-review-page' },
  { method: 'GET', path: '/review/{round}/dossiers/{number}', functionName: 'serve-review-page' },
  { method: 'POST', path: '/review/{round}/dossiers/{number}', functionName: 'serve-review-page' },
  { method: 'GET', path: '/review/{round}/dossiers/{number}/attachments/{index}', functionName: 'serve-review-page' },
  { method: 'GET', path: '/review/assets/{path+}', functionName: 'serve-review-page' },
  // Any other GET under /review: the page's own 404 (in French, with its headers) rather than API Gateway's JSON one.
  { method: 'GET', path: '/review/{path+}', functionName: 'serve-review-page' },
];

/** Whether a template ends with a greedy `{name+}` parameter. */
export const isGreedy = (template: string) => /\{\w+\+\}$/.test(template);

/**
 * A path with a `%` escape that does not decode (`/webhooks/ds/%E0%A4%A`). API Gateway answers
 * such a request 400 before any route is matched; the local gateway must too, not 404 or 500.
 */
export class MalformedPathError extends Error {
  override name = 'MalformedPathError';
}

/** Whether every `%` escape of `path` decodes to UTF-8. */
export function isDecodablePath(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Matches a concrete path against a template; returns the path parameters or undefined. As in
 * API Gateway HTTP APIs, `{name}` is one segment and `{name+}` the rest of the path (at least one
 * character, slashes included). Throws MalformedPathError for an undecodable path, whatever the
 * template: "no such route" (404) and "bad request" (400) must not be confused.
 */
export function matchRoute(template: string, path: string): Record<string, string> | undefined {
  if (!isDecodablePath(path)) throw new MalformedPathError('the path has a malformed % escape');
  const names: string[] = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(\\\+)?\}/g, (_, name: string, greedy: string | undefined) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  const match = new RegExp(`^${pattern}$`).exec(path);
  if (!match) return undefined;
  // Each parameter is a substring of a decodable path cut at '/', so it decodes too.
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]));
}

/**
 * The order the local gateway tries routes in, as API Gateway does: exact and `{name}` routes
 * before greedy ones, and the more specific greedy route (the longer literal prefix) first.
 */
export function byPriority(a: HttpRoute, b: HttpRoute): number {
  const greedy = Number(isGreedy(a.path)) - Number(isGreedy(b.path));
  if (greedy !== 0 || !isGreedy(a.path)) return greedy;
  return b.path.length - a.path.length;
}
