import type { MiddlewareObj } from '@middy/core';
import { createError } from '@middy/util';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import { foreignDemarcheReason } from '#core/webhook-hints';

/**
 * Small middy middlewares for the webhook endpoints, one job each. Errors are middy http
 * errors with a `cause` naming the middleware, turned into responses by @middy/http-error-handler.
 */

export type HttpEvent = APIGatewayProxyEventV2 & { rawBody?: Buffer; parsedBody?: unknown };
export type HttpResult = APIGatewayProxyStructuredResultV2;
type HttpMiddleware = MiddlewareObj<HttpEvent, HttpResult>;

const pkg = 'ds-selection/http';

/** The body exactly as received: API Gateway may hand it over base64-encoded. */
export function rawBodyOf(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

/** 413 above `maxBytes`, before anything parses the body; keeps the raw bytes on `event.rawBody`. */
export function limitBodySize(maxBytes: number): HttpMiddleware {
  return {
    before: async ({ event }) => {
      const raw = rawBodyOf(event);
      if (raw.length > maxBytes) {
        throw createError(413, `body is ${raw.length} bytes; the limit is ${maxBytes}`, { cause: { package: pkg, data: raw.length } });
      }
      event.rawBody = raw;
    },
  };
}

/** 404 unless the `{token}` path parameter equals the configured one (compared by `same`). */
export function requirePathToken(token: () => Promise<string>, same: (a: string, b: string | undefined) => boolean): HttpMiddleware {
  return {
    before: async ({ event }) => {
      // 404 rather than 401: a wrong token must look like no endpoint at all.
      if (!same(await token(), event.pathParameters?.token)) {
        throw createError(404, 'Not Found', { cause: { package: pkg, data: 'token mismatch' } });
      }
    },
  };
}

const FORM = /^application\/x-www-form-urlencoded(;|$)/i;
const JSON_TYPE = /^application\/(.+\+)?json(;|$)/i;

/** Decodes a form-encoded or JSON body onto `event.parsedBody`; 415 for other types, 400 for malformed JSON. */
export function parseFormOrJsonBody(): HttpMiddleware {
  return {
    before: async ({ event }) => {
      const contentType = event.headers?.['content-type'] ?? '';
      const text = (event.rawBody ?? rawBodyOf(event)).toString('utf8');
      if (FORM.test(contentType)) {
        event.parsedBody = Object.fromEntries(new URLSearchParams(text));
      } else if (JSON_TYPE.test(contentType)) {
        event.parsedBody = parseJson(text);
      } else {
        throw createError(415, `content type "${contentType || 'none'}" is not supported: send application/x-www-form-urlencoded or application/json`, {
          cause: { package: pkg, data: contentType },
        });
      }
    },
  };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw createError(400, 'body is not valid JSON', { cause: { package: pkg, data: (error as Error).message } });
  }
}

/** Validates with a zod schema; 400 with a message naming each bad field. */
export function validateBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`)
      .join('; ');
    throw createError(400, message, { cause: { package: pkg, data: parsed.error.issues } });
  }
  return parsed.data;
}

export function json(statusCode: number, body: unknown): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** 422 for a well-formed webhook about a démarche this deployment does not serve. */
export function requireServedDemarche(demarcheNumber: number, served: number[]): void {
  const reason = foreignDemarcheReason(demarcheNumber, served);
  if (reason) throw createError(422, reason, { cause: { package: pkg, data: demarcheNumber } });
}
