import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig, type ClientOptions } from '../client-options.ts';

/**
 * Per-message redelivery delays: ChangeMessageVisibility on a record the worker received.
 * The queue is named by the record's `eventSourceARN`, so the function needs no queue URL in
 * its environment. The URL built from the ARN only names the queue: the call goes to the
 * client's endpoint (the region's on AWS, AWS_ENDPOINT_URL_SQS locally, where the local SQS
 * reads the queue name from the URL's last segment), never to the URL's host.
 */
export class SqsMessageVisibility {
  private readonly client: SQSClient;

  constructor(client?: SQSClient, options: ClientOptions = {}) {
    // The SDK otherwise sends to the QueueUrl's host when it differs from the resolved endpoint,
    // which would take the local runtime's calls to AWS.
    this.client = client ?? new SQSClient({ ...clientConfig(options), useQueueUrlAsEndpoint: false });
  }

  /** Hides the received message for `seconds` from now (its next delivery); SQS errors are thrown as is. */
  async hideFor(queueArn: string, receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrlOf(queueArn),
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: Math.max(0, Math.round(seconds)),
    }));
  }
}

/** `arn:aws:sqs:eu-west-3:123456789012:name` -> `https://sqs.eu-west-3.amazonaws.com/123456789012/name`. */
export function queueUrlOf(queueArn: string): string {
  const match = /^arn:(aws[\w-]*):sqs:([\w-]+):(\d{12}):([\w-]{1,80}(?:\.fifo)?)$/.exec(queueArn);
  if (!match) throw new Error(`not an SQS queue ARN: ${queueArn}`);
  const [, partition, region, account, name] = match;
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${suffix}/${account}/${name}`;
}
