import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HttpRoute } from '#infra/routes';
import type { RouteThrottle, ROUTE_THROTTLE_DEFAULTS } from '#infra/stage-config';

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

/**
 * The stage's default route settings: they apply only to a route without settings of its own,
 * and every route gets its own (routeThrottleKind), so this is a strict fallback.
 */
export const API_THROTTLE = { rateLimit: 1, burstLimit: 5 } as const;

/** The kinds of route that share throttle sizes (each route still has its own bucket). */
export type RouteThrottleKind = keyof typeof ROUTE_THROTTLE_DEFAULTS;

/**
 * Which throttle sizes a route gets: the DS webhooks are sized for DS, the review page's routes
 * for a committee, its assets for first loads, its catch-all 404 for nobody. A route serving
 * another function fails synth: its traffic has to be thought through first.
 */
export function routeThrottleKind(route: HttpRoute): RouteThrottleKind {
  if (route.functionName === 'receive-ds-webhook' || route.functionName === 'receive-ds-webhook-v2') return 'webhook';
  if (route.functionName === 'serve-review-page') {
    if (route.path.startsWith('/review/assets/')) return 'reviewAssets';
    if (route.path === '/review/{path+}') return 'reviewNotFound';
    return 'reviewPage';
  }
  throw new Error(`IntakeApi: ${route.method} ${route.path} has no throttle; give ${route.functionName}'s routes a kind in routeThrottleKind`);
}

/** The route key API Gateway knows a route by (and route settings are keyed by). */
export const routeKeyOf = (route: HttpRoute) => `${route.method} ${route.path}`;

export interface IntakeApiProps {
  readonly stageName: string;
  /** Throttle sizes by kind of route (stage config `routeThrottles`). */
  readonly routeThrottles: Readonly<Record<RouteThrottleKind, RouteThrottle>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The public HTTP API, with the routes of infra/routes.ts: the DS webhooks (`POST
 * /webhooks/ds/{token}`, legacy form POST; `POST /webhooks/ds-v2`, signed JSON batches) and the
 * reviewers' page (`/review/...`), each integrated with its Lambda, with JSON access logs and
 * a throttle per route. The API exists before its routes (`connect`): the review page's
 * function needs the API's URL for the links it mails.
 */
export class IntakeApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogGroup: logs.LogGroup;
  private readonly routeThrottles: IntakeApiProps['routeThrottles'];

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);
    this.routeThrottles = props.routeThrottles;

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
      // Fallback only: connect() gives every route its own throttle.
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

  /**
   * Adds `routes`, each integrated with the function of its `functionName` (one integration per
   * function) and throttled on its own: route settings keyed by route key, so a flood of junk on
   * the legacy webhook (the one route anyone can reach with a guessed URL) spends that route's
   * bucket only, never the v2 webhook's or the review page's.
   */
  connect(routes: readonly HttpRoute[], functions: Readonly<Record<string, lambda.IFunction>>): void {
    const integrations = new Map<string, HttpLambdaIntegration>();
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    const stage = this.stage.node.defaultChild as apigw.CfnStage;
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
      for (const httpRoute of created) {
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: authentication });
        // API Gateway refuses route settings for a route key it does not have yet: the stage waits for its routes.
        stage.node.addDependency(httpRoute);
      }
      const throttle = this.routeThrottles[routeThrottleKind(route)];
      routeSettings[routeKeyOf(route)] = { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit };
    }
    // RouteSettings is a JSON map in CloudFormation (CDK passes it through): CloudFormation's casing.
    stage.routeSettings = routeSettings;
  }

  /** The API base URL, ending with `/`. */
  get url(): string {
    return this.stage.url;
  }
}
