import { expect } from 'vitest';
import { run } from '../../infra/cli/main.ts';
import type { CliIo } from '../../infra/cli/output.ts';

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs the CLI in this process against the stack of `dataDir`, capturing its output and exit code. */
export function cliRunner(locate: () => { dataDir: string; workDir: string }) {
  async function cli(...argv: string[]): Promise<CliResult> {
    const { dataDir, workDir } = locate();
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (text: string) => { stdout += text; } },
      stderr: { write: (text: string) => { stderr += text; } },
      env: {},
      cwd: workDir,
    };
    const code = await run(['--data-dir', dataDir, ...argv], io);
    return { code, stdout, stderr };
  }

  async function cliJson<T = any>(...argv: string[]): Promise<T> {
    const result = await cli(...argv, '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  return { cli, cliJson };
}
