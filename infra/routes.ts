/**
 * The HTTP routes and the function serving each: one definition for the CDK stack (HTTP API
 * routes) and the local gateway (infra/local/http-gateway.ts), so the two cannot drift.
 */
export interface HttpRoute {
  method: 'GET' | 'POST';
  /** API Gateway path template, `{name}` for a path parameter. */
  path: string;
  /** The entry point under functions/, without `.ts`. */
  functionName: string;
}

export const HTTP_ROUTES: readonly HttpRoute[] = [
  { method: 'POST', path: '/webhooks/ds/{token}', functionName: 'receive-ds-webhook' },
  { method: 'POST', path: '/webhooks/ds-v2', functionName: 'receive-ds-webhook-v2' },
];

/** Matches a concrete path against a template; returns the path parameters or undefined. */
export function matchRoute(template: string, path: string): Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const match = new RegExp(`^${pattern}$`).exec(path);
  if (!match) return undefined;
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]));
}
