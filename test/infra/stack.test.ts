import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RUNBOOK_PATH, RUNBOOK_SECTIONS } from '#infra/constructs/alarms';
import { routeKeyOf, routeThrottleKind, type RouteThrottleKind } from '#infra/constructs/intake-api';
import type { FunctionWithLogGroup } from '#infra/constructs/lambda-function';
import { DsSelectionStack, OUTPUTS, PROJECT_ROOT } from '#infra/ds-selection-stack';
import { INGEST_PIPELINE } from '#infra/pipeline-settings';
import { HTTP_ROUTES } from '#infra/routes';
import { DEFAULT_SCHEDULE_RETRY, SCHEDULED_FUNCTIONS, SCHEDULES } from '#infra/schedules';
import { ReconcileEnvSchema } from '#schemas/reconcile-env';
import { RoundStepEnvSchema } from '#schemas/round-step-env';
import { ReviewPageEnvSchema } from '#schemas/review-page-env';
import { parseStageConfig, RESERVED_CONCURRENCY_DEFAULTS, ROUTE_THROTTLE_DEFAULTS, type StageConfigInput } from '#infra/stage-config';

/**
 * CDK assertions and cdk-nag on the stack, built without bundling (context
 * aws:cdk:bundling-stacks = []) so the tests neither run esbuild nor need the handler files.
 * Each Template.fromStack costs seconds: the two variants are built once, lazily.
 */

type Json = Record<string, any>;

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function buildApp(stageOverrides: Partial<StageConfigInput> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'ds-selection-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stage = parseStageConfig({ name: 'test', demarcheNumbers: [98765, 98766], ...stageOverrides });
  const stack = new DsSelectionStack(app, 'DsSelection-test', { stage, env: { account: '123456789012', region: 'eu-west-3' } });
  return { app, stack };
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * Synthesizes without CDK's built-in CloudFormation validation (a WebAssembly linter: about 10 s
 * for the first synth of a process, 4 s for the next). `npm run synth` still runs it; it does not
 * fail synthesis anyway (its errors are downgraded to warnings). cdk-nag is not affected.
 */
function withoutCfnValidation<T>(run: () => T): T {
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    return run();
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}
const templateOf = (stack: Stack) => withoutCfnValidation(() => Template.fromStack(stack));

const plain = lazy(() => {
  const { stack } = buildApp({ fixedEgressIp: false });
  return { stack, template: templateOf(stack) };
});
function buildAndTemplate(stageOverrides: Partial<StageConfigInput>) {
  const { stack } = buildApp(stageOverrides);
  return { stack, template: templateOf(stack) };
}
const withEgress = lazy(() => {
  const { stack } = buildApp({ fixedEgressIp: true, alarmEmail: 'ops@example.gouv.fr' });
  return { stack, template: templateOf(stack) };
});

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every statement that applies to a role: its inline policies and the AWS::IAM::Policy resources attached to it. */
function roleStatements(template: Template, roleId: string): Json[] {
  const role = template.toJSON().Resources[roleId] as Json;
  const inline = asArray<Json>(role.Properties.Policies).flatMap((policy) => asArray<Json>(policy.PolicyDocument.Statement));
  const attached = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy: Json) => asArray<Json>(policy.Properties.Roles).some((ref) => ref.Ref === roleId))
    .flatMap((policy: Json) => asArray<Json>(policy.Properties.PolicyDocument.Statement));
  return [...inline, ...attached];
}

const actionsOf = (statements: Json[]) => statements.flatMap((s) => asArray<string>(s.Action));

function functionRoleId(template: Template, functionId: string): string {
  const fn = template.toJSON().Resources[functionId] as Json;
  return fn.Properties.Role['Fn::GetAtt'][0] as string;
}

describe('DsSelectionStack', () => {
  describe('Lambda functions', () => {
    it('are eight, on Node 22 or 24, arm64, JSON logs into a log group with retention', () => {
      const { template } = plain();
      const functions = template.findResources('AWS::Lambda::Function');
      expect(Object.keys(functions)).toHaveLength(8);
      const logGroups = template.findResources('AWS::Logs::LogGroup');
      for (const fn of Object.values(functions) as Json[]) {
        expect(fn.Properties.Runtime).toMatch(/^nodejs(22|24)\.x$/);
        expect(fn.Properties.Architectures).toEqual(['arm64']);
        expect(fn.Properties.LoggingConfig.LogFormat).toBe('JSON');
        const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
        expect(logGroups[logGroupId]?.Properties.RetentionInDays).toBeGreaterThan(0);
        expect(fn.Properties.Environment.Variables).toMatchObject({
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'ds-selection',
          POWERTOOLS_LOG_LEVEL: 'INFO',
        });
      }
    });

    it('every log group has a retention', () => {
      const { template } = withEgress();
      const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Json[];
      expect(logGroups.length).toBeGreaterThanOrEqual(8); // 6 functions, API access logs, flow logs
      for (const group of logGroups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    });

    it('get the environment their zod schemas (schemas/env.ts) require', () => {
      const { stack, template } = plain();
      const env = (fn: { node: { defaultChild?: unknown } }) =>
        (template.toJSON().Resources[logicalId(stack, fn)] as Json).Properties.Environment.Variables as Json;
      expect(Object.keys(env(stack.functions.receiveDsWebhook.function))).toEqual(
        expect.arrayContaining(['DS_DEMARCHE_NUMBER', 'INGEST_QUEUE_URL', 'WEBHOOK_TOKEN_SECRET_ARN']),
      );
      expect(env(stack.functions.receiveDsWebhook.function).DS_DEMARCHE_NUMBER).toBe('98765,98766');
      expect(Object.keys(env(stack.functions.receiveDsWebhookV2.function))).toEqual(
        expect.arrayContaining(['DS_DEMARCHE_NUMBER', 'INGEST_QUEUE_URL', 'TABLE_NAME', 'DS_WEBHOOK_V2_SECRET_SECRET_ARN']),
      );
      expect(Object.keys(env(stack.functions.ingestDossier.function))).toEqual(
        expect.arrayContaining(['DS_API_URL', 'TABLE_NAME', 'BUCKET_NAME', 'DS_API_TOKEN_SECRET_ARN', 'DS_API_TIMEOUT_SECONDS', 'DS_API_REQUESTS_PER_MINUTE']),
      );
      // Each of the 5 concurrent instances paces itself with its share of the 380 a minute: 5 x 76 <= 380, under DS's 400.
      expect(INGEST_PIPELINE.maxConcurrency).toBe(5);
      expect(env(stack.functions.ingestDossier.function).DS_API_REQUESTS_PER_MINUTE).toBe('76');
      // reconcile-dossiers: its schema parses what the stack sets (CloudFormation references stand in as placeholders).
      const reconcileEnv = env(stack.functions.reconcileDossiers.function);
      const placeholders = Object.fromEntries(Object.entries(reconcileEnv).map(([name, value]) => [name,
        typeof value === 'string' ? value
          : name.endsWith('_URL') ? 'https://sqs.eu-west-3.amazonaws.com/123456789012/queue'
            : name.endsWith('_ARN') ? 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:x' : 'resolved-at-deploy']));
      const parsed = ReconcileEnvSchema.safeParse(placeholders);
      expect(parsed.error?.issues).toBeUndefined();
      expect(parsed.data).toMatchObject({ DS_DEMARCHE_NUMBER: [98765, 98766], DS_API_TOKEN_SECRET_ARN: expect.stringMatching(/^arn:/) });
      expect(reconcileEnv).not.toHaveProperty('DS_API_TOKEN');

      // run-round-step too; its links point to the API, it sends as the configured sender through the configuration set.
      const roundEnv = env(stack.functions.runRoundStep.function);
      const roundParsed = RoundStepEnvSchema.safeParse(Object.fromEntries(Object.entries(roundEnv).map(([name, value]) => [name,
        typeof value === 'string' ? value
          : name.endsWith('_URL') ? 'https://abc123.execute-api.eu-west-3.amazonaws.com/'
            : name.endsWith('_ARN') ? 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:x' : 'resolved-at-deploy'])));
      expect(roundParsed.error?.issues).toBeUndefined();
      expect(roundEnv).toMatchObject({
        MAIL_FROM: 'eig-selection@example.gouv.fr',
        SES_CONFIGURATION_SET: { Ref: logicalId(stack, stack.mail.configurationSet) },
        REVIEW_LINK_SECRET_SECRET_ARN: { Ref: logicalId(stack, stack.secrets.reviewLinkSecret) },
      });
      expect(JSON.stringify(roundEnv.REVIEW_PAGE_URL)).toContain(logicalId(stack, stack.api.api));
      expect(roundEnv).not.toHaveProperty('REVIEW_LINK_SECRET');

      // serve-review-page: the same link key and sender; its REVIEW_PAGE_URL is the API's, as run-round-step's.
      const pageEnv = env(stack.functions.serveReviewPage.function);
      const pageParsed = ReviewPageEnvSchema.safeParse(Object.fromEntries(Object.entries(pageEnv).map(([name, value]) => [name,
        typeof value === 'string' ? value
          : name.endsWith('_URL') ? 'https://abc123.execute-api.eu-west-3.amazonaws.com/'
            : name.endsWith('_ARN') ? 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:x' : 'resolved-at-deploy'])));
      expect(pageParsed.error?.issues).toBeUndefined();
      expect(pageEnv).toMatchObject({
        TABLE_NAME: { Ref: logicalId(stack, stack.storage.table) },
        BUCKET_NAME: { Ref: logicalId(stack, stack.storage.bucket) },
        MAIL_FROM: 'eig-selection@example.gouv.fr',
        SES_CONFIGURATION_SET: { Ref: logicalId(stack, stack.mail.configurationSet) },
        REVIEW_LINK_SECRET_SECRET_ARN: { Ref: logicalId(stack, stack.secrets.reviewLinkSecret) },
      });
      expect(pageEnv.REVIEW_PAGE_URL).toEqual(roundEnv.REVIEW_PAGE_URL);
      expect(pageEnv).not.toHaveProperty('REVIEW_LINK_SECRET');
    });

    it('reconcile-dossiers: timeout and memory from infra/schedules.ts, failed runs into the schedules\' DLQ', () => {
      const { stack, template } = plain();
      const fn = (template.toJSON().Resources[logicalId(stack, stack.functions.reconcileDossiers.function)] as Json).Properties;
      const settings = SCHEDULED_FUNCTIONS['reconcile-dossiers']!;
      expect(fn).toMatchObject({ Timeout: settings.timeoutSeconds, MemorySize: settings.memoryMb });
      expect(fn.DeadLetterConfig.TargetArn).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.schedules.deadLetterQueue), 'Arn'] });
    });

    it('run-round-step: timeout and memory from infra/schedules.ts, failed runs into the schedules\' DLQ, never in the VPC (it does not call DS)', () => {
      for (const { stack, template } of [plain(), withEgress()]) {
        const fn = (template.toJSON().Resources[logicalId(stack, stack.functions.runRoundStep.function)] as Json).Properties;
        const settings = SCHEDULED_FUNCTIONS['run-round-step']!;
        expect(fn).toMatchObject({ Timeout: settings.timeoutSeconds, MemorySize: settings.memoryMb });
        expect(fn.DeadLetterConfig.TargetArn).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.schedules.deadLetterQueue), 'Arn'] });
        expect(fn.VpcConfig).toBeUndefined();
      }
    });
  });

  describe('ingest queue', () => {
    it('redrives to a DLQ after 5 receives, with a visibility timeout >= 6 x the consumer timeout', () => {
      const { template } = plain();
      const resources = template.toJSON().Resources as Record<string, Json>;
      const [mapping, ...others] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Json[];
      expect(others).toHaveLength(0);
      const queueId = mapping!.Properties.EventSourceArn['Fn::GetAtt'][0] as string;
      const consumer = resources[mapping!.Properties.FunctionName.Ref as string]!;
      const queue = resources[queueId]!;
      expect(queue.Type).toBe('AWS::SQS::Queue');
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
      const dlq = resources[queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0] as string]!;
      expect(dlq.Type).toBe('AWS::SQS::Queue');
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (consumer.Properties.Timeout as number));
      for (const q of [queue, dlq]) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    });

    it('is consumed with partial batch failures, small batches and capped concurrency', () => {
      plain().template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: INGEST_PIPELINE.batchSize,
        MaximumBatchingWindowInSeconds: INGEST_PIPELINE.maxBatchingWindowSeconds,
        ScalingConfig: { MaximumConcurrency: INGEST_PIPELINE.maxConcurrency },
      });
      expect(INGEST_PIPELINE.batchSize * INGEST_PIPELINE.maxConcurrency).toBeLessThanOrEqual(25);
    });

    it('denies non-TLS access to every queue (ingest, its DLQ, the schedules\' DLQ)', () => {
      const policies = Object.values(plain().template.findResources('AWS::SQS::QueuePolicy')) as Json[];
      expect(policies).toHaveLength(3);
      for (const policy of policies) {
        expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        );
      }
    });

    it('alarms as soon as the DLQ holds a message', () => {
      const { template } = plain();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: Match.anyValue() }],
      });
    });
  });

  describe('storage', () => {
    it('table: on demand, PITR, SSE, TTL on expiresAt, two GSIs', () => {
      plain().template.hasResourceProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'gsi1' }), Match.objectLike({ IndexName: 'gsi2' })],
      });
    });

    it('buckets: all public access blocked, encrypted, SSL-only; the data bucket versioned and logged', () => {
      const { template } = plain();
      const buckets = template.findResources('AWS::S3::Bucket') as Record<string, Json>;
      expect(Object.keys(buckets)).toHaveLength(2);
      for (const bucket of Object.values(buckets)) {
        expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toHaveLength(1);
      }
      const data = Object.values(buckets).find((bucket) => bucket.Properties.VersioningConfiguration);
      expect(data?.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(data?.Properties.LoggingConfiguration.DestinationBucketName.Ref).toMatch(/AccessLogsBucket/);
      expect(data?.Properties.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({ NoncurrentVersionExpiration: expect.objectContaining({ NoncurrentDays: 90 }) }),
      );

      const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')) as Json[];
      for (const bucketId of Object.keys(buckets)) {
        const policy = policies.find((p) => p.Properties.Bucket.Ref === bucketId);
        expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        );
      }
    });
  });

  describe('least privilege', () => {
    it('receive-ds-webhook may only send to the queue, read its secret and write its logs', () => {
      const { stack, template } = plain();
      const roleId = functionRoleId(template, logicalId(stack, stack.functions.receiveDsWebhook.function));
      const actions = actionsOf(roleStatements(template, roleId));
      expect(actions.filter((a) => /^(dynamodb|s3):/.test(a))).toEqual([]);
      expect(new Set(actions)).toEqual(new Set(['sqs:SendMessage', 'secretsmanager:GetSecretValue', 'logs:CreateLogStream', 'logs:PutLogEvents']));
      expect((template.toJSON().Resources[roleId] as Json).Properties.ManagedPolicyArns).toBeUndefined();
    });

    it('receive-ds-webhook-v2 touches DynamoDB only on WEBHOOK# items, and no S3', () => {
      const { stack, template } = plain();
      const roleId = functionRoleId(template, logicalId(stack, stack.functions.receiveDsWebhookV2.function));
      const statements = roleStatements(template, roleId);
      const dynamo = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toHaveLength(1);
      expect(new Set(asArray(dynamo[0]!.Action))).toEqual(
        new Set(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem']),
      );
      expect(dynamo[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WEBHOOK#*'] } });
      expect(actionsOf(statements).filter((a) => a.startsWith('s3:'))).toEqual([]);
    });

    it('ingest-dossier: only its DOSSIER# items (and FILE# under them), GetItem on ROUND# items, PutObject under attachments/ and dossiers/, its own secret', () => {
      const { stack, template } = plain();
      const roleId = functionRoleId(template, logicalId(stack, stack.functions.ingestDossier.function));
      const statements = roleStatements(template, roleId);
      const tableArn = { 'Fn::GetAtt': [logicalId(stack, stack.storage.table), 'Arn'] };
      const bucketArn = { 'Fn::GetAtt': [logicalId(stack, stack.storage.bucket), 'Arn'] };
      const dynamo = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toEqual([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DOSSIER#*'] } },
        }),
        expect.objectContaining({
          Action: 'dynamodb:GetItem',
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ROUND#*'] } },
        }),
      ]);
      // No index, no batch, no delete, no stream, no Scan.
      expect(JSON.stringify(dynamo)).not.toContain('/index/');
      const s3 = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([expect.objectContaining({
        Action: 's3:PutObject',
        Resource: [
          { 'Fn::Join': ['', [bucketArn, '/attachments/*']] },
          { 'Fn::Join': ['', [bucketArn, '/dossiers/*']] },
        ],
      })]);
      const actions = actionsOf(statements);
      expect(actions.filter((a) => a.endsWith('*'))).toEqual([]);
      expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'secretsmanager:GetSecretValue']));
    });

    it('reconcile-dossiers: DynamoDB only on SYNC# items and the status index, sends to the ingest queue, no S3', () => {
      const { stack, template } = plain();
      const roleId = functionRoleId(template, logicalId(stack, stack.functions.reconcileDossiers.function));
      const statements = roleStatements(template, roleId);
      const tableId = logicalId(stack, stack.storage.table);
      const dynamo = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toEqual([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SYNC#*'] } },
        }),
        expect.objectContaining({
          Action: 'dynamodb:Query',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, '/index/gsi2']] },
        }),
      ]);
      expect(dynamo[1]).not.toHaveProperty('Condition');
      const actions = actionsOf(statements);
      expect(actions.filter((a) => a.startsWith('s3:') || a.endsWith('*'))).toEqual([]);
      const sends = statements.filter((s) => asArray<string>(s.Action).includes('sqs:SendMessage')).map((s) => s.Resource['Fn::GetAtt'][0]);
      expect(sends.sort()).toEqual([logicalId(stack, stack.pipeline.queue), logicalId(stack, stack.schedules.deadLetterQueue)].sort());
      expect(new Set(actions)).toEqual(new Set([
        'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage', 'secretsmanager:GetSecretValue',
        'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query',
      ]));
    });

    it('run-round-step: its ROUND# items, read-only queries on the two named indexes, reports/* only, SES as the sender only, no DS queue', () => {
      const { stack, template } = plain();
      const roleId = functionRoleId(template, logicalId(stack, stack.functions.runRoundStep.function));
      const statements = roleStatements(template, roleId);
      const tableId = logicalId(stack, stack.storage.table);
      const bucketId = logicalId(stack, stack.storage.bucket);
      const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };

      const dynamo = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toEqual([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'],
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ROUND#*'] } },
        }),
        expect.objectContaining({
          Action: 'dynamodb:Query',
          Resource: [
            { 'Fn::Join': ['', [tableArn, '/index/gsi1']] },
            { 'Fn::Join': ['', [tableArn, '/index/gsi2']] },
          ],
        }),
      ]);

      const s3 = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([expect.objectContaining({ Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/reports/*']] } })]);

      const ses = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('ses:')));
      expect(ses).toHaveLength(1);
      expect(ses[0]!.Action).toBe('ses:SendEmail');
      const sesResources = asArray<Json>(ses[0]!.Resource).map((r) => JSON.stringify(r));
      expect(sesResources).toHaveLength(3);
      expect(sesResources.filter((r) => r.includes(':identity/'))).toEqual([
        expect.stringContaining(':identity/eig-selection@example.gouv.fr'),
        expect.stringContaining(':identity/example.gouv.fr'),
      ]);
      expect(sesResources.filter((r) => r.includes(':configuration-set/'))).toEqual([
        expect.stringContaining(logicalId(stack, stack.mail.configurationSet)),
      ]);

      // SQS: only what Lambda needs to put a failed asynchronous run in the schedules' DLQ.
      const sqs = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('sqs:')));
      expect(actionsOf(sqs)).toEqual(['sqs:SendMessage']);
      expect(sqs[0]!.Resource).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.schedules.deadLetterQueue), 'Arn'] });

      const actions = actionsOf(statements);
      expect(actions.filter((a) => a.endsWith('*'))).toEqual([]);
      expect(new Set(actions)).toEqual(new Set([
        'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage', 'secretsmanager:GetSecretValue', 's3:PutObject', 'ses:SendEmail',
        'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query',
      ]));
      expect((template.toJSON().Resources[roleId] as Json).Properties.ManagedPolicyArns).toBeUndefined();
    });

    it('serve-review-page: its ROUND# items, reviewers and dossiers read-only, the two named indexes, GetObject on attachments/* only, SES as the sender only', () => {
      const { stack, template } = plain();
      const roleId = functionRoleId(template, logicalId(stack, stack.functions.serveReviewPage.function));
      const statements = roleStatements(template, roleId);
      const tableArn = { 'Fn::GetAtt': [logicalId(stack, stack.storage.table), 'Arn'] };
      const bucketId = logicalId(stack, stack.storage.bucket);

      const dynamo = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toEqual([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'],
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ROUND#*'] } },
        }),
        expect.objectContaining({
          Action: 'dynamodb:GetItem',
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REVIEWER#*', 'DOSSIER#*'] } },
        }),
        expect.objectContaining({
          Action: 'dynamodb:BatchGetItem',
          Resource: tableArn,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ROUND#*', 'REVIEWER#*', 'DOSSIER#*'] } },
        }),
        expect.objectContaining({
          Action: 'dynamodb:Query',
          Resource: [
            { 'Fn::Join': ['', [tableArn, '/index/gsi1']] },
            { 'Fn::Join': ['', [tableArn, '/index/gsi2']] },
          ],
        }),
      ]);
      expect(dynamo[3]).not.toHaveProperty('Condition');

      const s3 = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([expect.objectContaining({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/attachments/*']] } })]);

      const ses = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('ses:')));
      expect(ses).toHaveLength(1);
      expect(ses[0]!.Action).toBe('ses:SendEmail');
      const sesResources = asArray<Json>(ses[0]!.Resource).map((r) => JSON.stringify(r));
      expect(sesResources.filter((r) => r.includes(':identity/'))).toEqual([
        expect.stringContaining(':identity/eig-selection@example.gouv.fr'),
        expect.stringContaining(':identity/example.gouv.fr'),
      ]);
      expect(sesResources.filter((r) => r.includes(':configuration-set/'))).toEqual([expect.stringContaining(logicalId(stack, stack.mail.configurationSet))]);
      expect(sesResources).toHaveLength(3);

      const actions = actionsOf(statements);
      expect(actions.filter((a) => a.endsWith('*') || a.startsWith('sqs:'))).toEqual([]);
      expect(new Set(actions)).toEqual(new Set([
        'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 's3:GetObject', 'ses:SendEmail',
        'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query',
      ]));
      expect((template.toJSON().Resources[roleId] as Json).Properties.ManagedPolicyArns).toBeUndefined();
      // Not in the VPC (it does not call DS), with or without the fixed egress IP.
      for (const variant of [plain(), withEgress()]) {
        const fn = variant.template.toJSON().Resources[logicalId(variant.stack, variant.stack.functions.serveReviewPage.function)] as Json;
        expect(fn.Properties.VpcConfig).toBeUndefined();
      }
    });

    it('each function reads only its own secret', () => {
      const { stack, template } = plain();
      const expected = new Map([
        [stack.functions.receiveDsWebhook, stack.secrets.webhookToken],
        [stack.functions.receiveDsWebhookV2, stack.secrets.dsWebhookV2Secret],
        [stack.functions.ingestDossier, stack.secrets.dsApiToken],
        [stack.functions.reconcileDossiers, stack.secrets.dsApiToken],
        [stack.functions.runRoundStep, stack.secrets.reviewLinkSecret],
        [stack.functions.serveReviewPage, stack.secrets.reviewLinkSecret],
      ]);
      for (const [fn, secret] of expected) {
        const statements = roleStatements(template, functionRoleId(template, logicalId(stack, fn.function)));
        const secretResources = statements
          .filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')))
          .flatMap((s) => asArray(s.Resource));
        expect(secretResources).toEqual([{ Ref: logicalId(stack, secret) }]);
      }
    });
  });

  describe('HTTP API', () => {
    it('has the two webhook routes and the review page\'s, one Lambda integration per function', () => {
      const { stack, template } = plain();
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as Json[];
      const routeKeys = routes.map((r) => r.Properties.RouteKey as string);
      expect(routeKeys.sort()).toEqual([
        'GET /review/assets/{path+}',
        'GET /review/{path+}',
        'GET /review/{round}',
        'GET /review/{round}/dossiers/{number}',
        'GET /review/{round}/dossiers/{number}/attachments/{index}',
        'POST /review/{round}/dossiers/{number}',
        'POST /webhooks/ds-v2',
        'POST /webhooks/ds/{token}',
      ]);
      expect(routeKeys.sort()).toEqual(HTTP_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
      template.resourceCountIs('AWS::ApiGatewayV2::Integration', 3);
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      // Every /review route goes to serve-review-page, and only those.
      const integrations = template.findResources('AWS::ApiGatewayV2::Integration') as Record<string, Json>;
      const pageArn = { 'Fn::GetAtt': [logicalId(stack, stack.functions.serveReviewPage.function), 'Arn'] };
      for (const route of routes) {
        const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
        const uri = integrations[integrationId.Ref]!.Properties.IntegrationUri;
        expect(JSON.stringify(uri) === JSON.stringify(pageArn), route.Properties.RouteKey).toBe((route.Properties.RouteKey as string).includes(' /review/'));
      }
    });

    it('default stage: auto-deployed, throttled, JSON access logs without the path (it holds the token)', () => {
      const { template } = plain();
      const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage')) as Json[];
      expect(stage!.Properties).toMatchObject({
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: expect.any(Number), ThrottlingBurstLimit: expect.any(Number) },
      });
      const format = stage!.Properties.AccessLogSettings.Format as string;
      expect(JSON.parse(format)).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey' });
      expect(format).not.toContain('$context.path');
    });
  });

  describe('secrets', () => {
    it('four secrets; the webhook token and the review link key are generated by CloudFormation', () => {
      const { stack, template } = plain();
      template.resourceCountIs('AWS::SecretsManager::Secret', 4);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ PasswordLength: 48, ExcludePunctuation: true }),
      });
      const reviewLink = (template.toJSON().Resources[logicalId(stack, stack.secrets.reviewLinkSecret)] as Json).Properties;
      expect(reviewLink.GenerateSecretString).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
      expect(template.toJSON().Outputs.ReviewLinkSecretArn.Value).toEqual({ Ref: logicalId(stack, stack.secrets.reviewLinkSecret) });
    });
  });

  describe('mail', () => {
    it('an SES configuration set that suppresses bounces and complaints, with reputation metrics and TLS required', () => {
      const { template } = plain();
      template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
      template.hasResourceProperties('AWS::SES::ConfigurationSet', {
        SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
        ReputationOptions: { ReputationMetricsEnabled: true },
        DeliveryOptions: { TlsPolicy: 'REQUIRE' },
      });
    });

    it('the stage may name its own sender and SES identity; one that does not cover the sender stops synth', () => {
      expect(() => buildApp({ mailFrom: 'selection@eig.example.gouv.fr', mailFromIdentity: 'example.gouv.fr' })).not.toThrow();
      expect(() => buildApp({ mailFromIdentity: 'other.gouv.fr' })).toThrow(/mailFromIdentity "other.gouv.fr" does not cover the sender eig-selection@example.gouv.fr/);
    });
  });

  describe('outputs', () => {
    it('have stable names and no exports', () => {
      const outputs = plain().template.toJSON().Outputs as Record<string, Json>;
      expect(Object.keys(outputs).sort()).toEqual(OUTPUTS.filter((name) => name !== 'EgressIp').sort());
      for (const output of Object.values(outputs)) expect(output.Export).toBeUndefined();
      const legacy = JSON.stringify(outputs.LegacyWebhookUrlTemplate!.Value);
      expect(legacy).toContain('webhooks/ds/{token}');
      expect(outputs.DemarcheNumbers!.Value).toBe('98765,98766');
    });
  });

  describe('fixed egress IP', () => {
    it('when on: one NAT gateway with a stack-allocated EIP, flow logs, and only the functions calling DS in the VPC', () => {
      const { stack, template } = withEgress();
      template.resourceCountIs('AWS::EC2::NatGateway', 1);
      template.resourceCountIs('AWS::EC2::EIP', 1);
      template.resourceCountIs('AWS::EC2::FlowLog', 1);
      const eipId = stack.getLogicalId(stack.egress!.eip);
      template.hasResourceProperties('AWS::EC2::NatGateway', { AllocationId: { 'Fn::GetAtt': [eipId, 'AllocationId'] } });
      const resources = template.toJSON().Resources as Record<string, Json>;
      const vpcConfig = (fn: { node: { defaultChild?: unknown } }) => resources[logicalId(stack, fn)]!.Properties.VpcConfig;
      expect(vpcConfig(stack.functions.ingestDossier.function)?.SubnetIds).toHaveLength(2);
      expect(vpcConfig(stack.functions.reconcileDossiers.function)?.SubnetIds).toHaveLength(2);
      expect(vpcConfig(stack.functions.receiveDsWebhook.function)).toBeUndefined();
      expect(vpcConfig(stack.functions.receiveDsWebhookV2.function)).toBeUndefined();
      expect(vpcConfig(stack.functions.serveReviewPage.function)).toBeUndefined();
      expect(template.toJSON().Outputs.EgressIp.Value).toEqual({ 'Fn::GetAtt': [eipId, 'PublicIp'] });
    });

    it('when off: no VPC, NAT, EIP or VpcConfig', () => {
      const { template } = plain();
      for (const type of ['AWS::EC2::VPC', 'AWS::EC2::NatGateway', 'AWS::EC2::EIP']) template.resourceCountIs(type, 0);
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as Json[]) {
        expect(fn.Properties.VpcConfig).toBeUndefined();
      }
      expect(template.toJSON().Outputs.EgressIp).toBeUndefined();
    });
  });

  describe('schedules', () => {
    it('one EventBridge Scheduler schedule per SCHEDULES entry: expression, time zone and description from there, no flexible window', () => {
      const { stack, template } = plain();
      const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as Json[];
      expect(schedules).toHaveLength(SCHEDULES.length);
      const group = template.toJSON().Resources[logicalId(stack, stack.schedules.group)] as Json;
      expect(group.Type).toBe('AWS::Scheduler::ScheduleGroup');
      for (const definition of SCHEDULES) {
        const schedule = schedules.find((s) => s.Properties.Description === definition.description);
        expect(schedule?.Properties, definition.name).toMatchObject({
          ScheduleExpression: definition.expression,
          ScheduleExpressionTimezone: definition.timeZone,
          FlexibleTimeWindow: { Mode: 'OFF' },
          State: 'ENABLED',
        });
        expect(schedule!.Properties.ScheduleExpressionTimezone).toBe('Europe/Paris');
        expect(schedule!.Properties.GroupName).toBe(group.Properties.Name);
      }
      const reconcile = schedules.find((s) => s.Properties.ScheduleExpression === 'rate(10 minutes)')!;
      expect(reconcile.Properties.Target).toMatchObject({
        Arn: { 'Fn::GetAtt': [logicalId(stack, stack.functions.reconcileDossiers.function), 'Arn'] },
        Input: '{}',
        RetryPolicy: { MaximumRetryAttempts: DEFAULT_SCHEDULE_RETRY.maxAttempts, MaximumEventAgeInSeconds: DEFAULT_SCHEDULE_RETRY.maxEventAgeSeconds },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack, stack.schedules.deadLetterQueue), 'Arn'] } },
      });
    });

    it('the four round steps: run-round-step with {"step": ...}, Europe/Paris crons outside 02:00-03:00, retried for an hour', () => {
      const { stack, template } = plain();
      const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as Json[];
      const roundFn = { 'Fn::GetAtt': [logicalId(stack, stack.functions.runRoundStep.function), 'Arn'] };
      const rounds = schedules.filter((s) => JSON.stringify(s.Properties.Target.Arn) === JSON.stringify(roundFn));
      expect(rounds.map((s) => [s.Properties.ScheduleExpression, JSON.parse(s.Properties.Target.Input as string)]).sort()).toEqual([
        ['cron(0 8 1 1,3,5,7,9,11 ? *)', { step: 'close-submissions' }],
        ['cron(0 9 1 1,3,5,7,9,11 ? *)', { step: 'open' }],
        ['cron(0 9 14 1,3,5,7,9,11 ? *)', { step: 'remind' }],
        ['cron(0 9 22 1,3,5,7,9,11 ? *)', { step: 'close-selection' }],
      ]);
      for (const schedule of rounds) {
        expect(schedule.Properties).toMatchObject({ ScheduleExpressionTimezone: 'Europe/Paris', FlexibleTimeWindow: { Mode: 'OFF' }, State: 'ENABLED' });
        expect(schedule.Properties.Target).toMatchObject({
          RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack, stack.schedules.deadLetterQueue), 'Arn'] } },
        });
        // One invoker role for the four, allowed to invoke run-round-step only.
        expect(schedule.Properties.Target.RoleArn).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.schedules.roles['run-round-step']!), 'Arn'] });
      }
      const roundRole = roleStatements(template, logicalId(stack, stack.schedules.roles['run-round-step']!));
      expect(roundRole.filter((s) => s.Action === 'lambda:InvokeFunction').map((s) => s.Resource)).toEqual([roundFn]);
    });

    it('the scheduler role may only invoke the reconcile function (and report to its DLQ), assumed by the Scheduler for this group only', () => {
      const { stack, template } = plain();
      const schedule = (Object.values(template.findResources('AWS::Scheduler::Schedule')) as Json[])
        .find((s) => s.Properties.ScheduleExpression === 'rate(10 minutes)')!;
      const roleId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
      const role = (template.toJSON().Resources[roleId] as Json).Properties;
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([{
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012', 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(stack, stack.schedules.group), 'Arn'] } } },
      }]);
      expect(role.ManagedPolicyArns).toBeUndefined();
      const statements = roleStatements(template, roleId).map(({ Sid: _sid, ...statement }) => statement);
      expect(statements).toEqual([
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [logicalId(stack, stack.functions.reconcileDossiers.function), 'Arn'] } },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [logicalId(stack, stack.schedules.deadLetterQueue), 'Arn'] } },
      ]);
      // No other role may be passed to the Scheduler, and no other role invokes a function: one invoker role per scheduled function.
      const invokers = Object.entries(template.findResources('AWS::IAM::Policy') as Record<string, Json>)
        .filter(([, policy]) => asArray<Json>(policy.Properties.PolicyDocument.Statement).some((s) => asArray<string>(s.Action).some((a) => a.startsWith('lambda:Invoke'))));
      expect(invokers.map(([, policy]) => asArray<Json>(policy.Properties.Roles).map((r) => r.Ref as string)).sort()).toEqual(
        [[roleId], [logicalId(stack, stack.schedules.roles['run-round-step']!)], [logicalId(stack, stack.schedules.roles['purge-expired-data']!)]].sort(),
      );
    });

    it('the schedules\' dead-letter queue is encrypted, kept 14 days, and alarms as soon as it holds a message', () => {
      const { stack, template } = plain();
      const dlqId = logicalId(stack, stack.schedules.deadLetterQueue);
      expect((template.toJSON().Resources[dlqId] as Json).Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Threshold: 1,
        AlarmActions: [{ Ref: Match.anyValue() }],
      });
    });
  });

  describe('every grant, pinned (any widening fails here)', () => {
    /** A statement as compared: no Sid, actions sorted, resources as a list. */
    const normalize = (statement: Json) => {
      const { Sid: _sid, Effect, Action, Resource, Condition, ...rest } = statement;
      expect(Effect).toBe('Allow');
      expect(rest).toEqual({}); // no NotAction, NotResource, Principal
      return { Action: asArray<string>(Action).slice().sort(), Resource: asArray<Json>(Resource), ...(Condition ? { Condition } : {}) };
    };
    const sorted = (statements: Json[]) => statements.map((s) => JSON.stringify(s)).sort();

    it('each function role may do exactly what its row says, and nothing else', () => {
      const { stack, template } = plain();
      const id = (construct: { node: { defaultChild?: unknown } }) => logicalId(stack, construct);
      const arn = (construct: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [id(construct), 'Arn'] });
      const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: id(construct) });
      const table = arn(stack.storage.table);
      const objects = (prefix: string) => ({ 'Fn::Join': ['', [arn(stack.storage.bucket), `/${prefix}*`]] });
      const index = (name: string) => ({ 'Fn::Join': ['', [table, `/index/${name}`]] });
      const items = (...patterns: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': patterns } });
      const ses = (resource: string | unknown[]) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...asArray(resource)]] });
      const sender = [
        ses(':ses:eu-west-3:123456789012:identity/eig-selection@example.gouv.fr'),
        ses(':ses:eu-west-3:123456789012:identity/example.gouv.fr'),
        ses([':ses:eu-west-3:123456789012:configuration-set/', ref(stack.mail.configurationSet)]),
      ];
      const logs = (fn: { logGroup: { node: { defaultChild?: unknown } } }) => ({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [arn(fn.logGroup)] });
      const f = stack.functions;
      const queue = arn(stack.pipeline.queue);
      const scheduleDlq = arn(stack.schedules.deadLetterQueue);

      const grants: Array<[FunctionWithLogGroup, Json[]]> = [
        [f.receiveDsWebhook, [
          logs(f.receiveDsWebhook),
          { Action: ['sqs:SendMessage'], Resource: [queue] },
          { Action: ['secretsmanager:GetSecretValue'], Resource: [ref(stack.secrets.webhookToken)] },
        ]],
        [f.receiveDsWebhookV2, [
          logs(f.receiveDsWebhookV2),
          { Action: ['sqs:SendMessage'], Resource: [queue] },
          { Action: ['secretsmanager:GetSecretValue'], Resource: [ref(stack.secrets.dsWebhookV2Secret)] },
          { Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], Resource: [table], Condition: items('WEBHOOK#*') },
        ]],
        [f.ingestDossier, [
          logs(f.ingestDossier),
          { Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: [table], Condition: items('DOSSIER#*') },
          { Action: ['dynamodb:GetItem'], Resource: [table], Condition: items('ROUND#*') },
          { Action: ['s3:PutObject'], Resource: [objects('attachments/'), objects('dossiers/')] },
          { Action: ['secretsmanager:GetSecretValue'], Resource: [ref(stack.secrets.dsApiToken)] },
          // The SQS event source's consumer grant.
          { Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Resource: [queue] },
        ]],
        [f.reconcileDossiers, [
          logs(f.reconcileDossiers),
          { Action: ['sqs:SendMessage'], Resource: [scheduleDlq] },
          { Action: ['sqs:SendMessage'], Resource: [queue] },
          { Action: ['secretsmanager:GetSecretValue'], Resource: [ref(stack.secrets.dsApiToken)] },
          { Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: [table], Condition: items('SYNC#*') },
          { Action: ['dynamodb:Query'], Resource: [index('gsi2')] },
        ]],
        [f.runRoundStep, [
          logs(f.runRoundStep),
          { Action: ['sqs:SendMessage'], Resource: [scheduleDlq] },
          { Action: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], Resource: [table], Condition: items('ROUND#*') },
          { Action: ['dynamodb:Query'], Resource: [index('gsi1'), index('gsi2')] },
          { Action: ['s3:PutObject'], Resource: [objects('reports/')] },
          { Action: ['ses:SendEmail'], Resource: sender },
          { Action: ['secretsmanager:GetSecretValue'], Resource: [ref(stack.secrets.reviewLinkSecret)] },
        ]],
        [f.serveReviewPage, [
          logs(f.serveReviewPage),
          { Action: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], Resource: [table], Condition: items('ROUND#*') },
          { Action: ['dynamodb:GetItem'], Resource: [table], Condition: items('REVIEWER#*', 'DOSSIER#*') },
          { Action: ['dynamodb:BatchGetItem'], Resource: [table], Condition: items('ROUND#*', 'REVIEWER#*', 'DOSSIER#*') },
          { Action: ['dynamodb:Query'], Resource: [index('gsi1'), index('gsi2')] },
          { Action: ['s3:GetObject'], Resource: [objects('attachments/')] },
          { Action: ['ses:SendEmail'], Resource: sender },
          { Action: ['secretsmanager:GetSecretValue'], Resource: [ref(stack.secrets.reviewLinkSecret)] },
        ]],
        [f.purgeExpiredData, [
          logs(f.purgeExpiredData),
          { Action: ['sqs:SendMessage'], Resource: [scheduleDlq] },
          { Action: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: [table], Condition: items('DOSSIER#*', 'ROUND#*') },
          { Action: ['dynamodb:Query'], Resource: [index('gsi1'), index('gsi2')] },
          { Action: ['s3:ListBucketVersions'], Resource: [arn(stack.storage.bucket)], Condition: { StringLike: { 's3:prefix': ['attachments/*', 'dossiers/*', 'reports/*'] } } },
          { Action: ['s3:DeleteObjectVersion'], Resource: [objects('attachments/'), objects('dossiers/'), objects('reports/')] },
        ]],
        [f.handleMailEvents, [
          logs(f.handleMailEvents),
          { Action: ['sqs:SendMessage'], Resource: [scheduleDlq] },
          { Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: [table], Condition: items('REVIEWER#*') },
          { Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: [table], Condition: items('ROUND#*') },
          { Action: ['dynamodb:Query'], Resource: [index('gsi2')] },
          { Action: ['ses:SendEmail'], Resource: sender },
        ]],
      ];
      expect(grants).toHaveLength(Object.keys(stack.functions).length);
      for (const [fn, expected] of grants) {
        const roleId = functionRoleId(template, id(fn.function));
        const role = (template.toJSON().Resources[roleId] as Json).Properties;
        expect(role.ManagedPolicyArns, fn.node.path).toBeUndefined();
        expect(role.Policies, fn.node.path).toBeUndefined();
        expect(sorted(roleStatements(template, roleId).map(normalize)), fn.node.path).toEqual(sorted(expected));
      }
    });

    it('with the fixed egress IP, the functions calling DS get the network-interface statement and nothing more', () => {
      const { stack: egressStack, template: egressTemplate } = withEgress();
      const { stack, template } = plain();
      for (const name of Object.keys(stack.functions) as Array<keyof typeof stack.functions>) {
        const statementsOf = (s: DsSelectionStack, t: Template) => sorted(roleStatements(t, functionRoleId(t, logicalId(s, s.functions[name].function))).map(normalize));
        const extra = statementsOf(egressStack, egressTemplate).filter((statement) => !statementsOf(stack, template).includes(statement));
        const callsDs = name === 'ingestDossier' || name === 'reconcileDossiers';
        expect(extra.map((statement) => JSON.parse(statement) as Json), name).toEqual(callsDs ? [{
          Action: ['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses'],
          Resource: ['*'],
        }] : []);
      }
    });

    it('no policy of the stack allows a Scan, a wildcard DynamoDB action or table administration', () => {
      for (const { template } of [plain(), withEgress()]) {
        const resources = Object.values(template.toJSON().Resources as Record<string, Json>);
        const documents = [
          ...resources.filter((r) => r.Type === 'AWS::IAM::Policy').map((r) => r.Properties.PolicyDocument),
          ...resources.filter((r) => r.Type === 'AWS::IAM::Role').flatMap((r) => asArray<Json>(r.Properties.Policies).map((p) => p.PolicyDocument)),
          ...resources.filter((r) => r.Type === 'AWS::IAM::ManagedPolicy').map((r) => r.Properties.PolicyDocument),
        ];
        const actions = documents.flatMap((document) => asArray<Json>(document.Statement)).flatMap((s) => asArray<string>(s.Action));
        expect(actions.length).toBeGreaterThan(20);
        expect(actions.filter((a) => /^dynamodb:(Scan|PartiQL|.*\*)|^dynamodb:(Create|Delete|Update)Table|^dynamodb:.*Stream|^\*$/.test(a))).toEqual([]);
        expect(resources.filter((r) => r.Type === 'AWS::IAM::Role').flatMap((r) => asArray(r.Properties.ManagedPolicyArns))).toEqual([]);
      }
    });
  });

  describe('throttles and reserved concurrency', () => {
    it('every route has its own throttle, sized by kind (webhooks, review pages, assets, the 404), the stage waiting for its routes', () => {
      const { stack, template } = plain();
      const stageResource = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as Json;
      const settings = stageResource.Properties.RouteSettings as Record<string, Json>;
      expect(Object.keys(settings).sort()).toEqual(HTTP_ROUTES.map(routeKeyOf).sort());
      const expectedKind: Record<string, RouteThrottleKind> = {
        'POST /webhooks/ds/{token}': 'webhook',
        'POST /webhooks/ds-v2': 'webhook',
        'GET /review/{round}': 'reviewPage',
        'GET /review/{round}/dossiers/{number}': 'reviewPage',
        'POST /review/{round}/dossiers/{number}': 'reviewPage',
        'GET /review/{round}/dossiers/{number}/attachments/{index}': 'reviewPage',
        'GET /review/assets/{path+}': 'reviewAssets',
        'GET /review/{path+}': 'reviewNotFound',
      };
      for (const [routeKey, kind] of Object.entries(expectedKind)) {
        const size = ROUTE_THROTTLE_DEFAULTS[kind];
        expect(settings[routeKey], routeKey).toEqual({ ThrottlingRateLimit: size.rateLimit, ThrottlingBurstLimit: size.burstLimit });
      }
      // The webhooks never get the review page's sizes, nor the reverse; the fallback is the strictest.
      expect(ROUTE_THROTTLE_DEFAULTS.webhook.rateLimit).toBeLessThanOrEqual(ROUTE_THROTTLE_DEFAULTS.reviewPage.rateLimit);
      expect(stageResource.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 1, ThrottlingBurstLimit: 5 });
      // API Gateway refuses settings for a route key it has not created yet.
      const routeIds = Object.keys(template.findResources('AWS::ApiGatewayV2::Route'));
      expect(stageResource.DependsOn).toEqual(expect.arrayContaining(routeIds));
      expect(stack.api.stage).toBeDefined();
      // A route of a function nobody sized fails synth.
      expect(() => routeThrottleKind({ method: 'GET', path: '/admin', functionName: 'run-round-step' })).toThrow(/has no throttle/);
    });

    it('the stage config sizes them', () => {
      const { stack, template } = buildAndTemplate({ routeThrottles: { webhook: { rateLimit: 2, burstLimit: 4 } }, reservedConcurrency: { 'serve-review-page': null, 'receive-ds-webhook': 3 } });
      const settings = (Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as Json).Properties.RouteSettings as Record<string, Json>;
      expect(settings['POST /webhooks/ds-v2']).toEqual({ ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 });
      expect(settings['GET /review/{round}']).toEqual({ ThrottlingRateLimit: ROUTE_THROTTLE_DEFAULTS.reviewPage.rateLimit, ThrottlingBurstLimit: ROUTE_THROTTLE_DEFAULTS.reviewPage.burstLimit });
      const reserved = (fn: { node: { defaultChild?: unknown } }) => (template.toJSON().Resources[logicalId(stack, fn)] as Json).Properties.ReservedConcurrentExecutions;
      expect(reserved(stack.functions.receiveDsWebhook.function)).toBe(3);
      expect(reserved(stack.functions.receiveDsWebhookV2.function)).toBe(RESERVED_CONCURRENCY_DEFAULTS['receive-ds-webhook-v2']);
      expect(reserved(stack.functions.serveReviewPage.function)).toBeUndefined();
    });

    it('the API\'s functions have reserved concurrency; the ingest worker is capped by its event source; the scheduled functions reserve nothing', () => {
      const { stack, template } = plain();
      const reserved = (fn: { node: { defaultChild?: unknown } }) => (template.toJSON().Resources[logicalId(stack, fn)] as Json).Properties.ReservedConcurrentExecutions;
      const f = stack.functions;
      expect(reserved(f.receiveDsWebhook.function)).toBe(RESERVED_CONCURRENCY_DEFAULTS['receive-ds-webhook']);
      expect(reserved(f.receiveDsWebhookV2.function)).toBe(RESERVED_CONCURRENCY_DEFAULTS['receive-ds-webhook-v2']);
      expect(reserved(f.serveReviewPage.function)).toBe(RESERVED_CONCURRENCY_DEFAULTS['serve-review-page']);
      for (const fn of [f.ingestDossier, f.reconcileDossiers, f.runRoundStep]) expect(reserved(fn.function)).toBeUndefined();
      // Lambda keeps 100 executions unreserved out of the usual 1,000: the stack's reservations stay far below 900.
      expect(Object.values(RESERVED_CONCURRENCY_DEFAULTS).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100);
      // Each receiver can hold its route's whole burst: DS meets the API's 429 before Lambda's throttle.
      expect(RESERVED_CONCURRENCY_DEFAULTS['receive-ds-webhook']).toBeGreaterThanOrEqual(ROUTE_THROTTLE_DEFAULTS.webhook.burstLimit);
      expect(RESERVED_CONCURRENCY_DEFAULTS['receive-ds-webhook-v2']).toBeGreaterThanOrEqual(ROUTE_THROTTLE_DEFAULTS.webhook.burstLimit);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: INGEST_PIPELINE.maxConcurrency } });
    });
  });

  describe('alarms to staff', () => {
    const alarmsOf = (template: Template) => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Json[];
    const runbook = readFileSync(join(PROJECT_ROOT, RUNBOOK_PATH), 'utf8');
    /** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
    const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} -]/gu, '').replace(/ /g, '-')));

    it('the topic is encrypted with a rotated key CloudWatch may use, denies non-TLS publishing, and mails every staff address', () => {
      const { stack, template } = buildAndTemplate({ alarmEmail: 'ops@example.gouv.fr', alarmEmails: ['eig@example.gouv.fr', 'OPS@example.gouv.fr'] });
      const topic = (template.toJSON().Resources[logicalId(stack, stack.alarmTopic.topic)] as Json).Properties;
      expect(topic.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.alarmTopic.key), 'Arn'] });
      const key = (template.toJSON().Resources[logicalId(stack, stack.alarmTopic.key)] as Json).Properties;
      expect(key.EnableKeyRotation).toBe(true);
      expect(key.KeyPolicy.Statement).toContainEqual(expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }));
      const topicPolicies = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as Json[];
      expect(topicPolicies).toHaveLength(1);
      expect(topicPolicies[0]!.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription')) as Json[];
      expect(subscriptions.map((s) => [s.Properties.Protocol, s.Properties.Endpoint]).sort()).toEqual([
        ['email', 'eig@example.gouv.fr'], ['email', 'ops@example.gouv.fr'],
      ]);
      expect(plain().template.findResources('AWS::SNS::Subscription')).toEqual({});
    });

    it('one alarm per listed metric and function, each to the topic when it fires and when it clears, each naming its runbook section', () => {
      const { stack, template } = plain();
      const alarms = alarmsOf(template);
      const topic = { Ref: logicalId(stack, stack.alarmTopic.topic) };
      for (const alarm of alarms) {
        const p = alarm.Properties;
        expect(p.AlarmActions, p.AlarmDescription).toEqual([topic]);
        expect(p.OKActions, p.AlarmDescription).toEqual([topic]);
        const section = /Runbook: docs\/runbook\.md#([a-z0-9-]+)$/.exec(p.AlarmDescription as string)?.[1];
        expect(section, p.AlarmDescription).toBeDefined();
        expect(anchors.has(section!), `docs/runbook.md has no section #${section}`).toBe(true);
        expect((p.AlarmDescription as string).length).toBeLessThanOrEqual(1024);
      }
      const find = (namespace: string, metricName: string, dimensions?: Json[]) =>
        alarms.filter((a) => a.Properties.Namespace === namespace && a.Properties.MetricName === metricName
          && (dimensions === undefined || JSON.stringify(a.Properties.Dimensions ?? []) === JSON.stringify(dimensions)));

      // Errors and throttles of each function.
      for (const fn of Object.values(stack.functions)) {
        const byFunction = [{ Name: 'FunctionName', Value: { Ref: logicalId(stack, fn.function) } }];
        for (const metric of ['Errors', 'Throttles']) {
          const [alarm, ...others] = find('AWS/Lambda', metric, byFunction);
          expect(others, `${fn.node.path} ${metric}`).toHaveLength(0);
          expect(alarm?.Properties, `${fn.node.path} ${metric}`).toMatchObject({ Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
        }
      }
      // 5xx of the API's stage.
      expect(find('AWS/ApiGateway', '5xx', [
        { Name: 'ApiId', Value: { Ref: logicalId(stack, stack.api.api) } },
        { Name: 'Stage', Value: '$default' },
      ])).toHaveLength(1);
      // The ingest queue's oldest message: two visibility timeouts.
      const [age] = find('AWS/SQS', 'ApproximateAgeOfOldestMessage', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, stack.pipeline.queue), 'QueueName'] } }]);
      expect(age?.Properties.Threshold).toBe(2 * INGEST_PIPELINE.visibilityTimeoutSeconds);
      // Each dead-letter queue's depth.
      for (const dlq of [stack.pipeline.deadLetterQueue, stack.schedules.deadLetterQueue]) {
        expect(find('AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, dlq), 'QueueName'] } }])).toHaveLength(1);
      }
      // Schedules: the target failed, or the run was dropped; for the stack's schedule group.
      // The group's name is generated at synth (a literal, not a reference).
      const groupName = (template.toJSON().Resources[logicalId(stack, stack.schedules.group)] as Json).Properties.Name as string;
      const byGroup = [{ Name: 'ScheduleGroup', Value: groupName }];
      expect(find('AWS/Scheduler', 'TargetErrorCount', byGroup)).toHaveLength(1);
      expect(find('AWS/Scheduler', 'InvocationDroppedCount', byGroup)).toHaveLength(1);
      // SES: the account's rates, at the thresholds AWS reviews an account at.
      expect(find('AWS/SES', 'Reputation.BounceRate', [])[0]?.Properties.Threshold).toBe(0.05);
      expect(find('AWS/SES', 'Reputation.ComplaintRate', [])[0]?.Properties.Threshold).toBe(0.001);

      expect(alarms).toHaveLength(2 * Object.keys(stack.functions).length + 1 + 1 + 2 + 2 + 2);
    });

    it('the runbook has a section for every alarm kind', () => {
      for (const section of Object.values(RUNBOOK_SECTIONS)) expect(anchors.has(section), section).toBe(true);
    });
  });

  describe('CDK annotations', () => {
    it.each([
      ['without egress', plain],
      ['with egress', withEgress],
    ])('has no error or warning (%s)', (_name, variant) => {
      const annotations = withoutCfnValidation(() => Annotations.fromStack(variant().stack));
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  const describeViolations = (app: App) =>
    new AwsSolutionsChecks().validateScope(app).violations.map(
      (violation) => `${violation.severity} ${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );

  it('catches an unacknowledged finding (the check below is not vacuous)', () => {
    const app = new App();
    new secretsmanager.Secret(new Stack(app, 'Canary'), 'Secret');
    expect(describeViolations(app)).toEqual([expect.stringMatching(/^error AwsSolutions-SMG4 at Canary\/Secret/)]);
    // ...and synthesis through the registered plugin fails on it.
    const outdir = mkdtempSync(join(tmpdir(), 'ds-selection-cdk-'));
    outdirs.push(outdir);
    const failing = new App({ outdir });
    new secretsmanager.Secret(new Stack(failing, 'Canary'), 'Secret');
    Validations.of(failing).addPlugins(new AwsSolutionsChecks(failing));
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(() => withoutCfnValidation(() => failing.synth())).toThrow(/automatic rotation/);
    } finally {
      stderr.mockRestore();
    }
  });

  it.each([
    ['without egress', { fixedEgressIp: false }],
    ['with egress and alarm email', { fixedEgressIp: true, alarmEmail: 'ops@example.gouv.fr' }],
  ])('reports no unacknowledged error or warning (%s)', (_name, overrides) => {
    const { app } = buildApp(overrides);
    expect(describeViolations(app)).toEqual([]);
    // The same check through CDK's policy validation, as `cdk synth` runs it (infra/app.ts).
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const assembly = withoutCfnValidation(() => app.synth());
    // No context lookup (AZs, ...): `cdk synth` must work without AWS credentials.
    expect(assembly.manifest.missing).toBeUndefined();
  });

  it('every acknowledgement silences a real finding on its construct (none is stale)', () => {
    const { app } = buildApp({ fixedEgressIp: true });
    // The same pack with acknowledgements ignored: what the stack would report without them.
    const raw = new AwsSolutionsChecks();
    (raw as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const findings = raw.validateScope(app).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({ id: violation.ruleName, path: resource.constructPath })),
    );
    let count = 0;
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const id of Object.keys(entry.data as Record<string, string>).map((key) => key.replace(/^annotation::/i, ''))) {
          if (!id.startsWith('AwsSolutions-')) continue;
          count += 1;
          const silenced = findings.some((f) => f.id === id && (f.path ?? '').startsWith(`${construct.node.path}/`));
          expect(silenced, `${id} acknowledged on ${construct.node.path} matches no finding`).toBe(true);
        }
      }
    }
    expect(count).toBeGreaterThan(0);
  });

  it('every acknowledgement has a reason and is listed in docs/deploy.md', () => {
    const { app } = buildApp({ fixedEgressIp: true });
    const docs = readFileSync(join(PROJECT_ROOT, 'docs/deploy.md'), 'utf8');
    const acknowledged: Array<[string, string]> = [];
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          const ruleId = id.replace(/^annotation::/i, '');
          if (ruleId.startsWith('AwsSolutions-')) acknowledged.push([ruleId, reason]);
        }
      }
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(18); // 8 APIG4 (one per route), 4 SMG4, 6 IAM5
    for (const [ruleId, reason] of acknowledged) {
      expect(reason.length, ruleId).toBeGreaterThan(60);
      // The docs drop the 8-character hash CDK appends to logical ids (StorageTableB43FDCE7 -> StorageTable).
      const documented = ruleId.replace(/<([A-Za-z0-9]+?)[0-9A-F]{8}\.Arn>/g, '<$1.Arn>');
      expect(docs.includes(`\`${documented}\``), `docs/deploy.md should list ${documented}`).toBe(true);
    }
  });
});
