import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HttpRoute } from '#infra/routes';

/**
 * Why each public route has no API Gateway authorizer (cdk-nag AwsSolutions-APIG4), by the
 * function serving it. A route added to infra/routes.ts without an entry here fails synth: its
 * authentication has to be thought through first.
 */
export const ROUTE_AUTHENTICATION: Readonly<Record<string, string>> = {
  'receive-ds-webhook':
    'The DS legacy webhook is an unsigned form POST to a URL typed in the démarche settings: it cannot send an Authorization header or sign requests, so no API Gateway authorizer can apply. The URL carries a 48-character random token (Secrets Manager) that the handler compares in constant time, answering 404 on mismatch.',
  'receive-ds-webhook-v2':
    'DS webhooks v2 authenticate with a Standard Webhooks HMAC-SHA256 signature over the raw body (webhook-id, webhook-timestamp, webhook-signature headers), verified by the handler with a 5-minute tolerance; API Gateway authorizers never see the body, so none can verify it, and DS sends no other credential.',
};

/** Stage-wide throttling: DS sends a few requests a minute; anything far above is not DS. */
export const API_THROTTLE = { rateLimit: 20, burstLimit: 50 } as const;

export interface IntakeApiProps {
  readonly stageName: string;
  /** The routes (infra/routes.ts, shared with the local gateway). */
  readonly routes: readonly HttpRoute[];
  /** The function serving each route, by `HttpRoute.functionName`. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The public HTTP API DS calls, with the routes of infra/routes.ts: `POST /webhooks/ds/{token}`
 * (legacy form POST) and `POST /webhooks/ds-v2` (signed JSON batches), each integrated with its
 * receiver Lambda, with JSON access logs and default-stage throttling.
 */
export class IntakeApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `ds-selection-${props.stageName}`,
      description: 'Démarches Simplifiées webhooks (legacy and v2) for ds-selection',
      createDefaultStage: false,
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: API_THROTTLE,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        // routeKey, never path: the legacy path holds the webhook token, which must not be logged.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    for (const route of props.routes) {
      const fn = props.functions[route.functionName];
      const authentication = ROUTE_AUTHENTICATION[route.functionName];
      if (!fn) throw new Error(`IntakeApi: no function "${route.functionName}" for ${route.method} ${route.path}`);
      if (!authentication) {
        throw new Error(`IntakeApi: ${route.method} ${route.path} is public; say how ${route.functionName} authenticates callers in ROUTE_AUTHENTICATION`);
      }
      const integrationId = route.functionName.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase());
      const created = this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${integrationId}Integration`, fn),
      });
      for (const httpRoute of created) Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: authentication });
    }
  }

  /** The API base URL, ending with `/`. */
  get url(): string {
    return this.stage.url;
  }
}
