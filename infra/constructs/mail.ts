import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { CONFIGURATION_SET_TAG, SES_DETAIL_TYPES } from '#schemas/ses-event';

/** The SES events the configuration set publishes to EventBridge (handle-mail-events reads them). */
export const PUBLISHED_MAIL_EVENTS = [
  ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT, ses.EmailSendingEvent.REJECT, ses.EmailSendingEvent.DELIVERY,
] as const;

export interface MailProps {
  /** The address every round mail is sent from. */
  readonly sender: string;
  /** The SES identity verified in the account that covers the sender: a domain or the address itself. */
  readonly identity: string;
}

/**
 * What the round mails go out through: an SES configuration set that puts addresses which
 * bounce or complain on the account-level suppression list (no more mail to them), publishes
 * reputation metrics, requires TLS to the recipient's server (the mails carry personal links), and
 * publishes its bounces, complaints, rejects and deliveries to the default EventBridge bus, where
 * a rule (routeEventsTo) hands them to handle-mail-events.
 *
 * The sender's identity itself is not created here: verifying a domain needs DNS records of a
 * domain the stack does not own (docs/deploy.md). `sendingResources` are the ARNs a function
 * needs `ses:SendEmail` on: the identities the sender may be authorized by, and the set.
 */
export class Mail extends Construct {
  readonly configurationSet: ses.ConfigurationSet;
  readonly sender: string;
  /** The identity ARNs (the address, and the identity covering it when that is a domain). */
  readonly identityArns: string[];
  readonly configurationSetArn: string;
  /** Publishes the events of PUBLISHED_MAIL_EVENTS to the account's default event bus (SES supports no other). */
  readonly eventDestination: ses.ConfigurationSetEventDestination;
  /** Set by routeEventsTo. */
  eventsRule?: events.Rule;

  constructor(scope: Construct, id: string, props: MailProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.sender = props.sender;

    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      sendingEnabled: true,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
    });

    this.eventDestination = this.configurationSet.addEventDestination('EventBus', {
      destination: ses.EventDestination.eventBus(events.EventBus.fromEventBusName(this, 'DefaultBus', 'default')),
      events: [...PUBLISHED_MAIL_EVENTS],
      enabled: true,
    });

    const identityArn = (identity: string) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    // SES authorizes a send against the most specific verified identity: the address when it is
    // verified on its own, else its domain. Both are allowed; neither lets it send as anyone else.
    this.identityArns = [...new Set([props.sender.toLowerCase(), props.identity.toLowerCase()])].map(identityArn);
    this.configurationSetArn = stack.formatArn({
      service: 'ses', resource: 'configuration-set', resourceName: this.configurationSet.configurationSetName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /**
   * A rule on the default bus that sends `fn` the bounces, complaints, rejects and deliveries of
   * this configuration set only (other sets, other SES events and other accounts' buses stay out):
   * SES tags each event's mail with `ses:configuration-set`.
   */
  routeEventsTo(fn: lambda.IFunction): events.Rule {
    this.eventsRule = new events.Rule(this, 'EventsRule', {
      description: 'SES bounces, complaints, rejects and deliveries of the ds-selection configuration set -> handle-mail-events',
      eventPattern: {
        source: ['aws.ses'],
        detailType: Object.values(SES_DETAIL_TYPES),
        detail: { mail: { tags: { [CONFIGURATION_SET_TAG]: [this.configurationSet.configurationSetName] } } },
      },
      targets: [new targets.LambdaFunction(fn)],
    });
    return this.eventsRule;
  }
}
