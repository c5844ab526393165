import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { logger } from './powertools.ts';
import type { HttpEvent, HttpResult } from './http.ts';

/**
 * The common wrapping of an HTTP endpoint: logger context, lower-cased headers, and errors
 * mapped to responses (4xx say what is wrong; 5xx say nothing and are logged).
 */
export function httpEndpoint(handler: (event: HttpEvent, context: Context) => Promise<HttpResult>) {
  return middy<HttpEvent, HttpResult>(handler)
    .use(injectLambdaContext(logger))
    .use(httpHeaderNormalizer())
    .use(httpErrorHandler({
      // Log the status and the reason only: a cause may carry request data. The key is `reason`:
      // Powertools reserves `message` and would drop it (functions/shared/powertools.ts).
      logger: (error: { statusCode?: number; message?: string; name?: string }) => {
        const status = error.statusCode ?? 500;
        if (status >= 500) logger.error('request failed', { status, error: error.name, reason: error.message });
        else logger.warn('request refused', { status, reason: error.message });
      },
      fallbackMessage: 'Internal Server Error',
    }));
}
