import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { AttachmentRef } from '#core/dossier';
import type { S3AttachmentStore } from '#adapters/s3/attachment-store';
import { PartialFailureError } from './errors.ts';
import { examples, parseDossierNumber, withConnection, type CommandContext } from './context.ts';
import { attachmentStatus, recordsByKey } from './dossier-views.ts';
import { getDossier } from './dossiers.ts';
import { formatBytes, plural, writeJson } from './output.ts';

export interface DownloadResult {
  champId: string;
  filename: string;
  key: string;
  /** `written`: verified and in place; `failed`: nothing left on disk; `skipped`: not archived yet. */
  outcome: 'written' | 'failed' | 'skipped';
  /** Where it was written; null when it was not. */
  path: string | null;
  /** Bytes read from S3 (DS's size when skipped). */
  byteSize: number;
  /** Whether the bytes match DS's MD5; null when nothing was read. */
  md5Ok: boolean | null;
  reason?: string;
}

export function registerAttachmentCommands(program: Command, context: CommandContext): void {
  const attachments = program.command('attachments').description('the files of a dossier, as archived in S3');

  attachments
    .command('download')
    .description(
      'download the archived files of a dossier into a folder, checking each against the MD5 DS gave; '
      + 'a file that does not match is deleted and the command exits 5. Files not archived yet are skipped (and named).',
    )
    .argument('<number>', 'the DS dossier number', parseDossierNumber)
    .requiredOption('--out <dir>', 'folder to write the files to (created if needed; files of the same name are replaced)')
    .option('--json', 'print a JSON array: one entry per file with outcome, path, byteSize, md5Ok')
    .addHelpText('after', examples('ds-selection attachments download 23456789 --out ./dossier-23456789'))
    .action(async (number: number, options: { out: string; json?: boolean }, command: Command) => {
      await withConnection(context, command, async ({ dossiers: repository, files }) => {
        const dossier = await getDossier(repository, number);
        const records = recordsByKey(await repository.listAttachments(number));
        const outDir = isAbsolute(options.out) ? options.out : resolve(context.io.cwd, options.out);
        await mkdir(outDir, { recursive: true });
        const names = uniqueFilenames(dossier.attachments.map((ref) => ref.filename));
        const results: DownloadResult[] = [];
        for (const [index, ref] of dossier.attachments.entries()) {
          const status = attachmentStatus(ref, records);
          const result = status === 'stored'
            ? await downloadVerified(files, ref, join(outDir, names[index] as string))
            : skipped(ref, `not stored yet (${status})`);
          results.push(result);
          if (!options.json) report(context, result);
        }
        if (options.json) writeJson(context.io, results);
        summarize(context, number, results);
      });
    });
}

/**
 * Streams one object from S3 to `path`, hashing as it goes: never the whole file in memory
 * (files go up to 200 MB). It is written to `.<name>.part` (no final name starts with a dot) and renamed only once its MD5 and
 * size match DS's, so a file under its real name has always been verified.
 */
export async function downloadVerified(store: S3AttachmentStore, ref: AttachmentRef, path: string): Promise<DownloadResult> {
  const base = { champId: ref.champId, filename: ref.filename, key: ref.key };
  let body;
  try {
    body = await store.openFile(ref.key);
  } catch (error) {
    if (error instanceof Error && error.name === 'NoSuchKey') {
      return { ...base, outcome: 'failed', path: null, byteSize: 0, md5Ok: null, reason: 'recorded as stored but missing from S3' };
    }
    throw error;
  }
  const partPath = join(dirname(path), `.${basename(path)}.part`);
  const digest = new Md5Counter();
  try {
    await pipeline(body, digest, createWriteStream(partPath));
  } catch (error) {
    await rm(partPath, { force: true });
    throw error;
  }
  const md5Ok = digest.base64() === ref.checksum;
  const sizeOk = digest.byteCount === ref.byteSize;
  if (!md5Ok || !sizeOk) {
    // Neither the bad bytes nor an older copy stays under this name.
    await Promise.all([rm(partPath, { force: true }), rm(path, { force: true })]);
    const reason = !md5Ok ? 'content does not match its DS checksum (MD5)' : `size ${digest.byteCount} differs from DS's ${ref.byteSize}`;
    return { ...base, outcome: 'failed', path: null, byteSize: digest.byteCount, md5Ok, reason };
  }
  await rename(partPath, path);
  return { ...base, outcome: 'written', path, byteSize: digest.byteCount, md5Ok: true };
}

function skipped(ref: AttachmentRef, reason: string): DownloadResult {
  return { champId: ref.champId, filename: ref.filename, key: ref.key, outcome: 'skipped', path: null, byteSize: ref.byteSize, md5Ok: null, reason };
}

/** Passes bytes through while counting them and computing their MD5. */
class Md5Counter extends Transform {
  byteCount = 0;
  private readonly hash = createHash('md5');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.byteCount += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  base64(): string {
    return this.hash.digest('base64');
  }
}

/**
 * A safe, distinct name per file, in order: DS filenames come from uploaders' machines, so
 * path separators and control characters are replaced, and two `annexe.pdf` (two champs, or a
 * repetition) become `annexe.pdf` and `annexe (2).pdf`. Compared without case, for
 * case-insensitive file systems.
 */
export function uniqueFilenames(filenames: string[]): string[] {
  const taken = new Set<string>();
  return filenames.map((filename) => {
    const safe = safeFilename(filename);
    const dot = safe.lastIndexOf('.');
    const [stem, extension] = dot > 0 ? [safe.slice(0, dot), safe.slice(dot)] : [safe, ''];
    let candidate = safe;
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${extension}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

export function safeFilename(filename: string): string {
  const cleaned = filename.replace(/[/\\\u0000-\u001f\u007f]/g, '_').trim();
  if (cleaned === '' || cleaned === '.' || cleaned === '..') return 'file';
  // A leading dot would hide the file (and dot-names are where downloads in progress go).
  return cleaned.replace(/^\.+/, '_');
}

function report(context: CommandContext, result: DownloadResult): void {
  if (result.outcome === 'written') {
    context.io.stdout.write(`${result.path}  (${formatBytes(result.byteSize)}, MD5 ok)\n`);
  } else {
    context.io.stderr.write(`${result.outcome === 'failed' ? 'FAILED' : 'skipped'} ${result.filename}: ${result.reason}\n`);
  }
}

function summarize(context: CommandContext, number: number, results: DownloadResult[]): void {
  const count = (outcome: DownloadResult['outcome']) => results.filter((result) => result.outcome === outcome).length;
  const [written, failed, skippedCount] = [count('written'), count('failed'), count('skipped')];
  const summary = `dossier ${number}: ${plural(written, 'file')} written, ${failed} failed, ${skippedCount} not stored yet`;
  if (failed > 0) throw new PartialFailureError(summary);
  context.io.stderr.write(`${summary}\n`);
}
