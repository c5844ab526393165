/**
 * Memory proof for the largest DS file: "a 200 MB file is ingested with flat memory: peak RSS
 * grows by less than 64 MB".
 *
 * The parent process runs the engines (s3rver and a stand-in DS file host serving pseudo-random
 * bytes generated on the fly), so their memory never counts. A child process runs nothing but
 * S3AttachmentStore.putFile and samples its own RSS. The parent then reads the stored object
 * back and checks its MD5.
 *
 *   npx tsx bench/large-file-rss.ts [sizeMB]
 */
import { fork } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { S3AttachmentStore } from '#adapters/s3/attachment-store';
import { createS3Client } from '#adapters/s3/client';
import type { FileToFetch } from '#core/attachments';

export const MB = 1024 * 1024;

export interface LargeFileRssResult {
  fileBytes: number;
  /** RSS of the child once warmed up (one small file already archived), before the big one. */
  rssBeforeMB: number;
  /** Highest RSS seen during the upload: sampled every 20 ms, and the kernel's lifetime maxRSS. */
  peakRssMB: number;
  growthMB: number;
  /** Duration of putFile for the big file. */
  seconds: number;
  md5Ok: boolean;
}

/** What the parent tells the child: where to fetch from and where to store. */
interface ChildTask {
  endpoint: string;
  bucket: string;
  warmUp: FileToFetch;
  file: FileToFetch;
}

interface ChildReport {
  rssBefore: number;
  peakRss: number;
  maxRss: number;
  seconds: number;
}

const CHUNK_BYTES = MB;
const ZEROS = Buffer.alloc(CHUNK_BYTES);

/**
 * `sizeBytes` of deterministic pseudo-random bytes (AES-CTR of zeros: fast, native,
 * incompressible), one chunk at a time: never the whole file in memory.
 */
export function* pseudoRandomChunks(sizeBytes: number, seed = 'ds-selection'): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  for (let remaining = sizeBytes; remaining > 0; remaining -= CHUNK_BYTES) {
    yield cipher.update(ZEROS.subarray(0, Math.min(CHUNK_BYTES, remaining)));
  }
}

/** DS's checksum of those bytes (base64 MD5), computed by streaming them once. */
export function pseudoRandomMd5(sizeBytes: number): string {
  const md5 = createHash('md5');
  for (const chunk of pseudoRandomChunks(sizeBytes)) md5.update(chunk);
  return md5.digest('base64');
}

function dsFile(path: string, url: string, byteSize: number, checksum: string): FileToFetch {
  return {
    champId: Buffer.from('Champ-1').toString('base64'),
    label: 'bench',
    filename: `${path}.bin`,
    contentType: 'application/octet-stream',
    byteSize,
    checksum,
    virusScan: 'safe',
    key: `bench/${path}.bin`,
    url,
  };
}

/** Runs the whole measurement: engines here, putFile in a child process. */
export async function runLargeFileRss({ sizeBytes }: { sizeBytes: number }): Promise<LargeFileRssResult> {
  const { startS3rver, startFileServer } = await import('../test/helpers/s3-engine.ts');
  const warmUpBytes = MB;
  const checksum = pseudoRandomMd5(sizeBytes);
  const [s3, host] = await Promise.all([
    startS3rver({ bucket: 'bench' }),
    startFileServer({
      '/warm-up': { body: () => pseudoRandomChunks(warmUpBytes), contentLength: warmUpBytes },
      '/large': { body: () => pseudoRandomChunks(sizeBytes), contentLength: sizeBytes },
    }),
  ]);
  try {
    const file = dsFile('large', host.url('/large'), sizeBytes, checksum);
    const report = await runChild({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      warmUp: dsFile('warm-up', host.url('/warm-up'), warmUpBytes, pseudoRandomMd5(warmUpBytes)),
      file,
    });
    const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: file.key }));
    const md5 = createHash('md5');
    for await (const chunk of Body as AsyncIterable<Buffer>) md5.update(chunk);
    const peakRss = Math.max(report.peakRss, report.maxRss);
    return {
      fileBytes: sizeBytes,
      rssBeforeMB: round(report.rssBefore / MB),
      peakRssMB: round(peakRss / MB),
      growthMB: round((peakRss - report.rssBefore) / MB),
      seconds: round(report.seconds),
      md5Ok: md5.digest('base64') === checksum,
    };
  } finally {
    await Promise.all([s3.stop(), host.stop()]);
  }
}

function runChild(task: ChildTask): Promise<ChildReport> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: ['--import', 'tsx'],
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    // The SDK's "node 20 is deprecated" warning is noise here.
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let report: ChildReport | undefined;
    child.on('message', (message: { ready?: true; report?: ChildReport; error?: string }) => {
      if (message.ready) child.send(task);
      if (message.report) report = message.report;
      if (message.error) reject(new Error(`child failed: ${message.error}`));
    });
    child.on('error', reject);
    child.on('exit', (code) => (report ? resolve(report) : reject(new Error(`child exited with ${code} and no report`))));
  });
}

/** The child: archive a small file to warm up, then the large one while sampling RSS. */
async function childMain(): Promise<void> {
  const task = await new Promise<ChildTask>((resolve) => {
    process.once('message', (message) => resolve(message as ChildTask));
    process.send!({ ready: true });
  });
  const store = new S3AttachmentStore({
    client: createS3Client({ endpoint: task.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
    bucket: task.bucket,
  });
  await store.putFile(task.warmUp);

  const rssBefore = process.memoryUsage.rss();
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 20);
  const started = performance.now();
  await store.putFile(task.file);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  // maxRSS is in kilobytes: the kernel's peak, which no sampling interval can miss.
  const report: ChildReport = { rssBefore, peakRss, maxRss: process.resourceUsage().maxRSS * 1024, seconds };
  process.send!({ report }, () => process.exit(0));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(realpathSync(entry)).href === import.meta.url;
}

if (isMainModule()) {
  if (process.argv.includes('--child')) {
    childMain().catch((error: unknown) => {
      process.send!({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }, () => process.exit(1));
    });
  } else {
    const sizeMB = Number(process.argv[2] ?? 200);
    console.log(JSON.stringify(await runLargeFileRss({ sizeBytes: sizeMB * MB })));
  }
}
