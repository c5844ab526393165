import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createDynamoDbClient } from '#adapters/dynamodb/client';
import { tableDefinition } from '#adapters/dynamodb/table';
import { createS3Client } from '#adapters/s3/client';
import { S3RVER_CREDENTIALS, startS3rverEngine } from './s3rver.ts';
import { LocalSqs } from './sqs-server.ts';

/**
 * The embedded engines of the local mode, each in this process, persisting under DATA_DIR:
 * dynalite (DynamoDB), s3rver (S3), the local SQS, and aws-ses-v2-local (SES: its web page and
 * `GET /store` show the mails, kept in DATA_DIR/ses/mails.json).
 */

const require = createRequire(import.meta.url);
// dynalite ships no types; this is the part of its API used here.
const dynalite = require('dynalite') as (options: { path?: string; createTableMs?: number }) => Server;
// aws-ses-v2-local is CommonJS with a default export.
const sesServer = (require('aws-ses-v2-local') as typeof import('aws-ses-v2-local')).default;
// Its in-memory store (the same module instance its server writes to), read and restored by the mail store file.
const sesStore = require('aws-ses-v2-local/dist/store.js') as { getStoreReadonly(): { emails: unknown[] } };

/** Where the local SES keeps its mails, so that they survive a restart like everything else in DATA_DIR. */
export const MAIL_STORE_FILE = join('ses', 'mails.json');
const MAIL_STORE_FLUSH_MS = 250;

/** s3rver accepts requests signed with these; the other engines accept any. */
export const LOCAL_CREDENTIALS = S3RVER_CREDENTIALS;
export const LOCAL_REGION = 'eu-west-3';

export interface EnginePorts {
  /** The local SES (its web page shows the mails); 0 for any free port. */
  ses: number;
}

export class EnginePortInUseError extends Error {
  override name = 'EnginePortInUseError';
}

export interface LocalEngines {
  endpoints: { dynamodb: string; s3: string; sqs: string; ses: string };
  sqs: LocalSqs;
  stop(): Promise<void>;
}

async function portIsFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function listen(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Keeps aws-ses-v2-local's mails in `file`: restores them at start, writes them (atomically) a
 * moment after they change and at stop. Its `POST /clear-store` empties the file too.
 */
async function persistMailStore(file: string): Promise<{ stop(): Promise<void> }> {
  const store = sesStore.getStoreReadonly();
  const saved = await readFile(file, 'utf8').then((text) => JSON.parse(text) as unknown, () => []);
  if (Array.isArray(saved) && store.emails.length === 0) store.emails.push(...saved);
  let written = JSON.stringify(store.emails);
  const flush = async () => {
    const now = JSON.stringify(store.emails);
    if (now === written) return;
    await writeFile(`${file}.tmp`, now, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    written = now;
  };
  const timer = setInterval(() => void flush().catch(() => {}), MAIL_STORE_FLUSH_MS);
  timer.unref();
  return { async stop() { clearInterval(timer); await flush(); } };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Half-written files a hard kill can leave: the local SQS and the mail store write `<file>.tmp`
 * then rename it. Harmless to the engines (the old file is intact) but left forever otherwise.
 * s3rver's partial uploads are removed by startS3rverEngine.
 */
const LEFTOVER_TEMP_FILES = [join('sqs', 'queues.json.tmp'), `${MAIL_STORE_FILE}.tmp`];

export async function startEngines(dataDir: string, ports: EnginePorts = { ses: 0 }): Promise<LocalEngines> {
  // Private folders (they hold dossiers and mails), existing ones included: a mode given at creation fixes nothing later.
  await Promise.all(['dynamodb', 's3', 'sqs', 'ses'].map(async (dir) => {
    await mkdir(join(dataDir, dir), { recursive: true, mode: 0o700 });
    await chmod(join(dataDir, dir), 0o700);
  }));
  await Promise.all(LEFTOVER_TEMP_FILES.map((file) => rm(join(dataDir, file), { force: true })));
  const dynamo = dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 0 });
  const sqs = new LocalSqs({ dataDir: join(dataDir, 'sqs'), region: LOCAL_REGION });
  // aws-ses-v2-local's listen error is not catchable (its promise never settles): probe the port first.
  if (ports.ses !== 0 && !(await portIsFree(ports.ses))) {
    throw new EnginePortInUseError(`port ${ports.ses} (the local mail page) is already in use: stop what uses it, or start with MAIL_PORT=<another port>`);
  }
  const ses = await sesServer({ host: '127.0.0.1', port: ports.ses });
  const mails = await persistMailStore(join(dataDir, MAIL_STORE_FILE));

  const [dynamodbEndpoint, s3, sqsStarted] = await Promise.all([
    listen(dynamo), startS3rverEngine({ directory: join(dataDir, 's3') }), sqs.start(),
  ]);
  return {
    endpoints: {
      dynamodb: dynamodbEndpoint,
      s3: s3.endpoint,
      sqs: sqsStarted.endpoint,
      ses: `http://127.0.0.1:${(ses.address() as AddressInfo).port}`,
    },
    sqs,
    async stop() {
      await Promise.allSettled([closeServer(dynamo), s3.stop(), sqs.stop(), closeServer(ses), mails.stop()]);
    },
  };
}

/** Creates the table unless it exists (data survives restarts). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
  }
}

/** Creates the bucket unless it exists (s3rver has no versioning; keys are content-addressed anyway). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

export function localClients(endpoints: LocalEngines['endpoints']) {
  const options = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  return {
    dynamodb: createDynamoDbClient({ ...options, endpoint: endpoints.dynamodb }),
    s3: createS3Client({ ...options, endpoint: endpoints.s3 }),
  };
}
