import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** True when a process with this pid exists (signal 0 only checks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One local stack per DATA_DIR: two would corrupt dynalite's LevelDB. A stale lock (its
 * process is gone, e.g. after a crash) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const lock = join(dataDir, 'stack.lock');
  const holder = Number(await readFile(lock, 'utf8').catch(() => ''));
  if (holder && holder !== process.pid && isAlive(holder)) {
    throw new Error(`${dataDir} is in use by another local stack (pid ${holder}); stop it or set DATA_DIR to another folder`);
  }
  await writeFile(lock, String(process.pid));
  return () => removeIfOwned(lock, (text) => Number(text) === process.pid);
}

/** Removes `file` only if it is still ours: another stack may have taken the folder over since. */
export async function removeIfOwned(file: string, isOurs: (text: string) => boolean): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text !== undefined && isOurs(text)) await rm(file, { force: true });
}
