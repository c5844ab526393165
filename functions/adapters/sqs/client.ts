import { SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig, type ClientOptions } from '../client-options.ts';

export type SqsClientOptions = ClientOptions;

/**
 * The SQS client, on AWS and on the local SQS alike (AWS_ENDPOINT_URL_SQS).
 *
 * `cacheMiddleware`: the SDK otherwise rebuilds and sorts its middleware stack at every call,
 * a sixth of the client's CPU per SendMessageBatch (measured: docs/benchmarks.md). Safe because
 * nothing adds middleware to these clients after their first call.
 */
export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  return new SQSClient({ ...clientConfig(options), cacheMiddleware: true });
}
