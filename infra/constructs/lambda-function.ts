import { existsSync } from 'node:fs';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * The Lambda runtime of every function. Node 24 is the newest Lambda Node runtime CDK knows
 * (cdk-nag AwsSolutions-L1 wants the newest); Node 20 is deprecated in Lambda since 2026-04-30.
 * The code also runs on the local Node 20 (`npm start`, tests).
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
export const ESBUILD_TARGET = 'node24';

/** ESM bundles have no `require`; some CommonJS dependencies still call it. */
export const ESM_REQUIRE_SHIM = "import { createRequire as __dsCreateRequire } from 'node:module'; const require = __dsCreateRequire(import.meta.url);";

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface FunctionWithLogGroupProps {
  /** Absolute path of the handler file (exports `handler`). */
  readonly entry: string;
  /** Repository root: esbuild's working directory, where package.json and package-lock.json are. */
  readonly projectRoot: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Function-specific variables; the Powertools ones and NODE_OPTIONS are added. */
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly removalPolicy: RemovalPolicy;
  /** Set only for a function that must leave through the fixed egress IP. */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Where failed asynchronous invocations go after Lambda's retries (scheduled functions). */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Reserved concurrency: at most this many instances at once, taken out of the account's pool.
   * Set only where a flood must not spend the account's concurrency (the API's functions).
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Shell commands run once the bundle is built (`inputDir`: the project root, `outputDir`: the
   * bundle's folder), e.g. to copy files the function reads at run time next to it.
   */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
}

/**
 * A Node.js Lambda with the project's defaults: Node 24 on arm64, an ESM bundle built by the
 * local esbuild (no Docker), source maps, JSON logs into its own log group with a retention,
 * and its own role that may write to that log group only (no AWSLambdaBasicExecutionRole, whose
 * `logs:*` on `*` is wider than needed). Callers grant the rest on `role`.
 */
export class FunctionWithLogGroup extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FunctionWithLogGroupProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    if (props.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants, minus its logs:* on *: Lambda manages the
      // function's network interfaces with these. EC2 has no resource-level scoping for the
      // Describe calls and Lambda picks the interface ids, hence Resource "*".
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'LambdaVpcNetworkInterfaces',
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Lambda needs ec2:Create/Describe/DeleteNetworkInterface to attach the function to its VPC subnets (the AWSLambdaVPCAccessExecutionRole actions); EC2 does not support resource-level permissions for the Describe calls and the interface ids are chosen by Lambda.',
      });
    }

    const common = {
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel[props.logLevel],
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'ds-selection',
        POWERTOOLS_LOG_LEVEL: props.logLevel,
        ...props.environment,
      },
      ...(props.vpc ? { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups } : {}),
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
    } satisfies Partial<lambda.FunctionProps>;

    if (!existsSync(props.entry) && !Stack.of(this).bundlingRequired) {
      // Assertion tests skip bundling (context aws:cdk:bundling-stacks = []) and must not depend
      // on the handler files: a placeholder keeps every other property identical.
      this.function = new lambda.Function(this, 'Function', {
        ...common,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => { throw new Error("placeholder"); };'),
      });
    } else {
      this.function = new NodejsFunction(this, 'Function', {
        ...common,
        entry: props.entry,
        handler: 'handler',
        projectRoot: props.projectRoot,
        depsLockFilePath: `${props.projectRoot}/package-lock.json`,
        bundling: {
          format: OutputFormat.ESM,
          target: ESBUILD_TARGET,
          minify: true,
          sourceMap: true,
          sourcesContent: false,
          mainFields: ['module', 'main'],
          banner: ESM_REQUIRE_SHIM,
          // Bundle the SDK too: the version tested is the version run, whatever the runtime ships.
          bundleAwsSDK: true,
          forceDockerBundling: false,
          tsconfig: `${props.projectRoot}/tsconfig.json`,
          ...(props.afterBundling
            ? { commandHooks: { beforeBundling: () => [], beforeInstall: () => [], afterBundling: props.afterBundling } }
            : {}),
        },
      });
    }
  }
}
