import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { byPriority, isDecodablePath, matchRoute, type HttpRoute } from '../routes.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * The local stand-in for the HTTP API: turns each request into the API Gateway payload v2
 * event the deployed function receives, calls the same handler module, and writes back its
 * result. No route is implemented twice.
 */

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2 | string | undefined>;

export interface GatewayRoute extends HttpRoute {
  handler: HttpHandler;
  timeoutSeconds: number;
}

/** API Gateway refuses payloads above 10 MB before any function runs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** Content types API Gateway passes as text; anything else arrives base64-encoded. */
const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|.+\+json|.+\+xml))/i;

export function toApiGatewayEvent(
  req: IncomingMessage, body: Buffer, route: HttpRoute, pathParameters: Record<string, string>, url = new URL(req.url ?? '/', 'http://localhost'),
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const isText = TEXT_TYPES.test(headers['content-type'] ?? '');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000', apiId: 'local', domainName: headers.host ?? 'localhost', domainPrefix: 'local',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(), routeKey: `${route.method} ${route.path}`, stage: '$default',
      time: now.toUTCString(), timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

function writeResult(res: ServerResponse, result: APIGatewayProxyStructuredResultV2 | string | undefined): void {
  // A bare value is a 200 JSON answer, as API Gateway does for payload v2.
  if (result === undefined || typeof result === 'string') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(result ?? '');
  }
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body === undefined ? '' : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export class HttpGateway {
  private server?: Server;
  private routes: GatewayRoute[] = [];
  private ready = false;

  /** Binds the port at once (so a busy port fails before anything else starts); answers 503 until `markReady`. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        console.error('local gateway error:', error);
        if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  serve(routes: GatewayRoute[]): void {
    // A stable sort: routes of equal priority keep the order of infra/routes.ts.
    this.routes = [...routes].sort(byPriority);
  }

  /** From now on GET /health answers 200: called once the whole stack is up. */
  markReady(): void {
    this.ready = true;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = urlOf(req.url);
    const path = url?.pathname;
    // As API Gateway: a path that does not decode (`/webhooks/ds/%E0%A4%A`) is a 400 before any route.
    if (path === undefined || !isDecodablePath(path)) return sendJson(res, 400, { message: 'Bad Request' });
    if (path === '/health') return sendJson(res, this.ready ? 200 : 503, { ready: this.ready });
    if (!this.ready) return sendJson(res, 503, { message: 'starting' });
    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === 'too_large') return sendJson(res, 413, { message: 'Request Entity Too Large' });
    for (const route of this.routes) {
      const parameters = route.method === req.method ? matchRoute(route.path, path) : undefined;
      if (!parameters) continue;
      const event = toApiGatewayEvent(req, body, route, parameters, url);
      return writeResult(res, await route.handler(event, lambdaContext(route.functionName, route.timeoutSeconds)));
    }
    sendJson(res, 404, { message: 'Not Found' });
  }
}

/** A request target as a URL (parsed once per request), undefined when it is not a URL path at all. */
function urlOf(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/**
 * The whole body, or 'too_large' past `limit` (the rest is not read: the connection is dropped as
 * before). Events rather than `for await`: an async iterator costs a promise per chunk on every request.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.destroy();
      resolve('too_large');
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
    // After 'end' (or 'too_large') this changes nothing; before, the client hung up mid-request.
    req.once('close', () => reject(new Error('the client hung up before the end of its request')));
  });
}
