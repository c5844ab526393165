import type { Context } from 'aws-lambda';
import { vi } from 'vitest';
import { readJson } from './samples.ts';

export const lambdaContext = (functionName = 'test-function'): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:eu-west-3:123456789012:function:${functionName}`,
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: '2026/03/05/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** A sample API Gateway v2 event from events/, with changes. */
export function httpEvent(file: string, patch: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const event = readJson(`events/${file}`);
  return { ...event, ...patch, headers: { ...event.headers, ...headers } };
}

/** Sets env vars for the next dynamic import of a handler module, and restores them after. */
export function withEnv(vars: Record<string, string>) {
  const previous = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * Collects the functions' log lines into `lines` (Powertools writes JSON lines with
 * `"service":"ds-selection"` to stdout, warnings and errors to stderr) and keeps them off the
 * test output; anything else is written as usual. `vi.restoreAllMocks()` undoes it.
 */
export function captureFunctionLogs(lines: string[]): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = chunk.toString();
      if (!text.includes('"service":"ds-selection"')) return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      lines.push(text);
      return true;
    }) as typeof stream.write);
  }
}
