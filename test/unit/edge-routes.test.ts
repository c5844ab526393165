import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HTTP_ROUTES, MalformedPathError, matchRoute } from '#infra/routes';
import { HttpGateway, type HttpHandler } from '../../infra/local/http-gateway.ts';

// Issue 7: a malformed `%` escape in a path (`/webhooks/ds/%E0%A4%A`) must be a clean 400, as
// API Gateway answers for an undecodable path, never a 500 or a misleading 404.
const MALFORMED = ['/webhooks/ds/%E0%A4%A', '/webhooks/ds/%ZZ', '/review/%E0%A4%A', '/review/2026-03/dossiers/%', '/nowhere/%C3'];

describe('matchRoute', () => {
  it('decodes the parameters of a well-formed path', () => {
    expect(matchRoute('/webhooks/ds/{token}', '/webhooks/ds/abc%2Dd%C3%A9f')).toEqual({ token: 'abc-déf' });
    expect(matchRoute('/review/assets/{path+}', '/review/assets/css/dsfr.min.css')).toEqual({ path: 'css/dsfr.min.css' });
    expect(matchRoute('/webhooks/ds-v2', '/webhooks/ds/x')).toBeUndefined();
  });

  it.each(MALFORMED)('throws MalformedPathError for %s, whatever the template', (path) => {
    for (const route of HTTP_ROUTES) expect(() => matchRoute(route.path, path)).toThrow(MalformedPathError);
  });
});

describe('local gateway', () => {
  const gateway = new HttpGateway();
  const handler = vi.fn<HttpHandler>(async () => ({ statusCode: 200, body: 'ok' }));
  let port = 0;

  beforeAll(async () => {
    port = await gateway.listen(0);
    gateway.serve(HTTP_ROUTES.map((route) => ({ ...route, handler, timeoutSeconds: 5 })));
    gateway.markReady();
  });
  afterAll(() => gateway.close());

  /** Raw request: fetch() would normalise the path before sending it. */
  const send = (method: string, path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });

  it.each(MALFORMED)('answers 400 for %s and calls no handler', async (path) => {
    for (const method of ['GET', 'POST']) {
      const response = await send(method, path);
      expect(response).toEqual({ status: 400, body: JSON.stringify({ message: 'Bad Request' }) });
    }
    expect(handler).not.toHaveBeenCalled();
  });

  it('still routes well-formed paths and answers 404 for unknown ones', async () => {
    expect((await send('POST', '/webhooks/ds/abc%2Ddef')).status).toBe(200);
    expect(handler).toHaveBeenCalledWith(expect.objectContaining({ pathParameters: { token: 'abc-def' } }), expect.anything());
    expect((await send('GET', '/nowhere')).status).toBe(404);
  });
});
