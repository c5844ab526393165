import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoDossierRepository } from '#adapters/dynamodb/dossier-repository';
import { DynamoRoundDossiers } from '#adapters/dynamodb/round-dossiers';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { DynamoWriteBackRepository } from '#adapters/dynamodb/write-back-repository';
import { DsGraphqlClient } from '#adapters/ds-api/graphql-client';
import { createS3Client } from '#adapters/s3/client';
import { S3AttachmentStore } from '#adapters/s3/attachment-store';
import { S3ReportStore } from '#adapters/s3/report-store';
import { createSesClient } from '#adapters/ses/client';
import { SesMailer } from '#adapters/ses/mailer';
import { createSqsClient } from '#adapters/sqs/client';
import { SqsIngestQueue } from '#adapters/sqs/ingest-queue';
import type { DossierRecord } from '#core/dossier';
import type { Mailer } from '#core/rounds/ports';
import type { RoundStepDependencies } from '#core/rounds/run-round-step';
import type { ReviewLinkSettings } from '#core/rounds/review-links';
import { DEFAULT_DS_API_URL } from '#schemas/env';
import type { RoundsConfig } from '#schemas/rounds';
import { ROUNDS_CONFIG, roundsConfigOf } from '#shared/rounds-config';
import { eligibilityOf } from '#core/eligibility';
import { JURY_CONFIG } from '#shared/jury-config';
import { ELIGIBILITY_RULES } from '#shared/eligibility-config';
import { StackOutputsSchema, type StackOutputs } from '#infra/stack-outputs';
import { StageConfigSchema, type StageConfig } from '#infra/stage-config';
import { StackUnreachableError, UsageError } from './errors.ts';
import { isAlive } from '../local/data-dir-lock.ts';
import type { CliIo } from './output.ts';

/**
 * How the CLI finds the stack it talks to, and the adapters it then uses: the very classes
 * the Lambdas use (functions/adapters), pointed at the local engines or at a deployed stage.
 */

export interface GlobalOptions {
  /** A deployed stage; absent: the local stack. */
  stage?: string;
  dataDir?: string;
  region?: string;
}

export interface ResolvedStack {
  outputs: StackOutputs;
  /** For messages: `the local stack (.data/stack.json)`, `stage dev (DsSelection-dev, eu-west-3)`. */
  description: string;
  /** The stage's infra/stages/<name>.json when there is one (démarches, DS URL). */
  stageConfig?: StageConfig;
  /** Every CloudFormation output, including those StackOutputs does not name (e.g. `DemarcheNumbers`). */
  rawOutputs: Record<string, string>;
}

export interface DsAccess {
  client: DsGraphqlClient;
  demarcheNumbers: number[];
}

export interface Connection {
  stack: ResolvedStack;
  outputs: StackOutputs;
  dossiers: DynamoDossierRepository;
  files: S3AttachmentStore;
  sqs: SQSClient;
  ingestQueue: SqsIngestQueue;
  /** The round records (rounds, reviewers, assignments, reviews, decisions, audit), in the same table. */
  rounds: DynamoRoundRepository;
  /** The dossiers of a round, every page. */
  roundDossiers: DynamoRoundDossiers;
  /** Write-back records (`WRITEBACK#`) and audit of `rounds write-back`, in the same table. */
  writeBacks: DynamoWriteBackRepository;
  reports: S3ReportStore;
  /** schemas/rounds-config.json, with the stage's sender (infra/stages/<name>.json `mailFrom`) when it has one. */
  roundsConfig: RoundsConfig;
  /**
   * What a round step needs, as run-round-step has it: the same repositories, SES (the local
   * engine, or the stage's SES with its configuration set when the stack outputs it), and the
   * review link settings (for a stage, the key is read from the ReviewLinkSecretArn secret).
   * `wrapMailer` lets the command count the mails as they go (its progress bar).
   */
  roundStepDependencies(wrapMailer?: (mailer: Mailer) => Mailer): Promise<RoundStepDependencies>;
  /**
   * The DS API as the stack sees it, resolved on demand (for a stage it reads the token
   * secret, which only `sync` needs). `demarches` overrides the configured démarches.
   */
  ds(demarches?: number[]): Promise<DsAccess>;
  close(): void;
}

const STACK_FILE = 'stack.json';
const stackNameOf = (stage: string) => `DsSelection-${stage}`;
/** The same rule as StageConfigSchema's name: refuses anything that could not be a stack. */
const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

export function localDataDir(globals: GlobalOptions, io: CliIo): string {
  const dir = globals.dataDir ?? (io.env.DATA_DIR || '.data');
  return isAbsolute(dir) ? dir : resolve(io.cwd, dir);
}

export async function resolveStack(globals: GlobalOptions, io: CliIo): Promise<ResolvedStack> {
  return globals.stage === undefined ? readLocalStack(globals, io) : describeStage(globals.stage, globals.region, io);
}

const NOT_RUNNING = 'the local stack is not running: start it with `npm start`';

async function readLocalStack(globals: GlobalOptions, io: CliIo): Promise<ResolvedStack> {
  const path = resolve(localDataDir(globals, io), STACK_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StackUnreachableError(`${NOT_RUNNING} (no ${path}; pass --data-dir if it runs with another DATA_DIR, or --stage NAME for a deployed stage)`);
    }
    throw new StackUnreachableError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StackUnreachableError(`${path} is not JSON: delete it and restart the local stack with \`npm start\``);
  }
  const parsed = StackOutputsSchema.safeParse(json);
  if (!parsed.success) {
    throw new StackUnreachableError(`${path} is not a valid stack file:\n${z.prettifyError(parsed.error)}`);
  }
  const outputs = parsed.data;
  if (!outputs.local) throw new StackUnreachableError(`${path} has no \`local\` section: it was not written by \`npm start\``);
  // stack.json survives the stack (it lives in DATA_DIR); the pid says whether it is still up.
  if (!isAlive(outputs.local.pid)) {
    throw new StackUnreachableError(`${NOT_RUNNING} (${path} names process ${outputs.local.pid}, which has exited)`);
  }
  const rawOutputs = Object.fromEntries(Object.entries(outputs).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  return { outputs, description: `the local stack (${path})`, rawOutputs };
}

async function describeStage(stage: string, regionOption: string | undefined, io: CliIo): Promise<ResolvedStack> {
  if (!STAGE_NAME.test(stage)) {
    throw new UsageError(`invalid --stage "${stage}": lower-case letters, digits and dashes, starting with a letter`);
  }
  const stageConfig = await readStageConfig(stage);
  const region = regionOption ?? (io.env.AWS_REGION || undefined) ?? stageConfig?.region;
  const stackName = stackNameOf(stage);
  const cloudFormation = new CloudFormationClient(region ? { region } : {});
  try {
    let stack: Stack | undefined;
    try {
      stack = (await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    } catch (error) {
      if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
        throw new StackUnreachableError(
          `stack ${stackName} not found in ${await regionOf(cloudFormation)}: deploy it (npx cdk deploy ${stackName}) or check --stage and --region`,
        );
      }
      throw error;
    }
    const resolvedRegion = await regionOf(cloudFormation);
    const rawOutputs = Object.fromEntries(
      (stack?.Outputs ?? []).flatMap((output) => (output.OutputKey && output.OutputValue !== undefined ? [[output.OutputKey, output.OutputValue]] : [])),
    );
    const parsed = StackOutputsSchema.safeParse({ ...rawOutputs, stage, region: resolvedRegion });
    if (!parsed.success) {
      throw new StackUnreachableError(
        `stack ${stackName} (${resolvedRegion}, status ${stack?.StackStatus ?? 'unknown'}) lacks outputs the CLI needs: redeploy it\n${z.prettifyError(parsed.error)}`,
      );
    }
    return {
      outputs: parsed.data,
      description: `stage ${stage} (${stackName}, ${resolvedRegion})`,
      rawOutputs,
      ...(stageConfig ? { stageConfig } : {}),
    };
  } finally {
    cloudFormation.destroy();
  }
}

async function regionOf(client: CloudFormationClient): Promise<string> {
  return client.config.region();
}

/**
 * infra/stages/<stage>.json when this checkout has it: the region to look in when none is given,
 * and the démarches and DS URL `sync` needs (the stack outputs do not carry them). An unreadable
 * file is ignored here: `cdk synth` reports it properly.
 */
async function readStageConfig(stage: string): Promise<StageConfig | undefined> {
  let text: string;
  try {
    text = await readFile(new URL(`../stages/${stage}.json`, import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = StageConfigSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the adapters for the stack; nothing is called until a command uses them. */
export async function connect(globals: GlobalOptions, io: CliIo): Promise<Connection> {
  const stack = await resolveStack(globals, io);
  const { outputs } = stack;
  const local = outputs.local;
  const region = globals.region ?? outputs.region;
  // Local engines get their endpoints and dummy keys; a stage uses the default AWS credential chain.
  const clientOptions = (endpoint: string | undefined) => ({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(local ? { credentials: local.credentials } : {}),
  });
  const documentClient: DynamoDBDocumentClient = createDocumentClient(clientOptions(local?.endpoints.dynamodb));
  const s3: S3Client = createS3Client(clientOptions(local?.endpoints.s3), io.env);
  const sqs: SQSClient = createSqsClient(clientOptions(local?.endpoints.sqs));
  // Only the round steps send mail: the SES client is created when one asks for it.
  let ses: SESv2Client | undefined;
  const dossiers = new DynamoDossierRepository({ client: documentClient, tableName: outputs.TableName });
  const rounds = new DynamoRoundRepository({ client: documentClient, tableName: outputs.TableName });
  const roundDossiers = new DynamoRoundDossiers({ dossiers });
  const reports = new S3ReportStore({ client: s3, bucket: outputs.BucketName });
  // A stage's configuration is the one its stage file names (what its functions run with); the
  // local stack's is ROUNDS_CONFIG of this shell, as for `npm start` (docs/configuration.md).
  const baseConfig = stack.stageConfig?.roundsConfig ? roundsConfigOf(stack.stageConfig.roundsConfig) : ROUNDS_CONFIG;
  const roundsConfig: RoundsConfig = { ...baseConfig, mailFrom: stack.stageConfig?.mailFrom ?? baseConfig.mailFrom };
  const onRetry = (notice: { operationName: string; attempt: number; delayMs: number; reason: string }) => {
    io.stderr.write(`DS ${notice.operationName}: attempt ${notice.attempt} failed (${notice.reason}), retrying in ${(notice.delayMs / 1000).toFixed(1)} s\n`);
  };
  return {
    stack,
    outputs,
    dossiers,
    files: new S3AttachmentStore({ client: s3, bucket: outputs.BucketName }),
    sqs,
    ingestQueue: new SqsIngestQueue({ client: sqs, queueUrl: outputs.IngestQueueUrl }),
    rounds,
    roundDossiers,
    writeBacks: new DynamoWriteBackRepository({ client: documentClient, tableName: outputs.TableName }),
    reports,
    roundsConfig,
    async roundStepDependencies(wrapMailer = (mailer) => mailer) {
      const reviewLinks = await reviewLinkSettings(stack, region);
      ses ??= createSesClient(clientOptions(local?.endpoints.ses));
      const configurationSetName = local ? undefined : stack.rawOutputs[MAIL_CONFIGURATION_SET_OUTPUT];
      const mailer = new SesMailer({ client: ses, from: roundsConfig.mailFrom, ...(configurationSetName ? { configurationSetName } : {}) });
      return {
        rounds,
        dossiers: roundDossiers,
        mailer: wrapMailer(mailer),
        reports,
        config: roundsConfig,
        clock: { now: () => new Date() },
        reviewLinks,
        eligibilityOf: dossierEligibility,
        jury: JURY_CONFIG,
      };
    },
    async ds(demarches) {
      const { url, token } = local
        ? { url: local.dsApiUrl, token: local.dsApiToken }
        : { url: stack.stageConfig?.dsApiUrl ?? DEFAULT_DS_API_URL, token: await readDsToken(outputs, region) };
      const demarcheNumbers = demarches?.length ? demarches : configuredDemarches(stack);
      if (demarcheNumbers.length === 0) {
        throw new StackUnreachableError(
          `no démarche configured for ${stack.description}: pass --demarche N (or list demarcheNumbers in infra/stages/${outputs.stage}.json)`,
        );
      }
      return { client: new DsGraphqlClient({ url, token, onRetry, userAgent: 'ds-selection-cli' }), demarcheNumbers };
    },
    close() {
      documentClient.destroy();
      s3.destroy();
      sqs.destroy();
      ses?.destroy();
    },
  };
}

/** The eligibility flag the report shows, under the rules of schemas/eligibility-config.json (as the stack's functions). */
export const dossierEligibility = (dossier: Pick<DossierRecord, 'project'>) => eligibilityOf(dossier.project, ELIGIBILITY_RULES);

/**
 * The stack output naming the SES configuration set run-round-step sends through (bounces and
 * complaints then suppress addresses). Optional: without it, mails sent from the CLI skip the set.
 */
export const MAIL_CONFIGURATION_SET_OUTPUT = 'MailConfigurationSetName';

/**
 * Where the links in the reviewers' mails point, and the key that signs them: the very settings
 * of the stack's run-round-step, so a link mailed by the CLI opens the stack's review page.
 * Local: `reviewPageUrl` and `reviewLinkSecret` of stack.json. Stage: ApiUrl and the secret
 * of the ReviewLinkSecretArn output.
 */
async function reviewLinkSettings(stack: ResolvedStack, region: string): Promise<ReviewLinkSettings> {
  const { outputs } = stack;
  if (outputs.local) {
    const secret = outputs.local.reviewLinkSecret;
    if (!secret) {
      throw new StackUnreachableError(`${stack.description} gives no review link secret (local.reviewLinkSecret): restart the local stack with \`npm start\``);
    }
    return { baseUrl: outputs.local.reviewPageUrl ?? outputs.ApiUrl, secret };
  }
  const arn = outputs.ReviewLinkSecretArn;
  if (!arn) throw new StackUnreachableError(`stack ${stackNameOf(outputs.stage)} has no ReviewLinkSecretArn output: redeploy it`);
  const secret = await readSecret(arn, region);
  if (!secret) throw new StackUnreachableError(`the review link secret ${arn} is empty: redeploy the stack (CloudFormation generates it)`);
  return { baseUrl: outputs.ApiUrl, secret };
}

/** A Secrets Manager secret's string, trimmed ('' when it has none). */
async function readSecret(arn: string, region: string): Promise<string> {
  const secrets = new SecretsManagerClient({ region });
  try {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
    return SecretString?.trim() ?? '';
  } finally {
    secrets.destroy();
  }
}

/** Local: what the stack runs with; stage: a `DemarcheNumbers` output (comma-separated) if the stack has one, else the stage file. */
function configuredDemarches(stack: ResolvedStack): number[] {
  if (stack.outputs.local) return stack.outputs.local.demarcheNumbers;
  const output = stack.rawOutputs.DemarcheNumbers;
  if (output) return output.split(',').map((part) => Number(part.trim())).filter((n) => Number.isInteger(n) && n > 0);
  return stack.stageConfig?.demarcheNumbers ?? [];
}

async function readDsToken(outputs: StackOutputs, region: string): Promise<string> {
  const arn = outputs.DsApiTokenSecretArn;
  if (!arn) throw new StackUnreachableError(`stack ${stackNameOf(outputs.stage)} has no DsApiTokenSecretArn output: redeploy it`);
  const token = await readSecret(arn, region);
  if (!token) {
    throw new StackUnreachableError(`the DS API token secret is empty: fill it with "aws secretsmanager put-secret-value --secret-id ${arn} --secret-string TOKEN"`);
  }
  return token;
}
