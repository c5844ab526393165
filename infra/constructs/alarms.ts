import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmTopicProps {
  readonly stageName: string;
  /** Subscribed by email when given (the recipient confirms from the mail AWS sends). */
  readonly email?: string;
}

/**
 * The SNS topic every alarm of the stack notifies. SSL-only publishing; no KMS key on the topic
 * because CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key and
 * alarm notifications carry no personal data.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `ds-selection ${props.stageName} alarms`,
      enforceSSL: true,
    });
    if (props.email) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
  }
}

/**
 * An alarm, notified on `topic`, as soon as a dead-letter queue holds a message: every message
 * there is work that failed for good and waits for staff. `description` says what to do.
 */
export function alarmOnDeadLetters(scope: Construct, id: string, queue: sqs.IQueue, topic: sns.ITopic, description: string): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
  return alarm;
}
