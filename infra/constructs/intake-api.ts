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
  'serve-review-page':
    'Reviewers open the page from a personal link mailed to them, in a plain browser with no account or identity provider to hold an Authorization header. The link carries a token signed with HMAC-SHA256 (Secrets Manager key) for one round and one reviewer, with an expiry; the handler checks it in constant time on every request, then that the round exists and the reviewer is active, and shows only dossiers assigned to that reviewer. Every POST also needs an anti-forgery token bound to the same link; GET never writes. The DSFR assets under /review/assets are public static files.',
};

/** Stage-wide throttling: DS sends a few requests a minute; anything far above is not DS. */
export const API_THROTTLE = { rateLimit: 20, burstLimit: 50 } as const;

export interface IntakeApiProps {
  readonly stageName: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The public HTTP API, with the routes of infra/routes.ts: the DS webhooks (`POST
 * /webhooks/ds/{token}`, legacy form POST; `POST /webhooks/ds-v2`, signed JSON batches) and the
 * reviewers' page (`/review/...`), each integrated with its Lambda, with JSON access logs and
 * default-stage throttling. The API exists before its routes (`connect`): the review page's
 * function needs the API's URL for the links it mails.
 */
export class IntakeApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `ds-selection-${props.stageName}`,
      description: 'Démarches Simplifiées webhooks (legacy and v2) and the reviewers\' page of ds-selection',
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
        // routeKey, never path or query: the legacy path holds the webhook token, the review page's query the reviewer's.
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

  }

  /** Adds `routes`, each integrated with the function of its `functionName` (one integration per function). */
  connect(routes: readonly HttpRoute[], functions: Readonly<Record<string, lambda.IFunction>>): void {
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of routes) {
      const fn = functions[route.functionName];
      const authentication = ROUTE_AUTHENTICATION[route.functionName];
      if (!fn) throw new Error(`IntakeApi: no function "${route.functionName}" for ${route.method} ${route.path}`);
      if (!authentication) {
        throw new Error(`IntakeApi: ${route.method} ${route.path} is public; say how ${route.functionName} authenticates callers in ROUTE_AUTHENTICATION`);
      }
      const integrationId = route.functionName.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase());
      if (!integrations.has(route.functionName)) integrations.set(route.functionName, new HttpLambdaIntegration(`${integrationId}Integration`, fn));
      const created = this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: integrations.get(route.functionName)!,
      });
      for (const httpRoute of created) Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: authentication });
    }
  }

  /** The API base URL, ending with `/`. */
  get url(): string {
    return this.stage.url;
  }
}
