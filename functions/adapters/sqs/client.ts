import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

export interface SqsClientOptions {
  /**
   * Only for tests and the local runtime. Everywhere else leave it out: the SDK reads the
   * standard AWS_ENDPOINT_URL_SQS (then AWS_ENDPOINT_URL) variable itself, so no branch is needed here.
   */
  endpoint?: string;
  region?: string;
  /** Only for local engines (dummy keys, so no real AWS account can ever be reached). */
  credentials?: SQSClientConfig['credentials'];
}

export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  return new SQSClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}
