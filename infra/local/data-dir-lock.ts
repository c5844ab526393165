import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = join(dataDir, 'stack.lock');
  const holder = Number(await readFile(lock, 'utf8').catch(() => ''));
  if (holder && holder !== process.pid && isAlive(holder)) {
    throw new Error(`${dataDir} is in use by another local stack (pid ${holder}); stop it or set DATA_DIR to another folder`);
  }
  await writeFile(lock, String(process.pid));
  await protectDataDir(dataDir);
  return () => removeIfOwned(lock, (text) => Number(text) === process.pid);
}

/** Files of DATA_DIR that hold secrets: the stack's own, and the copy the CLI reads. */
export const SECRET_FILES = ['local-secrets.json', 'stack.json'];
/** Half-written files a hard kill can leave (each is written to `<name>.tmp`, then renamed). */
const LEFTOVER_TEMP_FILES = ['stack.json.tmp'];

/**
 * DATA_DIR holds dossiers with personal data and the stack's secrets: at every start, the
 * folder and every folder in it become 0700 and the secret files 0600, whatever modes an
 * earlier version, a copy or a hand left them with (a mode given at creation does not fix an
 * existing file). Leftovers of a hard kill are removed; the engines remove their own.
 */
export async function protectDataDir(dataDir: string): Promise<void> {
  await chmod(dataDir, 0o700);
  for (const entry of await readdir(dataDir, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory()) await chmod(join(entry.parentPath, entry.name), 0o700);
  }
  for (const file of SECRET_FILES) await chmod(join(dataDir, file), 0o600).catch(ignoreMissing);
  for (const file of LEFTOVER_TEMP_FILES) await rm(join(dataDir, file), { force: true });
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

/** Removes `file` only if it is still ours: another stack may have taken the folder over since. */
export async function removeIfOwned(file: string, isOurs: (text: string) => boolean): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text !== undefined && isOurs(text)) await rm(file, { force: true });
}
