/**
 * Shared pieces of the property-based tests of test/reliability/: a tally of the statuses a
 * route answered, a recorder of every AWS SDK command sent, and a few arbitraries of hostile
 * input (malformed percent-escapes, overlong strings, unicode, deep nesting).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { vi } from 'vitest';

/** Runs of each property; `FUZZ_SCALE=0.1` for a quick local try, seed with `FC_SEED`. */
export const scaled = (runs: number): number => Math.max(1, Math.round(runs * Number(process.env.FUZZ_SCALE ?? 1)));
export const fcParameters = <T>(numRuns: number): fc.Parameters<T> => ({
  numRuns: scaled(numRuns),
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
});

/** Statuses answered by one route, printed once at the end: runs, 4xx by status, 2xx/3xx, 5xx. */
export class StatusTally {
  readonly counts = new Map<number, number>();
  runs = 0;
  startedAt = 0;
  lastAt = 0;
  constructor(readonly route: string) {}

  record(status: number): void {
    if (this.runs === 0) this.startedAt = performance.now();
    this.runs++;
    this.lastAt = performance.now();
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
  }

  count(predicate: (status: number) => boolean): number {
    return [...this.counts].filter(([status]) => predicate(status)).reduce((sum, [, n]) => sum + n, 0);
  }

  summary(): string {
    const by = (low: number, high: number) => [...this.counts].filter(([s]) => s >= low && s < high).sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}: ${n}`).join(', ') || 'none';
    const seconds = ((this.lastAt - this.startedAt) / 1000).toFixed(1);
    return `[fuzz] ${this.route}: ${this.runs} runs in ${seconds} s; 4xx ${this.count((s) => s >= 400 && s < 500)} (${by(400, 500)}); `
      + `2xx ${this.count((s) => s >= 200 && s < 300)} (${by(200, 300)}); 3xx ${this.count((s) => s >= 300 && s < 400)} (${by(300, 400)}); `
      + `5xx ${this.count((s) => s >= 500)}`;
  }

  print(): void {
    // Straight to the terminal: the tests silence or capture console and stdout elsewhere.
    process.stderr.write(`${this.summary()}\n`);
  }
}

/** SDK commands that change something: a DynamoDB or S3 write, an SQS message, a mail. */
export const WRITE_COMMAND = /^(Put|Update|Delete|BatchWrite|TransactWrite|SendMessage|SendEmail|SendBulkEmail|CopyObject|CreateMultipartUpload|UploadPart|CompleteMultipartUpload|RestoreObject)/;

/**
 * Records the name of every command any AWS SDK client sends (they all inherit `send` from the
 * Smithy client), passing it through. Classes stubbed by aws-sdk-client-mock shadow this spy on
 * their own prototype: their calls are read from the mock.
 */
export function recordSdkCommands(): { commands: string[]; writes(): string[]; clear(): void } {
  const commands: string[] = [];
  const bases = new Set<object>();
  for (const client of [DynamoDBClient, DynamoDBDocumentClient, S3Client, SESv2Client, SQSClient]) bases.add(Object.getPrototypeOf(client.prototype));
  for (const base of bases) {
    const proto = base as { send: (...args: unknown[]) => unknown };
    const original = proto.send;
    vi.spyOn(proto, 'send').mockImplementation(function (this: unknown, ...args: unknown[]) {
      commands.push((args[0] as object)?.constructor?.name ?? 'unknown');
      return original.apply(this, args);
    });
  }
  return { commands, writes: () => commands.filter((name) => WRITE_COMMAND.test(name)), clear: () => { commands.length = 0; } };
}

/** Strings a hostile client sends: empty, control characters, unicode, malformed escapes, overlong. */
export const hostileString = (): fc.Arbitrary<string> => fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '\r\n', '%', '%E0%A4%A', '%zz', '%%', '%00', '%2F', '../', '..%2F', '\uD800', '\uFFFD', '😀', 'é', 'e\u0301', '<script>', '{}', '[]', 'null', 'NaN', '-0', '1e400') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', '9', '%', 'é', '😀'), fc.integer({ min: 100, max: 20_000 })).map(([c, n]) => c.repeat(n)) },
);

/** A JSON text nested `depth` levels deep, as an array or an object. */
export const deepJson = (): fc.Arbitrary<string> => fc.tuple(fc.boolean(), fc.integer({ min: 50, max: 5_000 }))
  .map(([array, depth]) => (array ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));

/** Header names as clients spell them: the handlers lower-case them first. */
export const headerCase = (name: string): fc.Arbitrary<string> =>
  fc.constantFrom(name, name.toUpperCase(), name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()));
