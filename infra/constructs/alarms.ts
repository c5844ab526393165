import * as sns from 'aws-cdk-lib/aws-sns';
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
