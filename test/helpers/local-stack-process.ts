import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The local stack as a user runs it, for end-to-end tests: `npm start` (infra/local/main.ts) in
 * a child process on a free port and a temp DATA_DIR, and the `ds-selection` CLI against it.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Polls `check` every 200 ms until it returns something other than undefined (a throw counts as
 * "not yet"); on timeout throws with `what` and, when given, `context()` (e.g. the stack's output).
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${context ? `\n--- stack output ---\n${context()}` : ''}`);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `local` part of DATA_DIR/stack.json (what the tests read of it). */
export interface LocalStackJson {
  ApiUrl: string;
  LegacyWebhookUrl: string;
  V2WebhookUrl: string;
  local: { mailUrl: string; dsApiUrl: string; reviewPageUrl: string; reviewLinkSecret: string; endpoints: Record<string, string> };
}

export class LocalStackProcess {
  /** Everything the stack printed since its last start (stdout and stderr). */
  output = '';
  private child: ChildProcess | undefined;

  /** The mail page's and the simulator's ports: free ones, chosen at the first start and kept across restarts (as PORT + 1 and + 2 would be). */
  private servicePorts: { MAIL_PORT: string; DS_SIMULATOR_PORT: string } | undefined;

  constructor(readonly dataDir: string, readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts `npm start`'s entry point with the DS simulator; resolves once GET /health answers 200. */
  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    this.output = '';
    this.servicePorts ??= { MAIL_PORT: String(await freePort()), DS_SIMULATOR_PORT: String(await freePort()) };
    const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(this.port), ...this.servicePorts, DATA_DIR: this.dataDir, DS_API_TOKEN: '', DS_API_URL: '', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (chunk) => { this.output += chunk; });
    child.stderr!.on('data', (chunk) => { this.output += chunk; });
    await this.waitFor('GET /health', async () => {
      if (child.exitCode !== null) throw new Error(`the stack exited with code ${child.exitCode}`);
      return (await fetch(`${this.url}/health`)).status === 200 ? true : undefined;
    }, 60_000);
  }

  /** SIGTERM, and waits for the process to exit (it releases the DATA_DIR lock and stack.json). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    return waitFor(what, check, timeoutMs, () => this.output);
  }

  /** Runs `ds-selection <args> --data-dir DATA_DIR`; never throws on a non-zero exit. */
  async cli(...args: string[]): Promise<CliResult> {
    try {
      const { stdout, stderr } = await run(process.execPath, ['bin/ds-selection.js', ...args, '--data-dir', this.dataDir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  /** Runs a `--json` command that must succeed, and parses its output. */
  async cliJson<T = unknown>(...args: string[]): Promise<T> {
    const result = await this.cli(...args, '--json');
    if (result.code !== 0) throw new Error(`ds-selection ${args.join(' ')} exited with ${result.code}\n${result.stderr}${result.stdout}`);
    return JSON.parse(result.stdout) as T;
  }

  async stackJson(): Promise<LocalStackJson> {
    return JSON.parse(await readFile(join(this.dataDir, 'stack.json'), 'utf8')) as LocalStackJson;
  }
}
