/**
 * The local stack in this process for the benchmarks (startLocalStack on free ports and a temp
 * DATA_DIR), with what they need around it: a hand on the ingest consumer (pause, resume,
 * drain), the staff CLI against it, and counts of the AWS SDK calls made in this process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startLocalStack, type RunningLocalStack } from '../infra/local/local-stack.ts';
import { QueueConsumer } from '../infra/local/queue-consumer.ts';
import { ROOT } from './lib.ts';

const run = promisify(execFile);

/** The stack builds its consumer inside startLocalStack: keep a hand on it. */
const consumers: QueueConsumer[] = [];
const originalStart = QueueConsumer.prototype.start;
QueueConsumer.prototype.start = function patchedStart(this: QueueConsumer) {
  if (!consumers.includes(this)) consumers.push(this);
  return originalStart.call(this);
};

/** SDK calls by service (the client's class) and command, and the time spent in them. */
export class SdkCalls {
  readonly counts = new Map<string, number>();
  readonly ms = new Map<string, number>();
  private enabled = false;

  start(): void { this.enabled = true; }
  stop(): void { this.enabled = false; }
  reset(): void { this.counts.clear(); this.ms.clear(); }

  record(service: string, command: string, ms: number): void {
    if (!this.enabled) return;
    const key = `${service}.${command}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.ms.set(service, (this.ms.get(service) ?? 0) + ms);
  }

  /** Calls of one service (`DynamoDB`, `S3`, `SQS`, `SESv2`). */
  total(service: string): number {
    let sum = 0;
    for (const [key, count] of this.counts) if (key.startsWith(`${service}.`)) sum += count;
    return sum;
  }

  byCommand(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort());
  }
}

export const sdkCalls = new SdkCalls();

/**
 * Wraps `send` of the SDK's base client class (one per copy of @smithy/core installed), so every
 * client of this process is counted: the document client's calls reach DynamoDBClient's handler
 * without its `send`, so DynamoDB is counted once, as DynamoDBDocumentClient or DynamoDBClient.
 */
function countSdkCalls(): void {
  const bases = new Set([DynamoDBClient, S3Client, SQSClient, SESv2Client].map((client) => Object.getPrototypeOf(client.prototype)));
  for (const base of bases) {
    const send = base.send as (...args: unknown[]) => Promise<unknown>;
    base.send = function countedSend(this: object, command: object, ...rest: unknown[]) {
      const service = this.constructor.name.replace(/(Document)?Client$/, '');
      const started = performance.now();
      const result = send.call(this, command, ...rest);
      const done = () => sdkCalls.record(service, command.constructor.name.replace(/Command$/, ''), performance.now() - started);
      if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(done, done);
      return result;
    };
  }
}
countSdkCalls();

export interface BenchStack {
  stack: RunningLocalStack;
  consumer: QueueConsumer;
  dataDir: string;
  /** Lines the stack logs (one per ingested batch). */
  log: string[];
  cli(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Runs a `--json` command; a partial failure (exit 5) still returns its JSON and is noted in `partialFailures`. */
  cliJson<T>(...args: string[]): Promise<T>;
  partialFailures: string[];
  stop(): Promise<void>;
}

/**
 * `env`: variables of the stack's own, over this process's. The simulator limits nothing, so the
 * ingest worker is not paced (DS_API_REQUESTS_PER_MINUTE unlimited) unless a benchmark says
 * otherwise (ingest-rate paces it to its limiter): at DS's real 380 a minute, the 2,200 dossiers
 * of rounds-scale would take six minutes to ingest and measure the pace, not the rounds.
 */
const UNPACED = { DS_API_REQUESTS_PER_MINUTE: '1000000' };

export async function startBenchStack(prefix: string, env: Record<string, string> = {}): Promise<BenchStack> {
  const dataDir = await mkdtemp(join(tmpdir(), `bench-${prefix}-`));
  const log: string[] = [];
  const before = consumers.length;
  const stack = await startLocalStack({
    port: 0, dataDir, log: (line) => log.push(line),
    env: { ...process.env, ...UNPACED, ...env, DS_API_TOKEN: '', DS_API_URL: '', LOG_LEVEL: 'ERROR' },
  });
  const consumer = consumers[before]!;
  const partialFailures: string[] = [];
  const cli = async (...args: string[]) => run(process.execPath, ['bin/ds-selection.js', ...args, '--data-dir', dataDir], {
    cwd: ROOT, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  return {
    stack, consumer, dataDir, log, cli,
    async cliJson<T>(...args: string[]) {
      try {
        return JSON.parse((await cli(...args, '--json')).stdout) as T;
      } catch (error) {
        // Exit 5 (partial failure) still prints its JSON: the caller decides what it can use.
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        if (failed.code === 5 && failed.stdout) {
          partialFailures.push(`ds-selection ${args.join(' ')}: ${(failed.stderr ?? '').trim().split('\n').at(-1)}`);
          return JSON.parse(failed.stdout) as T;
        }
        throw error;
      }
    },
    partialFailures,
    async stop() {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Messages of the ingest log lines that failed (to retry), and those done. */
export function ingestOutcome(log: string[]): { done: number; retried: number; batches: number } {
  let done = 0;
  let retried = 0;
  for (const line of log) {
    const match = /^ingest-dossier: (\d+) of (\d+) message\(s\) done(?:, (\d+) to retry)?/.exec(line);
    if (!match) continue;
    done += Number(match[1]);
    retried += Number(match[3] ?? 0);
  }
  return { done, retried, batches: log.length };
}
