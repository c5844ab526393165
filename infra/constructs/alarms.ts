import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Where staff read what an alarm means and what to do: one section per alarm. */
export const RUNBOOK_PATH = 'docs/runbook.md';

/**
 * The runbook's sections, by alarm: the anchors of docs/runbook.md's headings (GitHub's slugs).
 * Every alarm's description ends with `Runbook: docs/runbook.md#<section>`; a test checks that
 * each section exists.
 */
export const RUNBOOK_SECTIONS = {
  ingestDeadLetters: 'ingest-dead-letter-queue',
  scheduleDeadLetters: 'schedules-dead-letter-queue',
  functionErrors: 'function-errors',
  functionThrottles: 'function-throttles',
  apiServerErrors: 'api-5xx-answers',
  ingestQueueAge: 'ingest-queue-backlog',
  scheduleTargetErrors: 'schedule-target-errors',
  scheduleInvocationsDropped: 'schedule-invocations-dropped',
  sesBounceRate: 'ses-bounce-rate',
  sesComplaintRate: 'ses-complaint-rate',
} as const;
export type RunbookSection = (typeof RUNBOOK_SECTIONS)[keyof typeof RUNBOOK_SECTIONS];

export interface AlarmTopicProps {
  readonly stageName: string;
  /** Staff addresses subscribed by email (each recipient confirms from the mail AWS sends). */
  readonly emails: readonly string[];
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The SNS topic every alarm of the stack notifies, encrypted with a key of its own (CloudWatch
 * cannot publish to a topic under the AWS-managed SNS key, whose policy does not let it use the
 * key), SSL-only publishing, and the staff's email subscriptions.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `ds-selection ${props.stageName}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch publishes alarm state changes to the encrypted topic: it needs a data key, and
    // nothing else (no Encrypt, no key administration). SNS decrypts for the email deliveries itself.
    this.key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToTheTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `ds-selection ${props.stageName} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of new Set(props.emails.map((address) => address.toLowerCase()))) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
  }
}

export interface StaffAlarmProps {
  readonly topic: sns.ITopic;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  /** Default: greater than or equal to the threshold. */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
  /** Default 1: the first bad period alarms. */
  readonly evaluationPeriods?: number;
  /** Default: no data is fine (no traffic, no mail, no failure). */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
  /** What happened and what to do first, in a sentence or two. */
  readonly what: string;
  readonly runbookSection: RunbookSection;
}

/**
 * An alarm that mails staff through `topic` when it fires and when it clears (so nobody keeps
 * looking at what fixed itself), whose description says what to do and names its runbook section.
 */
export function staffAlarm(scope: Construct, id: string, props: StaffAlarmProps): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: `${props.what} Runbook: ${RUNBOOK_PATH}#${props.runbookSection}`,
    metric: props.metric,
    threshold: props.threshold,
    comparisonOperator: props.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: props.evaluationPeriods ?? 1,
    treatMissingData: props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const action = new cloudwatchActions.SnsAction(props.topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  return alarm;
}

/**
 * An alarm as soon as a dead-letter queue holds a message: every message there is work that
 * failed for good and waits for staff.
 */
export function alarmOnDeadLetters(
  scope: Construct,
  id: string,
  queue: sqs.IQueue,
  topic: sns.ITopic,
  what: string,
  runbookSection: RunbookSection,
): cloudwatch.Alarm {
  return staffAlarm(scope, id, {
    topic,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: 1,
    what,
    runbookSection,
  });
}
