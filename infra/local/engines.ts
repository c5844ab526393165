import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
 * dynalite (DynamoDB), s3rver (S3), the local SQS, and aws-ses-v2-local (SES, mails kept in
 * memory and shown on its web page).
 */

const require = createRequire(import.meta.url);
// dynalite ships no types; this is the part of its API used here.
const dynalite = require('dynalite') as (options: { path?: string; createTableMs?: number }) => Server;
// aws-ses-v2-local is CommonJS with a default export.
const sesServer = (require('aws-ses-v2-local') as typeof import('aws-ses-v2-local')).default;

/** s3rver accepts requests signed with these; the other engines accept any. */
export const LOCAL_CREDENTIALS = S3RVER_CREDENTIALS;
export const LOCAL_REGION = 'eu-west-3';

export interface LocalEngines {
  endpoints: { dynamodb: string; s3: string; sqs: string; ses: string };
  sqs: LocalSqs;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startEngines(dataDir: string): Promise<LocalEngines> {
  await Promise.all(['dynamodb', 's3', 'sqs'].map((dir) => mkdir(join(dataDir, dir), { recursive: true })));
  const dynamo = dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 0 });
  const sqs = new LocalSqs({ dataDir: join(dataDir, 'sqs'), region: LOCAL_REGION });
  const ses = await sesServer({ host: '127.0.0.1', port: 0 });

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
      await Promise.allSettled([closeServer(dynamo), s3.stop(), sqs.stop(), closeServer(ses)]);
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
