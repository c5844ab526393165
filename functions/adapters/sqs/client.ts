import { SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig, type ClientOptions } from '../client-options.ts';

export type SqsClientOptions = ClientOptions;

/** The SQS client, on AWS and on the local SQS alike (AWS_ENDPOINT_URL_SQS). */
export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  return new SQSClient(clientConfig(options));
}
