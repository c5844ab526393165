import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, Context } from 'aws-lambda';
import { DEFAULT_DS_API_URL } from '#schemas/env';
import { HTTP_ROUTES } from '../routes.ts';
import { INGEST_PIPELINE } from '../pipeline-settings.ts';
import { schedulesFor } from '../schedules.ts';
import { DEFAULT_MOTIVATIONS, LOCAL_WRITE_BACK_FILE, type LocalWriteBack } from '#schemas/write-back';
import { SIMULATOR_INSTRUCTEUR_ID } from './ds-simulator-mutations.ts';
import type { StackOutputs } from '../stack-outputs.ts';
import { lockDataDir, removeIfOwned } from './data-dir-lock.ts';
import { DsSimulator, type DsSimulatorOptions } from './ds-simulator.ts';
import { EnginePortInUseError, ensureBucket, ensureTable, localClients, LOCAL_CREDENTIALS, LOCAL_REGION, startEngines } from './engines.ts';
import { HttpGateway, type HttpHandler } from './http-gateway.ts';
import { loadLocalSecrets } from './local-secrets.ts';
import { QueueConsumer } from './queue-consumer.ts';
import { LocalScheduler, type ScheduledHandler } from './scheduler.ts';

/**
 * The whole system on one machine: the embedded engines, the same handler modules the
 * Lambdas run (behind a local HTTP API, a local SQS event source and the schedules), and a DS
 * simulator when no DS token is given. Handlers reach the engines through the standard
 * AWS_ENDPOINT_URL_* variables, exactly as the SDK would reach AWS.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const LOCAL_NAMES = {
  table: 'ds-selection',
  bucket: 'ds-selection-attachments',
  ingestQueue: 'ds-selection-ingest',
  deadLetterQueue: 'ds-selection-ingest-dlq',
} as const;

export interface LocalStackOptions {
  port: number;
  /**
   * The mail page (local SES) and the DS simulator: stable across restarts (main.ts derives them
   * from PORT), 0 for any free port.
   */
  servicePorts?: { mail: number; simulator: number };
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** Called with one line per ingested batch (the CLI-facing activity log). */
  log?: (line: string) => void;
}

export interface RunningLocalStack {
  outputs: StackOutputs;
  simulator?: DsSimulator;
  stop(): Promise<void>;
}

/** One line on what a scheduled run did: reconciliations queue messages, round steps change a round. */
function describeRun(result: unknown): string {
  const { queued, changed, roundId, status } = (result ?? {}) as { queued?: number; changed?: boolean; roundId?: string | null; status?: string | null };
  if (queued !== undefined) return `${queued} message(s) queued`;
  if (changed !== undefined) return `round ${roundId ?? '-'} ${changed ? `now ${status}` : `unchanged (${status ?? 'no round'})`}`;
  return 'done';
}

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

async function importHandler<T>(functionName: string): Promise<T> {
  return (await import(join(ROOT, 'functions', `${functionName}.ts`))).handler as T;
}

async function bindGateway(port: number): Promise<{ gateway: HttpGateway; port: number }> {
  const gateway = new HttpGateway();
  try {
    return { gateway, port: await gateway.listen(port) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new PortInUseError(`port ${port} is already in use (is another \`npm start\` running?): stop it or start with PORT=<another port>`);
  }
}

/**
 * Write-back locally (DS_WRITE_BACK=1, off by default): against the simulator with its write token
 * and instructeur, or against the real DS with DS_WRITE_TOKEN and DS_INSTRUCTEUR_ID.
 */
function localWriteBack(env: NodeJS.ProcessEnv, ds: { url: string; simulator?: DsSimulator }, simulatorWriteToken: string): LocalWriteBack | undefined {
  const flag = (env.DS_WRITE_BACK ?? '').trim();
  if (!['', '0', '1', 'false', 'true'].includes(flag)) throw new Error('DS_WRITE_BACK: must be 1 (write decisions back to DS) or 0');
  if (flag !== '1' && flag !== 'true') return undefined;
  if (!ds.simulator && !(env.DS_WRITE_TOKEN && env.DS_INSTRUCTEUR_ID)) {
    throw new Error('DS_WRITE_BACK: against the real DS (DS_API_TOKEN set) it needs DS_WRITE_TOKEN (a token with write access) and DS_INSTRUCTEUR_ID');
  }
  return {
    dsApiUrl: ds.url,
    writeToken: ds.simulator ? simulatorWriteToken : env.DS_WRITE_TOKEN!,
    settings: { instructeurId: ds.simulator ? SIMULATOR_INSTRUCTEUR_ID : env.DS_INSTRUCTEUR_ID!, motivations: { ...DEFAULT_MOTIVATIONS } },
  };
}

async function startDs(env: NodeJS.ProcessEnv, simulatorToken: string, webhooks: DsSimulatorOptions['webhooks'], port: number, simulatorWriteToken?: string) {
  if (env.DS_API_TOKEN) {
    return { url: env.DS_API_URL || DEFAULT_DS_API_URL, token: env.DS_API_TOKEN, simulator: undefined };
  }
  const simulator = await new DsSimulator({
    token: simulatorToken, seedDir: join(ROOT, 'events', 'dossiers'), port,
    virusScanMs: Number(env.DS_SIMULATOR_VIRUS_SCAN_SECONDS ?? 0) * 1000, webhooks,
    ...(simulatorWriteToken ? { writeBack: { writeToken: simulatorWriteToken } } : {}),
  }).start().catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    throw new PortInUseError(`port ${port} (the DS simulator) is already in use: stop what uses it, or start with DS_SIMULATOR_PORT=<another port>`);
  });
  return { url: simulator.graphqlUrl, token: simulatorToken, simulator };
}

export async function startLocalStack(options: LocalStackOptions): Promise<RunningLocalStack> {
  const { env, log = () => {} } = options;
  const dataDir = resolve(options.dataDir);
  const { gateway, port } = await bindGateway(options.port);
  // DATA_DIR holds personal data and secrets: whatever the stack and its engines create is private
  // to this user (folders 0700, files 0600); the user's umask is back once the stack stops.
  const previousUmask = process.umask(0o077);
  const cleanups: (() => Promise<unknown>)[] = [async () => { process.umask(previousUmask); }, () => gateway.close()];
  const stop = async () => { for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {}); };
  try {
    cleanups.push(await lockDataDir(dataDir));
    const secrets = await loadLocalSecrets(dataDir, env);
    const ports = options.servicePorts ?? { mail: 0, simulator: 0 };
    const engines = await startEngines(dataDir, { ses: ports.mail }).catch((error: unknown) => {
      throw error instanceof EnginePortInUseError ? new PortInUseError(error.message) : error;
    });
    cleanups.push(() => engines.stop());
    const clients = localClients(engines.endpoints);
    await Promise.all([ensureTable(clients.dynamodb, LOCAL_NAMES.table), ensureBucket(clients.s3, LOCAL_NAMES.bucket)]);
    // The same settings as the deployed queues (infra/pipeline-settings.ts); the DLQ first, the queue points to it.
    const deadLetterQueue = await engines.sqs.createQueue(LOCAL_NAMES.deadLetterQueue, {
      visibilityTimeoutSeconds: 30, messageRetentionSeconds: INGEST_PIPELINE.dlqRetentionDays * 86_400,
    });
    const ingestQueue = await engines.sqs.createQueue(LOCAL_NAMES.ingestQueue, {
      visibilityTimeoutSeconds: INGEST_PIPELINE.visibilityTimeoutSeconds,
      messageRetentionSeconds: INGEST_PIPELINE.queueRetentionDays * 86_400,
      redrive: { deadLetterQueueName: LOCAL_NAMES.deadLetterQueue, maxReceiveCount: INGEST_PIPELINE.maxReceiveCount },
    });
    const apiUrl = `http://127.0.0.1:${port}`;
    const webhookUrls = { legacyUrl: `${apiUrl}/webhooks/ds/${secrets.webhookToken}`, v2Url: `${apiUrl}/webhooks/ds-v2` };
    const ds = await startDs(env, secrets.simulatorToken, { ...webhookUrls, v2Secret: secrets.webhookV2Secret }, ports.simulator, secrets.simulatorWriteToken);
    if (ds.simulator) cleanups.push(() => ds.simulator!.stop());
    const writeBack = localWriteBack(env, ds, secrets.simulatorWriteToken);
    const writeBackFile = join(dataDir, LOCAL_WRITE_BACK_FILE);
    // The staff CLI's `rounds write-back` reads it; without DS_WRITE_BACK=1 it must not find an old one.
    if (writeBack) await writeFile(writeBackFile, JSON.stringify(writeBack, null, 2), { mode: 0o600 });
    else await rm(writeBackFile, { force: true });

    const demarcheNumbers = (env.DS_DEMARCHE_NUMBER ?? '98765').split(',').map((n) => Number(n.trim()));
    const ingestQueueUrl = ingestQueue.queueUrl;
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: engines.endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: engines.endpoints.s3,
      AWS_ENDPOINT_URL_SQS: engines.endpoints.sqs,
      AWS_ENDPOINT_URL_SESV2: engines.endpoints.ses,
      TABLE_NAME: LOCAL_NAMES.table,
      BUCKET_NAME: LOCAL_NAMES.bucket,
      INGEST_QUEUE_URL: ingestQueueUrl,
      DS_API_URL: ds.url,
      DS_API_TOKEN: ds.token,
      // One process runs every ingest invocation, through one shared pacer: the whole budget.
      DS_API_REQUESTS_PER_MINUTE: env.DS_API_REQUESTS_PER_MINUTE || String(INGEST_PIPELINE.dsRequestBudgetPerMinute),
      DS_DEMARCHE_NUMBER: demarcheNumbers.join(','),
      WEBHOOK_TOKEN: secrets.webhookToken,
      DS_WEBHOOK_V2_SECRET: secrets.webhookV2Secret,
      // run-round-step: the links in the mails point to this stack's review page, signed with this key.
      REVIEW_PAGE_URL: apiUrl,
      REVIEW_LINK_SECRET: secrets.reviewLinkSecret,
      // write-back-decisions (DS_WRITE_BACK=1 only): its own write token, never the read token.
      ...(writeBack ? { DS_WRITE_TOKEN: writeBack.writeToken, WRITE_BACK_SETTINGS: JSON.stringify(writeBack.settings) } : {}),
      POWERTOOLS_LOG_LEVEL: env.LOG_LEVEL ?? 'WARN',
    });

    gateway.serve(await Promise.all(HTTP_ROUTES.map(async (route) => ({
      ...route, handler: await importHandler<HttpHandler>(route.functionName), timeoutSeconds: 30,
    }))));
    const ingest = await importHandler<(event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>>('ingest-dossier');
    const sqsClient = new SQSClient({ endpoint: engines.endpoints.sqs, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const consumer = new QueueConsumer({
      sqsClient, queueUrl: ingestQueueUrl, queueArn: ingestQueue.queueArn,
      handler: ingest, functionName: 'ingest-dossier', timeoutSeconds: INGEST_PIPELINE.functionTimeoutSeconds,
      batchSize: INGEST_PIPELINE.batchSize, maxBatchingWindowSeconds: 0.2, maxConcurrency: INGEST_PIPELINE.maxConcurrency,
      onBatch: ({ size, failed }) => log(`ingest-dossier: ${size - failed} of ${size} message(s) done${failed ? `, ${failed} to retry` : ''}`),
    });
    consumer.start();
    cleanups.push(() => consumer.stop());

    // The schedules of infra/schedules.ts, the same the stack gives EventBridge Scheduler.
    const schedules = schedulesFor({ writeBack: writeBack !== undefined });
    const scheduledFunctions = [...new Set(schedules.map((s) => s.functionName))];
    const scheduler = new LocalScheduler({
      schedules,
      handlers: Object.fromEntries(await Promise.all(scheduledFunctions.map(async (name) => [name, await importHandler<ScheduledHandler>(name)]))),
      onRun: (run) => log(`${run.schedule}: ${run.ok ? describeRun(run.result) : `failed (${run.error?.name})`}`),
    });
    scheduler.start();
    cleanups.push(() => scheduler.stop());
    // RUN_SCHEDULES_AT_START=reconcile-dossiers runs a schedule once now instead of at its next fire time.
    for (const name of (env.RUN_SCHEDULES_AT_START ?? '').split(',').map((n) => n.trim()).filter(Boolean)) {
      void scheduler.runNow(name);
    }

    const outputs: StackOutputs = {
      stage: 'local', region: LOCAL_REGION, ApiUrl: apiUrl,
      LegacyWebhookUrl: webhookUrls.legacyUrl, V2WebhookUrl: webhookUrls.v2Url,
      TableName: LOCAL_NAMES.table, BucketName: LOCAL_NAMES.bucket,
      IngestQueueUrl: ingestQueueUrl, DeadLetterQueueUrl: deadLetterQueue.queueUrl,
      local: {
        endpoints: engines.endpoints, dsApiUrl: ds.url, dsApiToken: ds.token,
        // A copy: the SDK marks the credential objects it was given (`$source`); the CLI needs the two keys only.
        credentials: { accessKeyId: LOCAL_CREDENTIALS.accessKeyId, secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey },
        demarcheNumbers, mailUrl: `${engines.endpoints.ses}/`, reviewPageUrl: apiUrl, reviewLinkSecret: secrets.reviewLinkSecret,
        dataDir, pid: process.pid,
      },
    };
    const outputsFile = join(dataDir, 'stack.json');
    // Written whole or not at all (a crash must not leave a half file the CLI would read).
    await writeFile(`${outputsFile}.tmp`, JSON.stringify(outputs, null, 2), { mode: 0o600 });
    await rename(`${outputsFile}.tmp`, outputsFile);
    await chmod(outputsFile, 0o600); // a leftover .tmp from a hard kill kept its own mode through writeFile
    cleanups.push(() => removeIfOwned(outputsFile, (text) => JSON.parse(text).local?.pid === process.pid));
    gateway.markReady();
    return { outputs, ...(ds.simulator ? { simulator: ds.simulator } : {}), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
