import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

// `npm start` as a user runs it, stopped as a process manager stops it: a signal to the npm
// process must stop the whole stack (no orphaned node still answering, no lock left behind).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterAll(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }); });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it.each(['SIGTERM', 'SIGINT'] as const)('%s to the npm process stops the stack and frees the port and the lock', async (signal) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ds-selection-signal-'));
  dirs.push(dataDir);
  const port = await freePort();
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT, env: { ...process.env, PORT: String(port), MAIL_PORT: '0', DS_SIMULATOR_PORT: '0', DATA_DIR: dataDir, DS_API_TOKEN: '', DS_API_URL: '' }, stdio: 'ignore',
  });
  const health = async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
  await until('the stack to be ready', health, 60_000);
  expect(existsSync(join(dataDir, 'stack.lock'))).toBe(true);

  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  npm.kill(signal);
  await exited;
  await until('the API to stop answering', async () => !(await health().catch(() => false)), 15_000);
  expect(existsSync(join(dataDir, 'stack.lock'))).toBe(false);
  expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
}, 90_000);
