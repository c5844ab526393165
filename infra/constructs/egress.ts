import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface FixedEgressProps {
  /** Two AZ names, given (not looked up) so synth needs no AWS credentials. */
  readonly availabilityZones: string[];
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * A fixed source IP for the calls to DS: DS API tokens can be (and, since 1 July 2026, must be)
 * restricted to source IPs. A VPC with public subnets and private subnets with egress, ONE NAT
 * gateway whose Elastic IP the stack allocates (so it is known, output as EgressIp, and kept
 * while the stack lives), flow logs, and a security group allowing HTTPS out only.
 *
 * One NAT gateway, not one per AZ: a NAT per AZ would mean several source IPs to declare in DS,
 * and an AZ outage only delays ingestion (messages wait in SQS, the reconciler catches up).
 */
export class FixedEgress extends Construct {
  readonly vpc: ec2.Vpc;
  readonly eip: ec2.CfnEIP;
  readonly securityGroup: ec2.SecurityGroup;
  readonly privateSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

  constructor(scope: Construct, id: string, props: FixedEgressProps) {
    super(scope, id);

    this.eip = new ec2.CfnEIP(this, 'NatEip', {
      domain: 'vpc',
      tags: [{ key: 'Name', value: 'ds-selection egress IP (declared in the DS API token IP filter)' }],
    });
    // Keep the IP on prod even if the stack is deleted: it is written in the DS token settings.
    this.eip.applyRemovalPolicy(props.removalPolicy);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
      availabilityZones: props.availabilityZones,
      natGateways: 1,
      natGatewayProvider: ec2.NatProvider.gateway({ eipAllocationIds: [this.eip.attrAllocationId] }),
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // Nothing runs in the default security group; restricting it needs a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
      // S3 and DynamoDB through free gateway endpoints: attachments do not cross the NAT twice.
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.privateSubnets] },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [this.privateSubnets] },
      },
    });

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'ds-selection functions calling DS: HTTPS out only, nothing in',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to DS and AWS APIs');
  }
}
