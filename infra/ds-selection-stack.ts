import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { REVIEWER_KEY_PREFIX, ROUND_KEY_PREFIX } from '#adapters/dynamodb/round-repository';
import { DOSSIER_KEY_PREFIX } from '#adapters/dynamodb/dossier-repository';
import { TABLE_KEYS } from '#adapters/dynamodb/table';
import { REPORT_KEY_PREFIX } from '#adapters/s3/report-store';
import { ROUNDS_CONFIG, roundsConfigOf } from '#shared/rounds-config';
import { RETENTION_CONFIG } from '#shared/retention-config';
import { BUNDLED_ASSETS_DIR, servedFiles } from '../functions/review-page/asset-files.ts';
import { AlarmTopic } from '#infra/constructs/alarms';
import { FixedEgress } from '#infra/constructs/egress';
import { IngestPipeline } from '#infra/constructs/ingest-pipeline';
import { IntakeApi } from '#infra/constructs/intake-api';
import { OperationalAlarms } from '#infra/constructs/operational-alarms';
import { FunctionWithLogGroup, type FunctionWithLogGroupProps } from '#infra/constructs/lambda-function';
import { Mail } from '#infra/constructs/mail';
import { Schedules } from '#infra/constructs/schedules';
import { Secrets } from '#infra/constructs/secrets';
import { PERSONAL_DATA_PREFIXES, Storage } from '#infra/constructs/storage';
import { dsRequestsPerMinutePerInstance, VISIBILITY_TIMEOUT_FACTOR } from '#infra/pipeline-settings';
import { HTTP_ROUTES } from '#infra/routes';
import { SCHEDULED_FUNCTIONS, schedulesFor } from '#infra/schedules';
import { WRITE_TOKEN_OUTPUT, writeBackSettingsOf } from '#schemas/write-back';
import { senderBelongsTo, type StageConfig } from '#infra/stage-config';

/** Repository root: where package.json, package-lock.json and functions/ are. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** Items the v2 receiver may touch: its dedupe records (functions/adapters/dynamodb/webhook-event-log.ts). */
export const WEBHOOK_DEDUPE_KEY_PATTERN = 'WEBHOOK#*';
/** Items the reconciler may read and write: the sync cursors (functions/adapters/dynamodb/sync-cursor-repository.ts). */
export const SYNC_CURSOR_KEY_PATTERN = 'SYNC#*';
/** Key prefixes of the data bucket the ingest function writes: attachments and dossier snapshots. */
export const INGEST_OBJECT_PREFIXES = ['attachments/', 'dossiers/'] as const;
/** Items the ingest function reads and writes: a dossier and its FILE# items, all under `DOSSIER#<n>`. */
export const DOSSIER_ITEMS_KEY_PATTERN = `${DOSSIER_KEY_PREFIX}*`;
/**
 * Items the round steps read and write on the table: the round and its assignments, reviews,
 * notifications, decisions and audit records, all under `ROUND#<id>`
 * (functions/adapters/dynamodb/round-repository.ts). Reviewers and dossiers are only read, by index.
 */
export const ROUND_ITEMS_KEY_PATTERN = `${ROUND_KEY_PREFIX}*`;
/** The only prefix of the data bucket the round steps write: the selection reports. */
export const REPORT_OBJECTS_PATTERN = `${REPORT_KEY_PREFIX}*`;
/** Items the review page only reads: reviewers (is the link's reviewer active?) and dossiers (what is reviewed). */
export const REVIEW_PAGE_READ_KEY_PATTERNS = [`${REVIEWER_KEY_PREFIX}*`, `${DOSSIER_KEY_PREFIX}*`] as const;
/** Items the purge deletes or reduces: dossiers (and their FILE# items) and round records. */
export const PURGE_ITEMS_KEY_PATTERNS = [DOSSIER_ITEMS_KEY_PATTERN, ROUND_ITEMS_KEY_PATTERN] as const;
/** Reviewer items handle-mail-events suppresses (one conditional UpdateItem each, read back). */
export const MAIL_EVENTS_REVIEWER_KEY_PATTERN = `${REVIEWER_KEY_PREFIX}*`;
/** The objects the review page presigns downloads of: the archived attachments only. */
export const ATTACHMENT_OBJECTS_PATTERN = 'attachments/*';

/**
 * Server access logs delivered under a bucket policy (not the legacy LogDeliveryWrite ACL, which
 * would need ObjectWriter ownership, i.e. ACLs enabled on the log bucket).
 */
const FEATURE_FLAGS = { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true } as const;

export const stackName = (stageName: string) => `DsSelection-${stageName}`;

export interface DsSelectionStackProps extends StackProps {
  readonly stage: StageConfig;
}

/** Names of the stack outputs: the staff CLI (`--stage NAME`) reads them with DescribeStacks. */
export const OUTPUTS = [
  'ApiUrl',
  'LegacyWebhookUrlTemplate',
  'V2WebhookUrl',
  'TableName',
  'BucketName',
  'IngestQueueUrl',
  'DeadLetterQueueUrl',
  'WebhookTokenSecretArn',
  'DsApiTokenSecretArn',
  'DsWebhookV2SecretArn',
  'ReviewLinkSecretArn',
  'MailConfigurationSetName',
  'DemarcheNumbers',
  'DsApiUrl',
  'EgressIp',
] as const;
export type OutputName = (typeof OUTPUTS)[number];

/**
 * The intake of ds-selection: DS webhooks -> HTTP API -> receivers -> SQS -> ingest-dossier ->
 * DS GraphQL -> DynamoDB + S3. docs/deploy.md explains the deployment and every cdk-nag
 * acknowledgement made here and in the constructs.
 */
export class DsSelectionStack extends Stack {
  readonly storage: Storage;
  readonly secrets: Secrets;
  readonly pipeline: IngestPipeline;
  readonly api: IntakeApi;
  readonly egress: FixedEgress | undefined;
  readonly schedules: Schedules;
  readonly mail: Mail;
  readonly alarmTopic: AlarmTopic;
  readonly alarms: OperationalAlarms;
  readonly functions: {
    readonly receiveDsWebhook: FunctionWithLogGroup;
    readonly receiveDsWebhookV2: FunctionWithLogGroup;
    readonly ingestDossier: FunctionWithLogGroup;
    readonly reconcileDossiers: FunctionWithLogGroup;
    readonly runRoundStep: FunctionWithLogGroup;
    readonly serveReviewPage: FunctionWithLogGroup;
    readonly purgeExpiredData: FunctionWithLogGroup;
    readonly handleMailEvents: FunctionWithLogGroup;
  };
  /** write-back-decisions: only on stages with writeBack.enabled (not in `functions`, which every stage has). */
  readonly writeBackDecisions: FunctionWithLogGroup | undefined;

  /** The stage's AZs (see availabilityZones below). */
  private readonly stageAvailabilityZones: string[];

  /**
   * The AZs from the stage config instead of a context lookup, which would need AWS
   * credentials at synth (ec2.Vpc reads stack.availabilityZones even when given its AZs).
   */
  override get availabilityZones(): string[] {
    return this.stageAvailabilityZones;
  }

  constructor(scope: Construct, id: string, props: DsSelectionStackProps) {
    super(scope, id, {
      description: `ds-selection (${props.stage.name}): intake of Démarches Simplifiées dossiers for calls for projects`,
      ...props,
    });
    // Feature flags this stack relies on, set here so tests and `cdk synth` build the same thing.
    for (const [flag, value] of Object.entries(FEATURE_FLAGS)) this.node.setContext(flag, value);
    const { stage } = props;
    this.stageAvailabilityZones = stage.availabilityZones ?? [`${stage.region}a`, `${stage.region}b`];
    const removalPolicy = stage.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = stage.logRetentionDays as logs.RetentionDays;
    Tags.of(this).add('project', 'ds-selection');
    Tags.of(this).add('stage', stage.name);

    this.storage = new Storage(this, 'Storage', { removalPolicy, accessLogRetentionDays: stage.logRetentionDays, retention: RETENTION_CONFIG });
    const writeBack = writeBackSettingsOf(stage.writeBack);
    this.secrets = new Secrets(this, 'Secrets', { stageName: stage.name, removalPolicy, writeBack: writeBack !== undefined });
    const alarms = new AlarmTopic(this, 'Alarms', {
      stageName: stage.name,
      emails: [...(stage.alarmEmail ? [stage.alarmEmail] : []), ...stage.alarmEmails],
      removalPolicy,
    });
    this.alarmTopic = alarms;
    const ingestTimeout = Duration.seconds(stage.ingestTimeoutSeconds);
    this.pipeline = new IngestPipeline(this, 'IngestPipeline', {
      ingestTimeout,
      maxConcurrency: stage.ingestMaxConcurrency,
      removalPolicy,
      alarmTopic: alarms.topic,
    });
    this.schedules = new Schedules(this, 'Schedules', { definitions: schedulesFor({ writeBack: writeBack !== undefined }), removalPolicy, alarmTopic: alarms.topic });
    this.egress = stage.fixedEgressIp
      ? new FixedEgress(this, 'Egress', {
          availabilityZones: this.stageAvailabilityZones,
          logRetention,
          removalPolicy,
        })
      : undefined;

    const { table, bucket } = this.storage;
    const { queue } = this.pipeline;
    const demarches = stage.demarcheNumbers.join(',');
    const common = {
      projectRoot: PROJECT_ROOT,
      logRetention,
      logLevel: stage.logLevel,
      removalPolicy,
    } satisfies Partial<FunctionWithLogGroupProps>;
    const entry = (name: string) => `${PROJECT_ROOT}/functions/${name}.ts`;
    // The functions behind the public API are capped (stage config, null: no cap), so a flood on
    // a route cannot take the account's concurrency. The ingest worker is capped by its event
    // source (ingestMaxConcurrency), the scheduled functions by their schedules.
    const reservation = (name: keyof StageConfig['reservedConcurrency']) => {
      const reserved = stage.reservedConcurrency[name];
      return reserved === null ? {} : { reservedConcurrentExecutions: reserved };
    };
    // The functions that call DS leave through the fixed egress IP when the stage has one.
    const dsNetwork = this.egress
      ? { vpc: this.egress.vpc, vpcSubnets: this.egress.privateSubnets, securityGroups: [this.egress.securityGroup] }
      : {};

    // Legacy webhook: token check, then one SQS message. No DynamoDB, no S3, no DS.
    const receiveDsWebhook = new FunctionWithLogGroup(this, 'ReceiveDsWebhook', {
      ...common,
      entry: entry('receive-ds-webhook'),
      description: 'DS legacy webhook (POST /webhooks/ds/{token}) -> ingest queue',
      memorySize: 256,
      timeout: Duration.seconds(10),
      ...reservation('receive-ds-webhook'),
      environment: {
        DS_DEMARCHE_NUMBER: demarches,
        INGEST_QUEUE_URL: queue.queueUrl,
        WEBHOOK_TOKEN_SECRET_ARN: this.secrets.webhookToken.secretArn,
      },
    });
    receiveDsWebhook.role.addToPolicy(sendTo(queue.queueArn));
    receiveDsWebhook.role.addToPolicy(readSecret(this.secrets.webhookToken.secretArn));

    // Webhooks v2: signature check, dedupe on WEBHOOK# items only, then SQS messages.
    const receiveDsWebhookV2 = new FunctionWithLogGroup(this, 'ReceiveDsWebhookV2', {
      ...common,
      entry: entry('receive-ds-webhook-v2'),
      description: 'DS webhooks v2 (POST /webhooks/ds-v2, signed batches) -> ingest queue',
      memorySize: 256,
      timeout: Duration.seconds(10),
      ...reservation('receive-ds-webhook-v2'),
      environment: {
        DS_DEMARCHE_NUMBER: demarches,
        INGEST_QUEUE_URL: queue.queueUrl,
        TABLE_NAME: table.tableName,
        DS_WEBHOOK_V2_SECRET_SECRET_ARN: this.secrets.dsWebhookV2Secret.secretArn,
      },
    });
    receiveDsWebhookV2.role.addToPolicy(sendTo(queue.queueArn));
    receiveDsWebhookV2.role.addToPolicy(readSecret(this.secrets.dsWebhookV2Secret.secretArn));
    receiveDsWebhookV2.role.addToPolicy(
      onItems('WebhookDedupeRecordsOnly', table, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'], [WEBHOOK_DEDUPE_KEY_PATTERN]),
    );

    // Ingest: calls DS, so it is behind the fixed egress IP.
    const ingestDossier = new FunctionWithLogGroup(this, 'IngestDossier', {
      ...common,
      entry: entry('ingest-dossier'),
      description: 'Ingest queue -> DS GraphQL dossier -> DynamoDB + S3 (attachments)',
      memorySize: stage.ingestMemoryMb,
      timeout: ingestTimeout,
      environment: {
        DS_DEMARCHE_NUMBER: demarches,
        DS_API_URL: stage.dsApiUrl,
        DS_API_TIMEOUT_SECONDS: String(stage.dsApiTimeoutSeconds),
        // Each instance paces itself with its share: together they stay under DS's limit.
        DS_API_REQUESTS_PER_MINUTE: String(dsRequestsPerMinutePerInstance(stage.ingestMaxConcurrency)),
        TABLE_NAME: table.tableName,
        BUCKET_NAME: bucket.bucketName,
        DS_API_TOKEN_SECRET_ARN: this.secrets.dsApiToken.secretArn,
      },
      ...dsNetwork,
    });
    this.grantIngest(ingestDossier);
    this.pipeline.connect(ingestDossier.function);

    // Reconcile: lists DS (behind the fixed egress IP too), reads and writes its cursors, reads
    // the status index for files_pending dossiers, queues hints. Invoked by the schedule only.
    const reconcileSettings = SCHEDULED_FUNCTIONS['reconcile-dossiers']!;
    const reconcileDossiers = new FunctionWithLogGroup(this, 'ReconcileDossiers', {
      ...common,
      entry: entry('reconcile-dossiers'),
      description: reconcileSettings.description,
      memorySize: reconcileSettings.memoryMb,
      timeout: Duration.seconds(reconcileSettings.timeoutSeconds),
      environment: {
        DS_DEMARCHE_NUMBER: demarches,
        DS_API_URL: stage.dsApiUrl,
        DS_API_TIMEOUT_SECONDS: String(stage.dsApiTimeoutSeconds),
        TABLE_NAME: table.tableName,
        INGEST_QUEUE_URL: queue.queueUrl,
        DS_API_TOKEN_SECRET_ARN: this.secrets.dsApiToken.secretArn,
      },
      deadLetterQueue: this.schedules.deadLetterQueue,
      ...dsNetwork,
    });
    reconcileDossiers.role.addToPolicy(sendTo(queue.queueArn));
    reconcileDossiers.role.addToPolicy(readSecret(this.secrets.dsApiToken.secretArn));
    reconcileDossiers.role.addToPolicy(
      onItems('SyncCursorsOnly', table, ['dynamodb:GetItem', 'dynamodb:PutItem'], [SYNC_CURSOR_KEY_PATTERN]),
    );
    reconcileDossiers.role.addToPolicy(
      // files_pending dossiers, by the status index only.
      queryIndexes('DossiersByStatusIndex', table, [TABLE_KEYS.gsi2.indexName]),
    );

    this.api = new IntakeApi(this, 'IntakeApi', { stageName: stage.name, logRetention, removalPolicy, routeThrottles: stage.routeThrottles });

    // Round steps: DynamoDB (its ROUND# items, the indexes read-only), SES as the configured
    // sender only, the reports prefix of the bucket. Does not call DS: not in the VPC.
    // The stage's rounds configuration (docs/configuration.md): every file is bundled, the name picks one.
    const roundsConfig = stage.roundsConfig ? roundsConfigOf(stage.roundsConfig) : ROUNDS_CONFIG;
    const roundsConfigEnv: Record<string, string> = stage.roundsConfig ? { ROUNDS_CONFIG: stage.roundsConfig } : {};
    const sender = stage.mailFrom ?? roundsConfig.mailFrom;
    const identity = stage.mailFromIdentity ?? sender.slice(sender.lastIndexOf('@') + 1);
    if (!senderBelongsTo(sender, identity)) {
      throw new Error(`stage ${stage.name}: mailFromIdentity "${identity}" does not cover the sender ${sender} (give the address, its domain or a parent domain)`);
    }
    this.mail = new Mail(this, 'Mail', { sender, identity });
    const roundSettings = SCHEDULED_FUNCTIONS['run-round-step']!;
    const runRoundStep = new FunctionWithLogGroup(this, 'RunRoundStep', {
      ...common,
      entry: entry('run-round-step'),
      description: roundSettings.description,
      memorySize: roundSettings.memoryMb,
      timeout: Duration.seconds(roundSettings.timeoutSeconds),
      environment: {
        TABLE_NAME: table.tableName,
        BUCKET_NAME: bucket.bucketName,
        REVIEW_PAGE_URL: this.api.url,
        REVIEW_LINK_SECRET_SECRET_ARN: this.secrets.reviewLinkSecret.secretArn,
        MAIL_FROM: sender,
        SES_CONFIGURATION_SET: this.mail.configurationSet.configurationSetName,
        ...roundsConfigEnv,
      },
      deadLetterQueue: this.schedules.deadLetterQueue,
    });
    this.grantRoundStep(runRoundStep);

    // The reviewers' page: reads their round, dossiers and reviews, writes their reviews (and, on a
    // declared conflict, the replacement's assignment, the audit record and the mail's claim), mails
    // the replacement, presigns attachment downloads. Does not call DS: not in the VPC.
    const serveReviewPage = new FunctionWithLogGroup(this, 'ServeReviewPage', {
      ...common,
      entry: entry('serve-review-page'),
      description: 'Reviewers\' page (GET/POST /review/...): their dossiers, the score form, attachments, DSFR assets',
      // The first asset request of an instance compresses the stylesheet (about 50 ms at 512 MB).
      memorySize: 512,
      timeout: Duration.seconds(15),
      ...reservation('serve-review-page'),
      environment: {
        TABLE_NAME: table.tableName,
        BUCKET_NAME: bucket.bucketName,
        REVIEW_PAGE_URL: this.api.url,
        REVIEW_LINK_SECRET_SECRET_ARN: this.secrets.reviewLinkSecret.secretArn,
        MAIL_FROM: sender,
        SES_CONFIGURATION_SET: this.mail.configurationSet.configurationSetName,
        ...roundsConfigEnv,
      },
      // The DSFR files the page serves (the allow-list of functions/review-page/asset-files.ts), next to the bundle.
      afterBundling: (inputDir, outputDir) => copyReviewAssets(inputDir, outputDir),
    });
    this.grantReviewPage(serveReviewPage);

    this.api.connect(HTTP_ROUTES, {
      'receive-ds-webhook': receiveDsWebhook.function,
      'receive-ds-webhook-v2': receiveDsWebhookV2.function,
      'serve-review-page': serveReviewPage.function,
    });

    // Data protection (docs/data-protection.md): deletes the personal data DS deleted and what is
    // past its retention. Its own role: the only one that deletes dossiers and objects.
    const purgeSettings = SCHEDULED_FUNCTIONS['purge-expired-data']!;
    const purgeExpiredData = new FunctionWithLogGroup(this, 'PurgeExpiredData', {
      ...common,
      entry: entry('purge-expired-data'),
      description: purgeSettings.description,
      memorySize: purgeSettings.memoryMb,
      timeout: Duration.seconds(purgeSettings.timeoutSeconds),
      environment: { TABLE_NAME: table.tableName, BUCKET_NAME: bucket.bucketName },
      deadLetterQueue: this.schedules.deadLetterQueue,
    });
    this.grantPurge(purgeExpiredData);

    // SES events (bounces, complaints, rejects, deliveries of the configuration set) through an
    // EventBridge rule: suppresses reviewers, records outcomes, mails staff (docs/deploy.md section 12).
    const handleMailEvents = new FunctionWithLogGroup(this, 'HandleMailEvents', {
      ...common,
      entry: entry('handle-mail-events'),
      description: 'SES events of the configuration set (EventBridge) -> reviewer suppression, notification outcomes, staff mail',
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {
        TABLE_NAME: table.tableName,
        MAIL_FROM: sender,
        SES_CONFIGURATION_SET: this.mail.configurationSet.configurationSetName,
        ...roundsConfigEnv,
      },
      // Asynchronous invocations that still fail after Lambda's two retries (the event is the message).
      deadLetterQueue: this.schedules.deadLetterQueue,
    });
    this.grantMailEvents(handleMailEvents);
    this.mail.routeEventsTo(handleMailEvents.function);

    // Write-back (docs/deploy.md section 16), only when the stage enables it: calls DS with the
    // write token (its own secret), so it leaves through the fixed egress IP when there is one.
    const writeBackDecisions = writeBack ? this.writeBackFunction(writeBack, common, entry('write-back-decisions'), dsNetwork, stage) : undefined;

    this.writeBackDecisions = writeBackDecisions;
    this.functions = { receiveDsWebhook, receiveDsWebhookV2, ingestDossier, reconcileDossiers, runRoundStep, serveReviewPage, purgeExpiredData, handleMailEvents };
    this.schedules.connect({
      'reconcile-dossiers': reconcileDossiers.function,
      'run-round-step': runRoundStep.function,
      'purge-expired-data': purgeExpiredData.function,
      ...(writeBackDecisions ? { 'write-back-decisions': writeBackDecisions.function } : {}),
    });

    this.alarms = new OperationalAlarms(this, 'OperationalAlarms', {
      topic: alarms.topic,
      functions: {
        'receive-ds-webhook': receiveDsWebhook.function,
        'receive-ds-webhook-v2': receiveDsWebhookV2.function,
        'ingest-dossier': ingestDossier.function,
        'reconcile-dossiers': reconcileDossiers.function,
        'run-round-step': runRoundStep.function,
        'serve-review-page': serveReviewPage.function,
        'purge-expired-data': purgeExpiredData.function,
        'handle-mail-events': handleMailEvents.function,
        ...(writeBackDecisions ? { 'write-back-decisions': writeBackDecisions.function } : {}),
      },
      apiStage: this.api.stage,
      ingestQueue: queue,
      // Two visibility timeouts: the message was delivered and failed twice (a virus scan pending
      // that long, DS failing), or nothing consumes the queue.
      ingestQueueMaxAge: Duration.seconds(2 * ingestTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      scheduleGroup: this.schedules.group,
    });

    const output = (name: OutputName, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output('ApiUrl', this.api.url, 'Base URL of the HTTP API (ends with /).');
    output(
      'LegacyWebhookUrlTemplate',
      `${this.api.url}${routePath('receive-ds-webhook').slice(1)}`,
      'URL to paste in the DS démarche (Lien de rappel HTTP): replace {token} with the value of the WebhookTokenSecretArn secret (aws secretsmanager get-secret-value --secret-id <arn> --query SecretString --output text). The token is not output: it is the credential.',
    );
    output('V2WebhookUrl', `${this.api.url}${routePath('receive-ds-webhook-v2').slice(1)}`, 'URL to register with the DS webhookCreer mutation (webhooks v2).');
    output('TableName', table.tableName, 'DynamoDB table (single-table design).');
    output('BucketName', bucket.bucketName, 'S3 bucket with dossier snapshots, attachments and reports.');
    output('IngestQueueUrl', queue.queueUrl, 'SQS queue of dossiers to ingest.');
    output('DeadLetterQueueUrl', this.pipeline.deadLetterQueue.queueUrl, 'Messages that failed ingestion 5 times (ds-selection dlq list|redrive).');
    output('WebhookTokenSecretArn', this.secrets.webhookToken.secretArn, 'Secret holding the legacy webhook URL token (generated).');
    output('DsApiTokenSecretArn', this.secrets.dsApiToken.secretArn, 'Secret to fill with the DS API token (put-secret-value).');
    output('DsWebhookV2SecretArn', this.secrets.dsWebhookV2Secret.secretArn, 'Secret to fill with the whsec_ secret returned by webhookCreer (put-secret-value).');
    output('ReviewLinkSecretArn', this.secrets.reviewLinkSecret.secretArn, 'Secret holding the key that signs reviewers\' review links (generated).');
    output('MailConfigurationSetName', this.mail.configurationSet.configurationSetName, 'SES configuration set every mail goes through (bounce and complaint suppression).');
    output('DemarcheNumbers', demarches, 'Démarche number(s) this stage accepts and ingests (comma-separated).');
    output('DsApiUrl', stage.dsApiUrl, 'DS GraphQL endpoint the stage calls.');
    if (this.secrets.dsWriteToken) {
      new CfnOutput(this, WRITE_TOKEN_OUTPUT, {
        value: this.secrets.dsWriteToken.secretArn,
        description: 'Secret to fill with the DS API token WITH WRITE ACCESS (put-secret-value): write-back-decisions only.',
      });
    }
    if (this.egress) {
      output('EgressIp', this.egress.eip.attrPublicIp, 'Fixed source IP of the calls to DS: put it in the DS API token IP filter.');
    }
  }

  /**
   * write-back-decisions: reads the round, its decisions, exclusions and write-back records, and
   * writes its WRITEBACK# records and audit record (all under `ROUND#<id>`); the dossiers of the
   * round by gsi1 (those without a decision are reported); the DS write token, which no other
   * function may read. No S3, no SES, no queue.
   */
  private writeBackFunction(
    settings: NonNullable<ReturnType<typeof writeBackSettingsOf>>,
    common: Pick<FunctionWithLogGroupProps, 'projectRoot' | 'logRetention' | 'logLevel' | 'removalPolicy'>,
    entryPath: string,
    network: Partial<Pick<FunctionWithLogGroupProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>>,
    stage: StageConfig,
  ): FunctionWithLogGroup {
    const { table } = this.storage;
    const writeToken = this.secrets.dsWriteToken;
    if (!writeToken) throw new Error('write-back needs the DsWriteToken secret (Secrets writeBack: true)');
    const fnSettings = SCHEDULED_FUNCTIONS['write-back-decisions']!;
    const fn = new FunctionWithLogGroup(this, 'WriteBackDecisions', {
      ...common,
      entry: entryPath,
      description: fnSettings.description,
      memorySize: fnSettings.memoryMb,
      timeout: Duration.seconds(fnSettings.timeoutSeconds),
      environment: {
        TABLE_NAME: table.tableName,
        DS_API_URL: stage.dsApiUrl,
        DS_API_TIMEOUT_SECONDS: String(stage.dsApiTimeoutSeconds),
        DS_WRITE_TOKEN_SECRET_ARN: writeToken.secretArn,
        WRITE_BACK_SETTINGS: JSON.stringify(settings),
      },
      deadLetterQueue: this.schedules.deadLetterQueue,
      ...network,
    });
    fn.role.addToPolicy(onItems('WriteBackRoundItems', table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], [ROUND_ITEMS_KEY_PATTERN]));
    fn.role.addToPolicy(queryIndexes('DossiersOfARoundByIndex', table, [TABLE_KEYS.gsi1.indexName]));
    fn.role.addToPolicy(readSecret(writeToken.secretArn));
    return fn;
  }

  /**
   * run-round-step's permissions: its round items (LeadingKeys `ROUND#*`), read-only queries on
   * the two named indexes (rounds and dossiers by round on gsi1, reviewers on gsi2), the reports
   * prefix, SES as the configured sender through the configuration set, its secret.
   */
  private grantRoundStep(fn: FunctionWithLogGroup): void {
    const { table, bucket } = this.storage;
    fn.role.addToPolicy(onItems('RoundItemsOnly', table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'], [ROUND_ITEMS_KEY_PATTERN]));
    fn.role.addToPolicy(queryIndexes('RoundsDossiersReviewersByIndex', table, [TABLE_KEYS.gsi1.indexName, TABLE_KEYS.gsi2.indexName]));
    fn.role.addToPolicy(new iam.PolicyStatement({
      sid: 'SelectionReports',
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(REPORT_OBJECTS_PATTERN)],
    }));
    fn.role.addToPolicy(sendAsTheSender(this.mail));
    fn.role.addToPolicy(readSecret(this.secrets.reviewLinkSecret.secretArn));
    const bucketId = this.getLogicalId(bucket.node.defaultChild as CfnElement);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${REPORT_OBJECTS_PATTERN}]`,
      reason:
        'Report keys are per round (reports/<round>/selection.json and .csv), one folder per round to come; the wildcard is limited to that prefix of the stack\'s own bucket, with PutObject only.',
    });
  }

  /**
   * handle-mail-events' permissions: on reviewer items (`REVIEWER#*`) the suppression's
   * conditional UpdateItem and its consistent read-back; on round items (`ROUND#*`) the outcome's
   * conditional UpdateItem and its read-back, and the staff mail's claim, mark and release plus the
   * audit record (PutItem, DeleteItem) under the pseudo-round `mail-events`; the reviewers by the
   * named gsi2 index (to match an address); SES as the sender through the configuration set.
   */
  private grantMailEvents(fn: FunctionWithLogGroup): void {
    const { table } = this.storage;
    fn.role.addToPolicy(onItems('SuppressReviewers', table, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [MAIL_EVENTS_REVIEWER_KEY_PATTERN]));
    fn.role.addToPolicy(onItems('NotificationOutcomesAndStaffMail', table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], [ROUND_ITEMS_KEY_PATTERN]));
    fn.role.addToPolicy(queryIndexes('ReviewersByIndex', table, [TABLE_KEYS.gsi2.indexName]));
    fn.role.addToPolicy(sendAsTheSender(this.mail));
  }

  /**
   * purge-expired-data's permissions (docs/deploy.md section 9, docs/data-protection.md): on
   * dossier items (and their FILE# items) and round records only (LeadingKeys `DOSSIER#*`,
   * `ROUND#*`): read, delete, the tombstone's and the reduced decisions' puts, the round's purge
   * mark; Query on the two named indexes (closed rounds and dossiers by round on gsi1, deleted
   * dossiers on gsi2). On S3: list the versions under the personal-data prefixes only, and delete
   * object versions there. No s3:DeleteObject (in a versioned bucket it only adds a delete marker:
   * the bytes would stay) and no s3:ListBucket (the versions listing needs ListBucketVersions);
   * no GetObject, no PutObject: it never reads a file.
   */
  private grantPurge(fn: FunctionWithLogGroup): void {
    const { table, bucket } = this.storage;
    fn.role.addToPolicy(onItems('PurgeDossierAndRoundItems', table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'], [...PURGE_ITEMS_KEY_PATTERNS]));
    fn.role.addToPolicy(queryIndexes('RoundsAndDossiersByIndex', table, [TABLE_KEYS.gsi1.indexName, TABLE_KEYS.gsi2.indexName]));
    fn.role.addToPolicy(new iam.PolicyStatement({
      sid: 'ListPersonalDataVersions',
      actions: ['s3:ListBucketVersions'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': PERSONAL_DATA_PREFIXES.map((prefix) => `${prefix}*`) } },
    }));
    fn.role.addToPolicy(new iam.PolicyStatement({
      sid: 'DeletePersonalDataVersions',
      actions: ['s3:DeleteObjectVersion'],
      resources: PERSONAL_DATA_PREFIXES.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
    }));
    const bucketId = this.getLogicalId(bucket.node.defaultChild as CfnElement);
    for (const prefix of PERSONAL_DATA_PREFIXES) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `The purge deletes every version of the objects of one dossier or round under ${prefix} (keys per dossier, file or round, unknown in advance); the wildcard is limited to that prefix of the stack's own bucket, with DeleteObjectVersion only.`,
      });
    }
  }

  /**
   * serve-review-page's permissions: on its round items (LeadingKeys `ROUND#*`) what saving a
   * review needs (the review's conditional put; on a declared conflict, the replacement's
   * assignment, the audit record, the mail's claim and its release); reviewers and dossiers read
   * only, by key; the reviewer's assignments and reviews (gsi1) and the reviewers (gsi2, to choose
   * a replacement) by named index; GetObject on attachments only (what a presigned URL may do); SES
   * as the sender through the configuration set; its secret.
   */
  private grantReviewPage(fn: FunctionWithLogGroup): void {
    const { table, bucket } = this.storage;
    fn.role.addToPolicy(onItems('ReviewRoundItems', table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'], [ROUND_ITEMS_KEY_PATTERN]));
    fn.role.addToPolicy(onItems('ReadReviewersAndDossiers', table, ['dynamodb:GetItem'], [...REVIEW_PAGE_READ_KEY_PATTERNS]));
    // A page reads its round, reviewer, assignment, review and dossiers in one BatchGetItem
    // (functions/adapters/dynamodb/review-page-reads.ts): one statement holds all their key
    // prefixes, so the condition holds whether IAM checks a batch's keys together or one by one.
    fn.role.addToPolicy(onItems('ReadReviewPageItemsInOneBatch', table, ['dynamodb:BatchGetItem'], [ROUND_ITEMS_KEY_PATTERN, ...REVIEW_PAGE_READ_KEY_PATTERNS]));
    fn.role.addToPolicy(queryIndexes('ReviewerItemsByIndex', table, [TABLE_KEYS.gsi1.indexName, TABLE_KEYS.gsi2.indexName]));
    fn.role.addToPolicy(new iam.PolicyStatement({
      sid: 'PresignAttachmentDownloads',
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(ATTACHMENT_OBJECTS_PATTERN)],
    }));
    fn.role.addToPolicy(sendAsTheSender(this.mail));
    fn.role.addToPolicy(readSecret(this.secrets.reviewLinkSecret.secretArn));
    const bucketId = this.getLogicalId(bucket.node.defaultChild as CfnElement);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${ATTACHMENT_OBJECTS_PATTERN}]`,
      reason:
        'The review page presigns 15-minute GET URLs for the attachments of dossiers assigned to the reviewer; attachment keys are per dossier and per file, unknown in advance. The wildcard is limited to the attachments/ prefix of the stack\'s own bucket, with GetObject only.',
    });
  }

  /**
   * ingest-dossier's permissions. It handles the most untrusted input (whatever DS returns for a
   * dossier number a webhook named), so it gets what its code calls and nothing else
   * (functions/adapters/dynamodb/dossier-repository.ts, functions/adapters/s3/attachment-store.ts):
   * - its dossier items and their FILE# items (`DOSSIER#<n>`): GetItem (read back after a refused
   *   write), PutItem (the conditional save, a file's state, the record of a missing dossier),
   *   UpdateItem (files complete, marked missing), Query (the files of one dossier). No index, no
   *   batch, no delete;
   * - GetItem on round items (`ROUND#<id>`): whether the dossier's round still takes submissions;
   * - PutObject under attachments/ and dossiers/: the files and the snapshots. No GetObject, no
   *   ListBucket: the function never reads an object back (S3 checks Content-MD5 on the PUT itself),
   *   and without a read no 404-versus-403 question arises;
   * - the DS API token. The queue's receive/delete come from the event source.
   */
  private grantIngest(ingest: FunctionWithLogGroup): void {
    const { table, bucket } = this.storage;
    ingest.role.addToPolicy(onItems('DossierItemsOnly', table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'], [DOSSIER_ITEMS_KEY_PATTERN]));
    ingest.role.addToPolicy(onItems('ReadRoundItems', table, ['dynamodb:GetItem'], [ROUND_ITEMS_KEY_PATTERN]));
    ingest.role.addToPolicy(new iam.PolicyStatement({
      sid: 'WriteAttachmentsAndSnapshots',
      actions: ['s3:PutObject'],
      resources: INGEST_OBJECT_PREFIXES.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
    }));
    ingest.role.addToPolicy(readSecret(this.secrets.dsApiToken.secretArn));
    const bucketId = this.getLogicalId(bucket.node.defaultChild as CfnElement);
    for (const prefix of INGEST_OBJECT_PREFIXES) {
      Validations.of(ingest.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `Object keys under ${prefix} are per dossier and per file (content-addressed), unknown in advance; the wildcard is limited to that prefix of the stack's own bucket, with PutObject only.`,
      });
    }
  }
}

/**
 * Shell commands copying the review page's DSFR files (the allow-list of
 * functions/review-page/asset-files.ts) into the bundle's `review-assets/`, where the function
 * looks first (functions/review-page/assets.ts). tar keeps the relative paths, portably.
 */
function copyReviewAssets(inputDir: string, outputDir: string): string[] {
  // The list is read from this checkout (CDK also calls hooks with Docker's placeholder paths).
  const distOf = (root: string) => join(root, 'node_modules', '@gouvfr', 'dsfr', 'dist');
  const dist = distOf(inputDir);
  const target = join(outputDir, BUNDLED_ASSETS_DIR);
  const files = servedFiles(distOf(PROJECT_ROOT)).map((file) => `'${file}'`).join(' ');
  return [`mkdir -p '${target}'`, `tar -C '${dist}' -cf - ${files} | tar -C '${target}' -xf -`];
}

function routePath(functionName: string): string {
  const route = HTTP_ROUTES.find((candidate) => candidate.functionName === functionName);
  if (!route) throw new Error(`infra/routes.ts has no route for ${functionName}`);
  return route.path;
}

/** The given DynamoDB actions on the table's items whose partition key matches one of `leadingKeys` only. */
function onItems(sid: string, table: dynamodb.ITable, actions: string[], leadingKeys: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid, actions, resources: [table.tableArn], conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': leadingKeys } },
  });
}

/** Query on the named indexes only (no index/* wildcard): listings, never a write. */
function queryIndexes(sid: string, table: dynamodb.ITable, indexNames: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, actions: ['dynamodb:Query'], resources: indexNames.map((index) => `${table.tableArn}/index/${index}`) });
}

/** ses:SendEmail as the configured sender's identities, through the stack's configuration set only. */
function sendAsTheSender(mail: Mail): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'SendAsTheSenderOnly', actions: ['ses:SendEmail'], resources: [...mail.identityArns, mail.configurationSetArn] });
}

function sendTo(queueArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'SendToIngestQueue', actions: ['sqs:SendMessage'], resources: [queueArn] });
}

function readSecret(secretArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'ReadOwnSecret', actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] });
}
