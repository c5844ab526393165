import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmOnDeadLetters, RUNBOOK_SECTIONS } from './alarms.ts';
import { INGEST_PIPELINE, VISIBILITY_TIMEOUT_FACTOR } from '#infra/pipeline-settings';

/**
 * Batch size, batching window, receives before the DLQ, retentions and the visibility factor come
 * from infra/pipeline-settings.ts, which the local runtime's queue uses too; the function timeout
 * and the concurrency cap come from the stage (their defaults are those settings).
 */
export const MAX_RECEIVE_COUNT = INGEST_PIPELINE.maxReceiveCount;

export interface IngestPipelineProps {
  /** The ingest function's timeout, from which the queue's visibility timeout is derived. */
  readonly ingestTimeout: Duration;
  /** Concurrent invocations at most (SQS event source maxConcurrency). */
  readonly maxConcurrency: number;
  readonly removalPolicy: RemovalPolicy;
  /** Where the DLQ alarm goes. */
  readonly alarmTopic: sns.ITopic;
}

/**
 * The ingest queue between the webhook receivers (and reconciler, CLI) and ingest-dossier:
 * SSE, SSL only, a dead-letter queue after 5 receives, and an alarm as soon as the DLQ holds a
 * message (`ds-selection dlq list|redrive`). `connect()` wires the consumer with partial batch
 * responses and a concurrency cap; DS's 400 requests/minute hold because each of those instances
 * paces its DS requests with its share of the budget (DS_API_REQUESTS_PER_MINUTE, set by the
 * stack from dsRequestsPerMinutePerInstance in infra/pipeline-settings.ts).
 */
export class IngestPipeline extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly dlqAlarm: cloudwatch.Alarm;
  private readonly props: IngestPipelineProps;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    this.props = props;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(INGEST_PIPELINE.dlqRetentionDays),
      removalPolicy: props.removalPolicy,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.ingestTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      retentionPeriod: Duration.days(INGEST_PIPELINE.queueRetentionDays),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy: props.removalPolicy,
    });

    this.dlqAlarm = alarmOnDeadLetters(this, 'DeadLetterQueueAlarm', this.deadLetterQueue, props.alarmTopic,
      `Dossiers failed ingestion ${MAX_RECEIVE_COUNT} times and wait in the dead-letter queue. Look with \`ds-selection dlq list --stage <stage>\`, fix the cause, then \`ds-selection dlq redrive --stage <stage>\`.`,
      RUNBOOK_SECTIONS.ingestDeadLetters);
  }

  /** Makes `fn` the queue's consumer (its role gets receive/delete/visibility on the queue). */
  connect(fn: lambda.IFunction): void {
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: INGEST_PIPELINE.batchSize,
        maxBatchingWindow: Duration.seconds(INGEST_PIPELINE.maxBatchingWindowSeconds),
        maxConcurrency: this.props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}
