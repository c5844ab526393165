import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type RunningLocalStack } from '../../infra/local/local-stack.ts';

// Issue 7: DATA_DIR holds dossiers with personal data and the stack's secrets. At every start
// the folder and its subfolders become 0700 and the secret files 0600 (existing ones included,
// not only at creation), and what a hard kill left behind (s3rver partial uploads, unfinished
// multipart parts, half-written state files) is removed.

let dataDir: string;
let stack: RunningLocalStack | undefined;
const bucket = join('s3', 'ds-selection-attachments');
const objectDir = join(bucket, 'attachments', '23456789');
const partial = join(objectDir, `fiche.pdf._S3rver_partial-${randomUUID()}`);
const complete = join(objectDir, 'fiche.pdf._S3rver_object');
const multipartPart = join(bucket, '._S3rver_uploads', 'upload-1', '1');
const halfWritten = ['stack.json.tmp', join('sqs', 'queues.json.tmp'), join('ses', 'mails.json.tmp')];

const mode = async (path: string) => (await stat(join(dataDir, path))).mode & 0o777;
const exists = (path: string) => stat(join(dataDir, path)).then(() => true, () => false);

beforeAll(async () => {
  // A folder as an earlier version (or a copy, or a hand) left it: world-readable, with leftovers.
  dataDir = await mkdtemp(join(tmpdir(), 'ds-selection-protection-'));
  for (const dir of [objectDir, join(bucket, '._S3rver_uploads', 'upload-1'), 'sqs', 'ses', 'dynamodb']) {
    await mkdir(join(dataDir, dir), { recursive: true });
  }
  const write = async (path: string, text: string) => { await writeFile(join(dataDir, path), text); await chmod(join(dataDir, path), 0o644); };
  await write('local-secrets.json', '{}');
  await write('stack.json', '{}');
  await write(partial, 'half a fi');
  await write(complete, 'a whole file');
  await write(multipartPart, 'part one');
  for (const file of halfWritten) await write(file, '{"half":');
  for (const entry of ['', ...(await readdir(dataDir, { recursive: true }))]) {
    if ((await stat(join(dataDir, entry))).isDirectory()) await chmod(join(dataDir, entry), 0o755);
  }
  stack = await startLocalStack({ port: 0, dataDir, env: {} });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('local data protection at start', () => {
  it('makes DATA_DIR and every folder in it 0700', async () => {
    const folders = [''];
    for (const entry of await readdir(dataDir, { recursive: true })) {
      if ((await stat(join(dataDir, entry))).isDirectory()) folders.push(entry);
    }
    expect(folders).toEqual(expect.arrayContaining(['', 'dynamodb', 's3', bucket, objectDir, 'sqs', 'ses']));
    for (const folder of folders) expect([folder, (await mode(folder)).toString(8)]).toEqual([folder, '700']);
  });

  it('makes local-secrets.json and stack.json 0600, even when they existed with looser modes', async () => {
    expect((await mode('local-secrets.json')).toString(8)).toBe('600');
    expect((await mode('stack.json')).toString(8)).toBe('600');
  });

  it('removes partial uploads and half-written files, and keeps complete objects', async () => {
    expect(await exists(partial)).toBe(false);
    expect(await exists(join(bucket, '._S3rver_uploads'))).toBe(false);
    for (const file of halfWritten) expect([file, await exists(file)]).toEqual([file, false]);
    expect(await exists(complete)).toBe(true);
  });

  it('still serves: the stack is up', async () => {
    expect((await fetch(`${stack!.outputs.ApiUrl}/health`)).status).toBe(200);
  });
});
