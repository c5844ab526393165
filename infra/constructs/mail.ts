import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface MailProps {
  /** The address every round mail is sent from. */
  readonly sender: string;
  /** The SES identity verified in the account that covers the sender: a domain or the address itself. */
  readonly identity: string;
}

/**
 * What the round mails go out through: an SES configuration set that puts addresses which
 * bounce or complain on the account-level suppression list (no more mail to them), publishes
 * reputation metrics and requires TLS to the recipient's server (the mails carry personal links).
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

    const identityArn = (identity: string) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    // SES authorizes a send against the most specific verified identity: the address when it is
    // verified on its own, else its domain. Both are allowed; neither lets it send as anyone else.
    this.identityArns = [...new Set([props.sender.toLowerCase(), props.identity.toLowerCase()])].map(identityArn);
    this.configurationSetArn = stack.formatArn({
      service: 'ses', resource: 'configuration-set', resourceName: this.configurationSet.configurationSetName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }
}
